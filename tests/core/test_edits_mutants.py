"""Point edits in detail, where the broad tests of ``test_edits.py`` could not tell a small change from the real
thing: what a ``Change`` says views must repaint when steps combine, which keypoint edits merge into one step, and
that the history never shares arrays with the document. Persons, boxes, re-runs and macros:
``test_edits_steps_mutants.py``.

Expected values are written out by hand from the documented rules, never computed by the code under test.
"""

import numpy as np
import pytest

from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL
from sapiens_core.annotation.edits import (
    Change,
    Macro,
    SetBox,
    SetKeypoints,
    SetReviewed,
    move_keypoints,
    set_visibility,
    swap_left_right,
)
from sapiens_core.annotation.history import History
from tests.core.edits_documents import K, _doc

# ---------------------------------------------------------------------------------------------- Change.update


def test_update_unions_points_boxes_and_flags_and_widens_layer_rectangles():
    mine = Change(
        persons={0: np.array([1, 3]), 1: None, 2: np.array([5])},
        structure=True,
        boxes={1},
        layers={"part_map": (10, 20, 30, 40), "depth": (0, 0, 5, 5)},
        document=True,
    )
    other = Change(
        persons={0: np.array([3, 2]), 1: np.array([4]), 2: None, 3: np.array([7])},
        boxes={2},
        layers={"part_map": (5, 25, 35, 38), "foreground": (1, 2, 3, 4)},
    )
    assert mine.update(other) is mine
    assert set(mine.persons) == {0, 1, 2, 3}
    assert mine.persons[0].tolist() == [1, 2, 3]  # each touched point once
    assert mine.persons[1] is None and mine.persons[2] is None  # "all points" absorbs any list, either side
    assert mine.persons[3].tolist() == [7]  # only the other touched person 3: exactly its points
    assert all(np.issubdtype(v.dtype, np.integer) for v in (mine.persons[0], mine.persons[3]))  # they index
    assert mine.structure is True and mine.document is True  # a flag set on this side stays set
    assert mine.boxes == {1, 2}
    # The smallest rectangle holding both: top and bottom from the other, left and right from this one.
    assert mine.layers == {"part_map": (5, 20, 35, 40), "depth": (0, 0, 5, 5), "foreground": (1, 2, 3, 4)}


def test_update_takes_the_flags_the_other_change_sets():
    mine = Change(layers={"part_map": (2, 3, 4, 5)})
    mine.update(Change(structure=True, document=True, layers={"part_map": (0, 4, 6, 5)}))
    assert mine.structure is True and mine.document is True
    assert mine.layers == {"part_map": (0, 3, 6, 5)}
    assert Change().update(Change()) == Change()  # nothing and nothing is nothing


def test_a_macro_reports_every_part_it_touched_on_apply_and_on_undo():
    doc = _doc()
    macro = Macro([move_keypoints(doc, 0, [3, 1], [[0, 0], [1, 1]]), SetBox(1, [0, 0, 2, 2]), SetReviewed(True)])
    history = History(doc)
    for change in (history.push(macro), history.undo()):
        assert set(change.persons) == {0} and change.persons[0].tolist() == [1, 3]
        assert change.boxes == {1} and change.document is True and change.structure is False


# ------------------------------------------------------------------------------------------- SetKeypoints


def test_set_keypoints_writes_every_field_and_undo_restores_every_field():
    doc = _doc()
    doc.persons[1].visibility[2] = 1
    edit = SetKeypoints(1, [2, 4], [[7, 8, 0.25], [6, 5, 0.75]], [0, 1], [SOURCE_HUMAN, SOURCE_HUMAN])
    change = edit.apply(doc)
    person = doc.persons[1]
    assert person.keypoints[[2, 4]].tolist() == [[7, 8, 0.25], [6, 5, 0.75]]
    assert person.visibility.tolist() == [2, 2, 0, 2, 1] and person.source.tolist() == [0, 0, 1, 0, 1]
    assert set(change.persons) == {1} and change.persons[1].tolist() == [2, 4]
    assert not (change.structure or change.boxes or change.layers or change.document)
    edit.revert(doc)
    assert np.allclose(person.keypoints[[2, 4]], [[2, 12, 0.7], [4, 14, 0.9]])
    assert person.visibility.tolist() == [2, 2, 1, 2, 2] and person.source.tolist() == [0] * K
    assert doc.persons[0] == _doc().persons[0]  # other persons are never touched


