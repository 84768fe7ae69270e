"""History steps around seals, undo/redo and the saved state: when a following edit of the same gesture token
still merges, and when the document counts as saved. Expected step counts are read off the sequence by hand."""

from __future__ import annotations

import numpy as np

from sapiens_core.annotation import SOURCE_MODEL, Annotation, Person
from sapiens_core.annotation.edits import SetReviewed, move_keypoints
from sapiens_core.annotation.history import History

K = 17


def _doc() -> Annotation:
    xy = np.stack([np.full(K, 10.0), np.linspace(1, 50, K)], axis=1)
    person = Person(0, np.concatenate([xy, np.full((K, 1), 0.7)], axis=1), np.full(K, 2), np.full(K, SOURCE_MODEL))
    return Annotation("img.png", (80, 60), "coco_17", "sapiens_28", persons=[person])


def _move(history: History, x: float, gesture: object) -> None:
    history.push(move_keypoints(history.doc, 0, [3], [[x, 2.0]], gesture=gesture))


def test_a_seal_ends_the_gesture_even_for_the_same_token():
    # Mouse release seals; a tool that reuses its token for the next drag still gets a step per drag.
    history = History(_doc())
    token = object()
    _move(history, 11, token)
    _move(history, 12, token)  # the same drag: merged
    history.seal()
    _move(history, 13, token)  # a new drag
    assert history.index == 2
    history.undo()
    assert history.doc.persons[0].keypoints[3, 0] == 12


def test_after_undo_or_redo_the_next_edit_is_a_step_of_its_own():
    history = History(_doc())
    first, second = object(), object()
    _move(history, 11, first)
    history.seal()
    _move(history, 12, second)
    history.undo()
    _move(history, 13, first)  # same token as the step now on top, but undo sealed it
    assert history.index == 2 and history.labels == ["move keypoint", "move keypoint"]
    history.undo()
    assert history.doc.persons[0].keypoints[3, 0] == 11
    history.redo()
    _move(history, 14, first)  # same token as the step just redone
    assert history.index == 3
    history.undo()
    assert history.doc.persons[0].keypoints[3, 0] == 13


def test_saved_state_stays_reachable_after_an_edit_made_at_it():
    history = History(_doc())
    _move(history, 11, None)
    history.set_clean()
    _move(history, 12, None)
    assert not history.is_clean
    history.undo()
    assert history.is_clean  # back at the saved step


def test_a_discarded_saved_state_is_never_clean_again():
    # Saved after two steps, both undone, then a new edit: the saved state is gone with the redo steps.
    history = History(_doc())
    _move(history, 11, None)
    _move(history, 12, None)
    history.set_clean()
    history.undo()
    history.undo()
    _move(history, 20, None)
    _move(history, 21, None)
    assert not history.is_clean
    history.undo()
    history.undo()
    assert history.index == 0 and not history.is_clean


class _Weighing(SetReviewed):
    """A step that holds a given number of bytes, named so the test can see which steps are left."""

    def __init__(self, name: str, weight: int):
        super().__init__(True)
        self.label, self.weight = name, weight

    @property
    def nbytes(self) -> int:
        return self.weight


def test_budget_drops_oldest_steps_one_push_at_a_time():
    # Budget 2500 bytes. Each line: the step pushed, then the steps left (oldest first) and the total dropped.
    history = History(_doc(), budget=2500)
    history.push(_Weighing("a", 1000))
    history.push(_Weighing("b", 1000))
    assert history.labels == ["a", "b"] and history.dropped == 0
    history.push(_Weighing("c", 1000))  # 3000 > 2500: a goes
    assert history.labels == ["b", "c"] and history.dropped == 1
    history.set_clean()  # saved with b and c done
    history.push(_Weighing("d", 2000))  # 4000: b goes, still 3000: c goes too
    assert history.labels == ["d"] and history.dropped == 3
    history.push(_Weighing("e", 500))  # exactly 2500: within the budget
    assert history.labels == ["d", "e"] and history.dropped == 3
    history.undo()
    history.undo()
    assert history.index == 0 and history.is_clean  # the saved state is where d started from
    history.redo()
    history.redo()
    history.push(_Weighing("f", 3000))  # over the budget alone: the others go, the newest step always stays
    assert history.labels == ["f"] and history.dropped == 5 and history.can_undo
    assert not history.is_clean
