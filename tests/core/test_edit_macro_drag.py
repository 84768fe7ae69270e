"""A drag of points of several persons at once: every mouse move is a Macro of one move per person, and the
whole drag is one undo step that restores every point's value from before the drag."""

from __future__ import annotations

import numpy as np

from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation, Person
from sapiens_core.annotation.edits import Macro, SetBox, move_keypoints
from sapiens_core.annotation.history import History

K = 308


def _doc() -> Annotation:
    persons = []
    for pid in (0, 1):
        xy = np.stack([np.arange(K, dtype=np.float32) + 100 * pid, np.full(K, 5.0 + pid)], axis=1)
        kp = np.concatenate([xy, np.full((K, 1), 0.8, np.float32)], axis=1)
        persons.append(Person(pid, kp, np.full(K, 2), np.full(K, SOURCE_MODEL), box=[0, 0, 10, 10]))
    return Annotation("a.png", (640, 480), "goliath_308", persons=persons)


def _drag_step(doc, gesture, dx):
    return Macro(
        [
            move_keypoints(doc, 0, [1, 2], [[1 + dx, 5], [2 + dx, 5]], gesture),
            move_keypoints(doc, 1, [3], [[103 + dx, 6]], gesture),
        ],
        "move 3 keypoints",
        gesture,
    )


def test_a_multi_person_drag_is_one_step_and_undo_restores_the_start():
    doc = _doc()
    history = History(doc)
    gesture = object()
    # Each step is built from the document as it is after the previous one (as the canvas does).
    for dx in (1.0, 2.0, 7.0):
        history.push(_drag_step(doc, gesture, dx))
    history.seal()
    assert history.labels == ["move 3 keypoints"]
    assert doc.persons[0].keypoints[2, 0] == 9 and doc.persons[1].keypoints[3, 0] == 110
    assert doc.persons[1].source[3] == SOURCE_HUMAN
    history.undo()
    assert doc.persons[0].keypoints[2, 0] == 2 and doc.persons[1].keypoints[3, 0] == 103
    assert doc.persons[0].source[2] == SOURCE_MODEL and doc.persons[1].source[3] == SOURCE_MODEL
    history.redo()
    assert doc.persons[0].keypoints[1, 0] == 8 and doc.persons[1].keypoints[3, 0] == 110


def test_macros_of_other_gestures_or_other_parts_stay_separate_steps():
    doc = _doc()
    history = History(doc)
    a, b = object(), object()
    history.push(_drag_step(doc, a, 1.0))
    history.push(_drag_step(doc, b, 2.0))  # another drag
    history.push(Macro([SetBox(0, [1, 1, 9, 9], b)], "edit box", b))  # same gesture, other parts
    history.push(Macro([move_keypoints(doc, 0, [1], [[50, 5]])], "move"))  # no gesture
    assert len(history.labels) == 4
    for _ in range(4):
        history.undo()
    assert doc.persons[0].keypoints[1, 0] == 1 and doc.persons[1].keypoints[3, 0] == 103
    assert tuple(doc.persons[0].box) == (0, 0, 10, 10)