def test_set_keypoints_keeps_its_own_copy_of_the_values_it_was_given():
    doc = _doc()
    xy = np.array([[3, 3, 0.5]], np.float32)
    vis, src = np.array([1], np.uint8), np.array([SOURCE_HUMAN], np.uint8)
    edit = SetKeypoints(0, [4], xy, vis, src)
    xy[:] = 99
    vis[:] = 0
    src[:] = SOURCE_MODEL
    edit.apply(doc)
    assert doc.persons[0].keypoints[4].tolist() == [3, 3, 0.5]
    assert doc.persons[0].visibility[4] == 1 and doc.persons[0].source[4] == SOURCE_HUMAN


@pytest.mark.parametrize("n", [(2, 1, 1), (1, 2, 1), (1, 1, 2)])
def test_set_keypoints_needs_one_value_of_each_kind_per_index(n):
    with pytest.raises(ValueError, match="^one value per keypoint index is needed$"):
        SetKeypoints(0, [1], np.zeros((n[0], 3)), np.ones(n[1]), np.ones(n[2]))


@pytest.mark.parametrize("index", [-1, K])
def test_a_keypoint_index_outside_the_person_is_refused_and_changes_nothing(index):
    doc = _doc()
    edit = SetKeypoints(0, [index], [[1, 1, 1]], [1], [SOURCE_HUMAN])
    with pytest.raises(IndexError, match=r"keypoint index outside 0\.\.4"):  # the error names the valid range
        edit.apply(doc)  # -1 would otherwise write the last point
    assert doc.persons[0] == _doc().persons[0]


def test_an_edit_of_no_points_applies_and_changes_nothing():
    doc = _doc()
    edit = SetKeypoints(0, [], np.zeros((0, 3)), [], [])
    assert edit.apply(doc).persons[0].size == 0
    edit.revert(doc)
    assert doc.persons[0] == _doc().persons[0]


def test_redo_after_undo_keeps_the_values_from_before_the_first_apply():
    doc = _doc()
    edit = move_keypoints(doc, 0, [0], [[7, 7]])
    edit.apply(doc)
    edit.revert(doc)
    edit.apply(doc)  # a redo must not take the current (moved) value as "before"
    edit.revert(doc)
    assert doc.persons[0].keypoints[0, :2].tolist() == [0, 0]


def test_keypoint_edits_merge_only_within_one_gesture_of_one_person():
    doc = _doc()
    g = object()
    first = move_keypoints(doc, 0, [1], [[5, 5]], gesture=g)
    assert not first.merge(move_keypoints(doc, 1, [1], [[5, 5]], gesture=g))  # another person
    assert not first.merge(move_keypoints(doc, 0, [1], [[5, 5]], gesture=object()))  # another gesture
    assert not first.merge(SetBox(0, [0, 0, 1, 1], gesture=g))  # another kind of edit
    no_gesture = move_keypoints(doc, 0, [1], [[5, 5]])
    assert not no_gesture.merge(move_keypoints(doc, 0, [1], [[6, 6]]))  # two clicks are two steps
    assert SetKeypoints(0, [1], [[1, 1, 1]], [1], [1]).gesture is None


def test_a_merged_gesture_keeps_each_points_oldest_value_and_newest_value_in_every_field():
    doc = _doc()
    doc.persons[0].visibility[2] = 0
    g = object()
    history = History(doc)
    history.push(move_keypoints(doc, 0, [2, 1], [[20, 21], [10, 11]], gesture=g))
    # The same points again plus a new one, with new visibility and scores: the second edit's values win.
    history.push(SetKeypoints(0, [3, 2], [[30, 31, 0.125], [22, 23, 0.25]], [1, 1], [1, 1], gesture=g))
    assert history.labels == ["move 2 keypoints"]
    person = doc.persons[0]
    assert person.keypoints[1:4].tolist() == [[10, 11, 0.6000000238418579], [22, 23, 0.25], [30, 31, 0.125]]
    assert person.visibility.tolist() == [2, 2, 1, 1, 2] and person.source.tolist() == [0, 1, 1, 1, 0]
    change = history.undo()
    assert sorted(change.persons[0].tolist()) == [1, 2, 3]
    assert person.visibility.tolist() == [2, 2, 0, 2, 2] and person.source.tolist() == [0] * K
    assert np.allclose(person.keypoints[1:4], [[1, 1, 0.6], [2, 2, 0.7], [3, 3, 0.8]])
    history.redo()
    assert person.keypoints[2].tolist() == [22, 23, 0.25] and person.visibility[2] == 1


def test_the_memory_an_edit_reports_covers_the_arrays_it_holds():
    doc = _doc()
    small = move_keypoints(doc, 0, [1], [[0, 0]])
    large = move_keypoints(doc, 0, list(range(K)), np.zeros((K, 2)))
    for edit in (small, large):
        edit.apply(doc)
        held = edit.indices.nbytes + sum(a.nbytes for a in (*edit.old, *edit.new))
        assert held <= edit.nbytes <= 256 + 2 * held
    assert large.nbytes - small.nbytes >= (K - 1) * (8 + 2 * 14)  # per point: index, old and new x/y/score/vis/src


