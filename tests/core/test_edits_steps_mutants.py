"""Person, box, document, re-run and macro edits in detail, where the broad tests of ``test_edits.py`` could not tell
a small change from the real thing: which steps merge and which never do, what every field of a model's re-run
restores on undo, and that nothing is shared with callers. Point edits: ``test_edits_mutants.py``.

Expected values are written out by hand from the documented rules, never computed by the code under test.
"""

import gc
import weakref

import numpy as np
import pytest

from sapiens_core.annotation import SOURCE_HUMAN, Annotation
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
)
from sapiens_core.annotation.history import History
from tests.core.edits_documents import H, W, _doc, _ids, _person

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
    # a replace redraws every layer a document can hold, the matte's two included
    layers = {name: full for name in ("part_map", "foreground", "depth", "normal", "pointmap", "alpha", "fg_rgb")}
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
