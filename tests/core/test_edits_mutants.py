"""Edits in detail, where the broad tests of ``test_edits.py`` could not tell a small change from the real thing:
what a ``Change`` says views must repaint when steps combine, which edits merge into one step and which never
do, what every field of a model's re-run restores on undo, and that the history never shares arrays with the
document. Small documents (5 points, no schema) keep each case readable and fast.

Expected values are written out by hand from the documented rules, never computed by the code under test.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation, Person
from sapiens_core.annotation.edits import (
    AddPerson,
    ApplyLabels,
    Change,
    Edit,
    Macro,
    RemovePerson,
    RenumberPerson,
    SetBox,
    SetKeypoints,
    SetReviewed,
    move_keypoints,
    set_visibility,
    swap_left_right,
)
from sapiens_core.annotation.history import History

K = 5
W, H = 8, 6


def _person(pid: int, x0: float = 0.0, box=(1, 1, 4, 4)) -> Person:
    # Point i at (x0 + i, 10 * pid + i) with score 0.5 + i / 10, all visible and model-made.
    xy = np.stack([x0 + np.arange(K), 10.0 * pid + np.arange(K)], axis=1)
    scores = 0.5 + np.arange(K)[:, None] / 10
    return Person(pid, np.concatenate([xy, scores], axis=1), np.full(K, 2), np.full(K, SOURCE_MODEL), box=box)


def _doc(*ids: int) -> Annotation:
    return Annotation("a.png", (W, H), persons=[_person(pid) for pid in (ids or (0, 1, 2))])


def _ids(doc: Annotation) -> list[int]:
    return [p.id for p in doc.persons]


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


# ----------------------------------------------------------------------------------------------- persons


def test_adding_a_person_at_a_place_and_at_the_end():
    doc = _doc(0, 1)
    history = History(doc)
    change = history.push(AddPerson(_person(7), index=1))
    assert _ids(doc) == [0, 7, 1] and change == Change(persons={7: None}, structure=True)
    history.push(AddPerson(_person(8)))
    assert _ids(doc) == [0, 7, 1, 8] and history.labels == ["add person", "add person"]
    change = history.undo()
    assert _ids(doc) == [0, 7, 1] and change == Change(persons={8: None}, structure=True)
    with pytest.raises(ValueError, match="a person with id 1 exists already"):
        AddPerson(_person(1)).apply(doc)
    assert _ids(doc) == [0, 7, 1]


def test_an_added_person_is_never_shared_with_the_caller_or_between_documents():
    person = _person(5)
    edit = AddPerson(person)
    person.keypoints[:] = 99  # the caller's object changes after the edit was made
    first, second = _doc(0), _doc(0)
    edit.apply(first)
    edit.apply(second)
    first.persons[1].keypoints[0, 0] = -1
    assert second.persons[1].keypoints[0].tolist() == _person(5).keypoints[0].tolist()
    assert edit.nbytes >= 256 + 2 * person.keypoints.nbytes


def test_removing_a_person_and_undo_put_it_back_in_its_place():
    doc = _doc(0, 1, 2)
    history = History(doc)
    edit = RemovePerson(1)
    assert edit.label == "delete person"
    assert edit.nbytes < 256 + _person(1).keypoints.nbytes  # nothing held before it is applied
    change = history.push(edit)
    assert _ids(doc) == [0, 2] and change == Change(persons={1: None}, structure=True)
    assert edit.nbytes >= 256 + 2 * _person(1).keypoints.nbytes
    change = history.undo()
    assert _ids(doc) == [0, 1, 2] and doc.persons[1] == _person(1)
    assert change == Change(persons={1: None}, structure=True)
    with pytest.raises(KeyError, match="no person with id 9"):
        RemovePerson(9).apply(doc)


def test_a_box_edit_restores_a_missing_box_and_can_remove_one():
    doc = _doc(0, 1)
    doc.persons[0].box = None
    history = History(doc)
    assert history.push(SetBox(0, [1, 2, 3, 4])) == Change(boxes={0})
    assert doc.persons[0].box.tolist() == [1, 2, 3, 4] and history.labels == ["edit box"]
    assert history.push(SetBox(1, None)) == Change(boxes={1})
    assert doc.persons[1].box is None
    assert history.undo() == Change(boxes={1})
    assert doc.persons[1].box.tolist() == [1, 1, 4, 4]
    history.undo()
    assert doc.persons[0].box is None
    history.redo()
    history.redo()  # a redo keeps the first apply's "before", not the box as it is now
    history.undo()
    history.undo()
    assert doc.persons[0].box is None and doc.persons[1].box.tolist() == [1, 1, 4, 4]


def test_a_box_drag_is_one_step_from_the_first_box_to_the_last():
    doc = _doc(0, 1)
    g = object()
    history = History(doc)
    for x in (5, 6, 7):
        history.push(SetBox(0, [0, 0, x, x], gesture=g))
    assert len(history.labels) == 1 and doc.persons[0].box.tolist() == [0, 0, 7, 7]
    history.undo()
    assert doc.persons[0].box.tolist() == [1, 1, 4, 4]
    history.redo()
    assert doc.persons[0].box.tolist() == [0, 0, 7, 7]
    box = SetBox(0, [0, 0, 1, 1], gesture=g)
    assert not box.merge(SetBox(1, [0, 0, 1, 1], gesture=g))
    assert not box.merge(SetBox(0, [0, 0, 1, 1], gesture=object()))
    assert not box.merge(move_keypoints(doc, 0, [0], [[0, 0]], gesture=g))
    assert not SetBox(0, [0, 0, 1, 1]).merge(SetBox(0, [0, 0, 2, 2]))  # no gesture: separate clicks


def test_a_box_is_four_float32_values_whatever_shape_it_comes_in():
    doc = _doc(0)
    SetBox(0, [[1, 2], [3.5, 4]]).apply(doc)  # two corners
    box = doc.persons[0].box
    assert box.shape == (4,) and box.dtype == np.float32 and box.tolist() == [1, 2, 3.5, 4]
    SetBox(0, [0, 1, 2, 3]).apply(doc)
    assert doc.persons[0].box.dtype == np.float32


def test_the_document_never_shares_a_box_array_with_the_history():
    doc = _doc(0)
    edit = SetBox(0, [1, 2, 3, 4])
    edit.apply(doc)
    doc.persons[0].box[0] = 50  # something edits the document's box in place
    edit.revert(doc)
    doc.persons[0].box[1] = 60
    edit.apply(doc)
    assert doc.persons[0].box.tolist() == [1, 2, 3, 4]
    edit.revert(doc)
    assert doc.persons[0].box.tolist() == [1, 1, 4, 4]


def test_renumbering_reports_both_ids_and_refuses_a_taken_id_either_way():
    doc = _doc(0, 1)
    edit = RenumberPerson(0, 5)
    assert edit.label == "renumber person"
    assert edit.apply(doc) == Change(persons={0: None, 5: None}, structure=True)
    assert _ids(doc) == [5, 1]
    assert edit.revert(doc) == Change(persons={5: None, 0: None}, structure=True)
    assert _ids(doc) == [0, 1]
    edit.apply(doc)
    doc.persons.append(_person(0))  # the old id was taken meanwhile
    with pytest.raises(ValueError, match="a person with id 0 exists already"):
        edit.revert(doc)
    with pytest.raises(ValueError):
        RenumberPerson(5, 1).apply(doc)
    with pytest.raises(KeyError):
        RenumberPerson(9, 8).apply(doc)


def test_the_edit_of_the_wanted_person_is_found_among_several():
    doc = _doc(3, 4, 5)
    move_keypoints(doc, 4, [0], [[7, 7]]).apply(doc)
    assert [p.keypoints[0, 0] for p in doc.persons] == [0, 7, 0]
    with pytest.raises(KeyError):
        move_keypoints(doc, 6, [0], [[7, 7]])


# ---------------------------------------------------------------------------------------------- document


def test_review_flag_labels_and_undo():
    doc = _doc()
    assert SetReviewed(True).label == "mark reviewed" and SetReviewed(False).label == "mark not reviewed"
    edit = SetReviewed(True)
    assert edit.apply(doc) == Change(document=True) and doc.reviewed is True
    edit.revert(doc)
    edit.apply(doc)  # the second apply must not take True as "before"
    assert edit.revert(doc) == Change(document=True) and doc.reviewed is False


def test_the_base_edit_does_nothing_by_itself_and_merges_nothing():
    edit = Edit()
    assert edit.label == "edit" and edit.merge(Edit()) is False and edit.nbytes == 256
    with pytest.raises(NotImplementedError):
        edit.apply(_doc())
    with pytest.raises(NotImplementedError):
        edit.revert(_doc())


# ----------------------------------------------------------------------------------------------- ApplyLabels


def _labelled(**fields) -> Annotation:
    doc = Annotation("a.png", (W, H), **fields)
    doc.validate()
    return doc


def test_replacing_with_new_labels_sets_every_field_and_undo_restores_every_field():
    part = np.zeros((H, W), np.uint8)
    part[0, 0] = 3
    human = np.zeros((H, W), bool)
    human[0, 0] = True
    old = _labelled(
        class_schema="sapiens_28",
        persons=[_person(0), _person(1)],
        part_map=part,
        part_map_human=human,
        foreground=np.ones((H, W), bool),
        foreground_human=human.copy(),
        depth=np.full((H, W), 2, np.float32),
        normal=np.zeros((H, W, 3), np.float32),
        pointmap=np.ones((H, W, 3), np.float32),
        models={"pose": {"name": "old"}},
        reviewed=True,
    )
    new = _labelled(
        class_schema="sapiens_20",
        persons=[_person(4, 2)],
        part_map=np.full((H, W), 1, np.uint8),
        foreground=np.zeros((H, W), bool),
        depth=np.full((H, W), 5, np.float32),
        normal=np.ones((H, W, 3), np.float32),
        pointmap=np.full((H, W, 3), 7, np.float32),
        models={"seg": {"name": "new"}},
    )
    snapshot = {name: getattr(old, name) for name in ("part_map", "foreground", "depth", "normal", "pointmap")}
    history = History(old)
    edit = ApplyLabels(new, replace=True, label="import labels")
    change = history.push(edit)
    assert history.labels == ["import labels"]
    full = (0, 0, H, W)
    layers = {name: full for name in ("part_map", "foreground", "depth", "normal", "pointmap")}
    assert change == Change(persons={4: None}, structure=True, layers=layers, document=True)
    assert _ids(old) == [4] and old.persons[0] == _person(4, 2)
    assert old.class_schema == "sapiens_20" and old.models == {"seg": {"name": "new"}} and old.reviewed is False
    assert (old.part_map == 1).all() and not old.foreground.any() and (old.depth == 5).all()
    assert (old.normal == 1).all() and (old.pointmap == 7).all()
    assert old.part_map_human is None and old.foreground_human is None
    change = history.undo()
    assert change == Change(persons={0: None, 1: None}, structure=True, layers=layers, document=True)
    assert _ids(old) == [0, 1] and old.persons[1] == _person(1)
    assert old.class_schema == "sapiens_28" and old.models == {"pose": {"name": "old"}} and old.reviewed is True
    for name, value in snapshot.items():
        assert getattr(old, name) is value or (getattr(old, name) == value).all()
    assert old.part_map_human[0, 0] and old.part_map_human.sum() == 1 and old.foreground_human.sum() == 1
    history.redo()
    assert _ids(old) == [4] and old.class_schema == "sapiens_20"


def test_the_keypoint_schema_follows_the_new_labels_and_comes_back_on_undo():
    def doc(schema, persons):
        return Annotation("a.png", (W, H), schema, persons=persons)

    old = doc("goliath_308", [])
    history = History(old)
    history.push(ApplyLabels(doc("coco_17", []), replace=True))
    assert old.keypoint_schema == "coco_17"
    history.undo()
    assert old.keypoint_schema == "goliath_308"


def test_a_models_rerun_keeps_human_points_and_undo_brings_back_the_document_persons_unshared():
    doc = _doc(0, 1)
    move_keypoints(doc, 0, [2], [[7, 7]]).apply(doc)
    history = History(doc)
    rerun = _labelled(persons=[_person(0, 3), _person(1, 3)])
    history.push(ApplyLabels(rerun))  # merge by default
    assert doc.persons[0].keypoints[:, 0].tolist() == [3, 4, 7, 6, 7] and doc.persons[1].keypoints[0, 0] == 3
    assert rerun.persons[0].keypoints[2, 0] == 5  # the incoming labels are left as they were
    doc.persons[0].keypoints[0, 0] = 99  # an edit in place while the re-run is applied
    history.undo()
    assert doc.persons[0].keypoints[:, 0].tolist() == [0, 1, 7, 3, 4] and doc.persons[0].source[2] == SOURCE_HUMAN
    doc.persons[1].keypoints[0, 0] = -5  # ... and while it is undone
    history.redo()
    assert doc.persons[0].keypoints[:, 0].tolist() == [3, 4, 7, 6, 7] and doc.persons[1].keypoints[0, 0] == 3
    history.undo()
    assert doc.persons[1].keypoints[0, 0] == 0


def test_person_objects_held_elsewhere_do_not_change_what_undo_and_redo_restore():
    doc = _doc(0)
    held = doc.persons[0]  # e.g. a view that still holds the person it drew before the re-run
    incoming = _labelled(persons=[_person(0, 3)])
    history = History(doc)
    history.push(ApplyLabels(incoming, replace=True))
    held.keypoints[:, 0] = -1
    incoming.persons[0].keypoints[:, 0] = -2  # the caller reuses its labels afterwards
    history.undo()
    assert doc.persons[0].keypoints[:, 0].tolist() == [0, 1, 2, 3, 4]
    history.redo()
    assert doc.persons[0].keypoints[:, 0].tolist() == [3, 4, 5, 6, 7]


def test_a_rerun_step_lets_go_of_the_incoming_document_and_counts_what_it_holds():
    doc = _doc(0)
    doc.part_map = np.zeros((H, W), np.uint8)
    incoming = _labelled(persons=[_person(0)], part_map=np.ones((H, W), np.uint8))
    alive = weakref.ref(incoming)
    edit = ApplyLabels(incoming)
    del incoming
    edit.apply(doc)
    gc.collect()
    assert alive() is None  # the step keeps before/after, not the whole incoming document
    held = 2 * H * W + 2 * 2 * _person(0).keypoints.nbytes  # two part maps, the persons before and after
    assert held <= edit.nbytes <= 256 + held
    assert ApplyLabels(_doc()).label == "apply model output"


# ------------------------------------------------------------------------------------------------------ Macro


def _step(doc, g, dx, gesture_of_parts=None):
    parts = gesture_of_parts if gesture_of_parts is not None else g
    return Macro(
        [move_keypoints(doc, 0, [1], [[1 + dx, 0]], parts), move_keypoints(doc, 1, [2], [[2 + dx, 0]], parts)],
        "move 2 keypoints",
        g,
    )


def test_macro_undo_runs_its_parts_backwards():
    doc = _doc()
    # Two parts move the same point: undo must restore the value from before the first, not the one between.
    macro = Macro([move_keypoints(doc, 0, [1], [[5, 5]]), SetKeypoints(0, [1], [[6, 6, 1]], [2], [1])])
    assert macro.label == "edit" and macro.gesture is None
    macro.apply(doc)
    assert doc.persons[0].keypoints[1, :2].tolist() == [6, 6]
    macro.revert(doc)
    assert doc.persons[0].keypoints[1, :2].tolist() == [1, 1]
    assert macro.nbytes >= sum(e.nbytes for e in macro.edits) > 0


@pytest.mark.parametrize(
    "second",
    [
        "other gesture",
        "fewer parts",
        "more parts",
        "parts without gesture",
        "other person",
        "other kind of part",
        "not a macro",
    ],
)
def test_macro_steps_that_are_not_the_same_drag_stay_separate_and_undo_separately(second):
    doc = _doc()
    g = object()
    history = History(doc)
    history.push(_step(doc, g, 1))
    if second == "other gesture":
        step = _step(doc, object(), 2)
    elif second == "fewer parts":
        step = Macro([move_keypoints(doc, 0, [1], [[3, 0]], g)], "m", g)
    elif second == "more parts":
        step = Macro([*_step(doc, g, 2).edits, move_keypoints(doc, 2, [1], [[3, 0]], g)], "m", g)
    elif second == "parts without gesture":
        step = Macro(_step(doc, None, 2).edits, "m", g)
    elif second == "other person":
        step = Macro([move_keypoints(doc, 0, [1], [[3, 0]], g), move_keypoints(doc, 2, [2], [[4, 0]], g)], "m", g)
    elif second == "other kind of part":
        step = Macro([move_keypoints(doc, 0, [1], [[3, 0]], g), SetBox(1, [0, 0, 1, 1], g)], "m", g)
    else:
        step = move_keypoints(doc, 0, [1], [[3, 0]], g)
    history.push(step)
    assert len(history.labels) == 2
    history.undo()
    # Only the second step is undone: the first drag's positions are back.
    assert doc.persons[0].keypoints[1, 0] == 2 and doc.persons[1].keypoints[2, 0] == 3
    assert doc.persons[2].keypoints[1, 0] == 1
    history.undo()
    assert doc.persons[0].keypoints[1, 0] == 1 and doc.persons[1].keypoints[2, 0] == 2
    # Nothing of the refused step was absorbed by a part of the first: redoing it alone gives its positions.
    history.redo()
    assert doc.persons[0].keypoints[1, 0] == 2 and doc.persons[1].keypoints[2, 0] == 3
    assert doc.persons[2].keypoints[1, 0] == 1 and doc.persons[0].box.tolist() == [1, 1, 4, 4]


def test_macros_without_a_gesture_never_merge_even_with_parts_without_one():
    doc = _doc()
    history = History(doc)
    history.push(_step(doc, None, 1))
    history.push(_step(doc, None, 2))
    assert len(history.labels) == 2


def test_macros_of_other_kinds_of_parts_never_merge():
    g = object()

    class Tagged(SetReviewed):  # a part with a person and a gesture, but neither a keypoint nor a box edit
        person_id, gesture = 0, g

        def merge(self, other):
            return True

    first, second = Macro([Tagged(True)], "r", g), Macro([Tagged(False)], "r", g)
    assert not first.merge(second)


def test_a_macro_of_box_and_point_parts_merges_part_by_part():
    doc = _doc()
    g = object()
    history = History(doc)
    for x in (5, 6):
        history.push(Macro([SetBox(0, [0, 0, x, x], g), move_keypoints(doc, 1, [0], [[x, 0]], g)], "m", g))
    assert len(history.labels) == 1
    assert doc.persons[0].box.tolist() == [0, 0, 6, 6] and doc.persons[1].keypoints[0, 0] == 6
    history.undo()
    assert doc.persons[0].box.tolist() == [1, 1, 4, 4] and doc.persons[1].keypoints[0, 0] == 0


@pytest.mark.parametrize("without_gesture", ["a part of the first step", "a part of the second step"])
def test_a_drag_step_with_one_part_outside_the_gesture_is_refused_whole(without_gesture):
    doc = _doc()
    g = object()
    history = History(doc)

    def step(dx, second_gesture):
        return Macro(
            [move_keypoints(doc, 0, [1], [[1 + dx, 0]], g), move_keypoints(doc, 1, [2], [[2 + dx, 0]], second_gesture)],
            "m",
            g,
        )

    history.push(step(1, None if without_gesture == "a part of the first step" else g))
    history.push(step(2, None if without_gesture == "a part of the second step" else g))
    assert len(history.labels) == 2
    history.undo()
    history.undo()
    history.redo()  # the first step alone: its first part must not have absorbed the second step's move
    assert doc.persons[0].keypoints[1, 0] == 2 and doc.persons[1].keypoints[2, 0] == 3