# ----------------------------------------------------------------------------------- move / visibility / swap


def test_one_point_may_be_given_as_a_plain_index_and_flat_values():
    doc = _doc()
    SetKeypoints(0, 3, [7, 8, 0.25], 1, SOURCE_HUMAN).apply(doc)
    assert doc.persons[0].keypoints[3].tolist() == [7, 8, 0.25] and doc.persons[0].visibility[3] == 1
    move_keypoints(doc, 1, 2, [6, 5]).apply(doc)
    assert doc.persons[1].keypoints[2, :2].tolist() == [6, 5] and doc.persons[1].source[2] == SOURCE_HUMAN
    set_visibility(doc, 2, 4, 0).apply(doc)
    set_visibility(doc, 2, [1, 3], 1).apply(doc)
    assert doc.persons[2].visibility.tolist() == [2, 1, 2, 1, 0]


def test_an_empty_selection_gives_edits_that_change_nothing():
    doc = _doc()
    history = History(doc)
    history.push(move_keypoints(doc, 0, [], np.zeros((0, 2))))
    history.push(set_visibility(doc, 1, [], 0))
    history.push(SetKeypoints(2, [], [], [], []))
    assert history.labels == ["move 0 keypoints", "delete keypoint", "edit keypoints"]
    assert all(p == q for p, q in zip(doc.persons, _doc().persons))


def test_moving_points_keeps_their_scores_and_occlusion_and_labels_an_unlabeled_point_visible():
    doc = _doc()
    doc.persons[0].visibility[:3] = [0, 1, 2]
    g = object()
    edit = move_keypoints(doc, 0, [0, 1, 2], [[7, 1], [7, 2], [7, 3]], gesture=g)
    assert edit.gesture is g and edit.label == "move 3 keypoints"
    edit.apply(doc)
    person = doc.persons[0]
    assert person.visibility[:3].tolist() == [2, 1, 2]  # an occluded point stays occluded
    assert person.keypoints[:3, :2].tolist() == [[7, 1], [7, 2], [7, 3]]
    assert np.allclose(person.keypoints[:3, 2], [0.5, 0.6, 0.7])
    assert person.source[:3].tolist() == [SOURCE_HUMAN] * 3 and person.source[3:].tolist() == [SOURCE_MODEL] * 2
    assert move_keypoints(doc, 0, [4], [[0, 0]]).label == "move keypoint"


@pytest.mark.parametrize(
    "visibility, label", [(0, "delete keypoint"), (1, "mark occluded keypoint"), (2, "mark visible keypoint")]
)
def test_visibility_is_a_human_decision_that_leaves_the_position_alone(visibility, label):
    doc = _doc()
    doc.persons[1].visibility[3] = 1 if visibility != 1 else 2
    edit = set_visibility(doc, 1, [3], visibility)
    assert edit.label == label and edit.gesture is None
    edit.apply(doc)
    person = doc.persons[1]
    assert person.visibility[3] == visibility and person.source[3] == SOURCE_HUMAN
    assert person.keypoints[3].tolist() == _doc().persons[1].keypoints[3].tolist()
    assert person.visibility[[0, 1, 2, 4]].tolist() == [2, 2, 2, 2]


@pytest.mark.parametrize("visibility", [-1, 3])
def test_visibility_outside_0_1_2_is_refused(visibility):
    with pytest.raises(ValueError, match=f"visibility must be 0, 1 or 2, not {visibility}"):
        set_visibility(_doc(), 0, [0], visibility)


def test_swapping_left_and_right_exchanges_positions_scores_and_visibility_by_the_flip_table():
    doc = _doc()
    doc.persons[0].visibility[:] = [2, 1, 0, 2, 1]
    flip = [0, 2, 1, 4, 3]  # point 0 is its own partner
    edit = swap_left_right(doc, 0, flip)
    assert edit.label == "swap left and right"
    edit.apply(doc)
    person = doc.persons[0]
    assert person.keypoints[:, 0].tolist() == [0, 2, 1, 4, 3]
    assert np.allclose(person.keypoints[:, 2], [0.5, 0.7, 0.6, 0.9, 0.8])
    assert person.visibility.tolist() == [2, 0, 1, 1, 2] and person.source.tolist() == [SOURCE_HUMAN] * K
    with pytest.raises(ValueError, match="the flip table has 4 entries, the person 5 points"):
        swap_left_right(doc, 0, flip[:-1])
