"""Edits and history: each edit's effect, merging of gestures, the memory budget, the clean state, and a
property test: any sequence of edits undone in full gives the original document, redone gives the edited one,
byte for byte on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation, Person
from sapiens_core.annotation.edits import (
    AddPerson,
    ApplyLabels,
    Change,
    RemovePerson,
    RenumberPerson,
    SetBox,
    SetReviewed,
    move_keypoints,
    set_visibility,
    swap_left_right,
)
from sapiens_core.annotation.history import History
from sapiens_core.annotation.tile_edits import paint_mask
from sapiens_core.schema import keypoint_schema

K = 308
W, H = 80, 60
GOLIATH = keypoint_schema("goliath_308")


def _person(pid: int, x: float = 10.0) -> Person:
    xy = np.stack([np.full(K, x), np.linspace(1, 50, K)], axis=1)
    return Person(
        pid,
        np.concatenate([xy, np.full((K, 1), 0.7)], axis=1),
        np.full(K, 2),
        np.full(K, SOURCE_MODEL),
        box=[1, 1, 40, 55],
    )


def _doc() -> Annotation:
    part_map = np.zeros((H, W), np.uint8)
    part_map[10:30, 20:50] = 5
    return Annotation(
        "img.png", (W, H), "goliath_308", "sapiens_28", persons=[_person(0), _person(1, 30)], part_map=part_map
    )


def test_move_makes_points_human_and_visible_and_undo_restores_everything():
    doc = _doc()
    doc.persons[0].visibility[7] = 0
    history = History(doc)
    change = history.push(move_keypoints(doc, 0, [7, 9], [[3.5, 4.25], [5, 6]]))
    person = doc.persons[0]
    assert tuple(person.keypoints[7]) == (3.5, 4.25, np.float32(0.7)) and tuple(person.keypoints[9, :2]) == (5, 6)
    assert person.visibility[7] == 2 and person.source[7] == SOURCE_HUMAN and person.source[9] == SOURCE_HUMAN
    assert sorted(change.persons[0].tolist()) == [7, 9]
    history.undo()
    assert person.visibility[7] == 0 and person.source[7] == SOURCE_MODEL and person.keypoints[7, 0] == 10
    original = _doc().persons[0]
    original.visibility[7] = 0
    assert person == original


def test_one_drag_is_one_step_and_a_new_drag_is_another():
    doc = _doc()
    history = History(doc)
    drag = object()
    for x in (11, 12, 13, 14):
        history.push(move_keypoints(doc, 0, [3], [[x, 2]], gesture=drag))
    history.seal()
    history.push(move_keypoints(doc, 0, [3], [[20, 2]], gesture=object()))
    assert history.labels == ["move keypoint", "move keypoint"]
    history.undo()
    assert doc.persons[0].keypoints[3, 0] == 14
    history.undo()
    assert doc.persons[0].keypoints[3, 0] == 10 and doc.persons[0].source[3] == SOURCE_MODEL


def test_a_merged_drag_over_different_points_restores_each_points_oldest_value():
    doc = _doc()
    history = History(doc)
    drag = object()
    history.push(move_keypoints(doc, 0, [1, 2], [[21, 1], [22, 2]], gesture=drag))
    history.push(move_keypoints(doc, 0, [2, 3], [[32, 2], [33, 3]], gesture=drag))
    assert doc.persons[0].keypoints[1:4, 0].tolist() == [21, 32, 33]
    history.undo()
    assert doc.persons[0].keypoints[1:4, 0].tolist() == [10, 10, 10]
    history.redo()
    assert doc.persons[0].keypoints[1:4, 0].tolist() == [21, 32, 33]


def test_visibility_and_left_right_swap_by_the_flip_table():
    doc = _doc()
    doc.persons[0].keypoints[GOLIATH.index("left_wrist"), :2] = (70, 5)
    history = History(doc)
    history.push(set_visibility(doc, 0, [GOLIATH.index("nose")], 1))
    assert doc.persons[0].visibility[0] == 1 and doc.persons[0].source[0] == SOURCE_HUMAN
    history.push(swap_left_right(doc, 0, GOLIATH.flip_index))
    assert tuple(doc.persons[0].keypoints[GOLIATH.index("right_wrist"), :2]) == (70, 5)
    assert doc.persons[0].visibility[0] == 1  # the nose is its own partner
    with pytest.raises(ValueError):
        set_visibility(doc, 0, [0], 3)


def test_person_edits_add_remove_box_renumber():
    doc = _doc()
    history = History(doc)
    history.push(AddPerson(_person(5, 60)))
    history.push(RemovePerson(0))
    history.push(SetBox(1, [2, 3, 4, 5]))
    history.push(RenumberPerson(1, 9))
    assert [p.id for p in doc.persons] == [9, 5] and doc.persons[0].box.tolist() == [2, 3, 4, 5]
    with pytest.raises(ValueError):
        history.push(RenumberPerson(9, 5))
    for _ in range(4):
        history.undo()
    assert [p.id for p in doc.persons] == [0, 1] and doc.persons[1].box.tolist() == [1, 1, 40, 55]


def test_paint_changes_only_the_pixels_under_the_class_lock_and_marks_them_as_painted_by_a_person():
    doc = _doc()
    history = History(doc)
    mask = np.zeros((H, W), bool)
    mask[5:15, 15:25] = True  # a quarter over class 5 (rows 10-14, columns 20-24), the rest over background
    edit = paint_mask(doc, "part_map", mask, 7, only_over=5)
    assert edit.rect == (10, 20, 15, 25)  # the pixels that change, not the whole mask
    history.push(edit)
    expected = _doc().part_map
    expected[10:15, 20:25] = 7
    assert (doc.part_map == expected).all()
    assert doc.part_map_human.sum() == 25 and doc.part_map_human[10:15, 20:25].all()
    history.undo()
    assert (doc.part_map == _doc().part_map).all()
    assert doc.part_map_human is None  # the first stroke's mark goes with it
    assert paint_mask(doc, "part_map", np.zeros((H, W), bool), 3) is None


def test_a_brush_stroke_merges_into_one_step():
    doc = _doc()
    before = doc.part_map.copy()
    history = History(doc)
    stroke = object()
    for x in range(0, 60, 4):  # overlapping dabs along a line
        mask = np.zeros((H, W), bool)
        mask[20:26, x : x + 6] = True
        history.push(paint_mask(doc, "part_map", mask, 3 + x % 2, gesture=stroke))
    painted = doc.part_map.copy()
    assert history.labels == ["paint"]
    history.undo()
    assert (doc.part_map == before).all()
    history.redo()
    assert (doc.part_map == painted).all()


class _Weighed(SetReviewed):
    """An edit that holds a known number of bytes (the budget is about bytes, not about what an edit is)."""

    nbytes = 1000


def test_budget_drops_the_oldest_steps_and_the_clean_state_follows():
    doc = _doc()
    step = _Weighed.nbytes
    history = History(doc, budget=2 * step + 100)
    history.set_clean()
    for n in range(4):
        history.push(_Weighed(n % 2 == 0))
    assert history.dropped == 2 and len(history.labels) == 2 and history.nbytes == 2 * step
    assert not history.is_clean
    while history.can_undo:
        history.undo()
    assert not history.is_clean  # the saved state was forgotten with the dropped steps


def test_clean_state_tracks_save_undo_and_redo():
    doc = _doc()
    history = History(doc)
    assert history.is_clean
    history.push(SetReviewed(True))
    assert not history.is_clean
    history.set_clean()
    history.undo()
    assert not history.is_clean and doc.reviewed is False
    history.redo()
    assert history.is_clean and doc.reviewed is True


def test_listeners_hear_every_change():
    doc = _doc()
    history = History(doc)
    heard: list[Change] = []
    history.listeners.append(heard.append)
    history.push(move_keypoints(doc, 1, [4], [[1, 1]]))
    history.undo()
    history.redo()
    assert len(heard) == 3 and all(1 in c.persons for c in heard)


def test_applying_a_models_output_keeps_corrections_and_is_one_undoable_step():
    doc = _doc()
    history = History(doc)
    history.push(move_keypoints(doc, 0, [2], [[44, 4]]))
    fresh = Annotation(
        "img.png",
        (W, H),
        "goliath_308",
        "sapiens_28",
        persons=[_person(0, 25), _person(1, 26)],
        part_map=np.full((H, W), 2, np.uint8),
    )
    history.push(ApplyLabels(fresh))
    assert doc.persons[0].keypoints[2, 0] == 44 and doc.persons[0].keypoints[3, 0] == 25
    assert (doc.part_map == 2).all()
    history.undo()
    assert doc.persons[0].keypoints[3, 0] == 10 and doc.part_map[0, 0] == 0
    history.redo()
    history.push(ApplyLabels(Annotation("img.png", (W, H), "goliath_308", persons=[_person(0, 1)]), replace=True))
    assert doc.persons[0].keypoints[2, 0] == 1  # replace: the correction goes too


# ------------------------------------------------------------------------------------------------ property

_edit = st.one_of(
    st.tuples(
        st.just("move"),
        st.integers(0, 1),
        st.lists(st.integers(0, K - 1), min_size=1, max_size=4, unique=True),
        st.floats(-5, 90, width=32),
        st.booleans(),
    ),
    st.tuples(st.just("visibility"), st.integers(0, 1), st.integers(0, K - 1), st.integers(0, 2)),
    st.tuples(st.just("swap"), st.integers(0, 1)),
    st.tuples(
        st.just("paint"),
        st.integers(0, H - 1),
        st.integers(0, W - 1),
        st.integers(1, 20),
        st.integers(0, 27),
        st.booleans(),
    ),
    st.tuples(st.just("box"), st.integers(0, 1), st.floats(0, 50, width=32)),
    st.tuples(st.just("reviewed"), st.booleans()),
    st.tuples(st.just("add")),
    st.tuples(st.just("remove"), st.integers(0, 1)),
)


def _make(doc: Annotation, spec, gesture):
    kind = spec[0]
    ids = [p.id for p in doc.persons]
    if kind in ("move", "visibility", "swap", "box", "remove") and spec[1] >= len(ids):
        return None
    if kind == "move":
        return move_keypoints(
            doc, ids[spec[1]], spec[2], [[spec[3], spec[3] / 2]] * len(spec[2]), gesture=gesture if spec[4] else None
        )
    if kind == "visibility":
        return set_visibility(doc, ids[spec[1]], [spec[2]], spec[3])
    if kind == "swap":
        return swap_left_right(doc, ids[spec[1]], GOLIATH.flip_index)
    if kind == "paint":
        mask = np.zeros((H, W), bool)
        mask[spec[1] : spec[1] + spec[3], spec[2] : spec[2] + spec[3]] = True
        return paint_mask(doc, "part_map", mask, spec[4], gesture=gesture if spec[5] else None)
    if kind == "box":
        return SetBox(ids[spec[1]], [spec[2], spec[2], spec[2] + 10, spec[2] + 20])
    if kind == "reviewed":
        return SetReviewed(spec[1])
    if kind == "add":
        return AddPerson(_person(max(ids, default=-1) + 1, 33))
    return RemovePerson(ids[spec[1]])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_edit, min_size=1, max_size=25))
def test_any_sequence_undone_is_the_original_and_redone_is_the_edited_document_byte_for_byte(tmp_path, specs):
    doc = _doc()
    history = History(doc)
    original = _saved_bytes(doc, tmp_path / "original")
    gesture = object()
    for spec in specs:
        edit = _make(doc, spec, gesture)
        if edit is not None:
            history.push(edit)
    edited = _saved_bytes(doc, tmp_path / "edited")
    while history.can_undo:
        history.undo()
    assert _saved_bytes(doc, tmp_path / "undone") == original
    while history.can_redo:
        history.redo()
    assert _saved_bytes(doc, tmp_path / "redone") == edited


def _saved_bytes(doc: Annotation, folder: Path) -> dict[str, bytes]:
    """The saved files' bytes, with the revision (bumped by every edit and save) left out."""
    saved = Annotation(
        "img.png",
        doc.image_size,
        doc.keypoint_schema,
        doc.class_schema,
        persons=[p.copy() for p in doc.persons],
        part_map=doc.part_map.copy(),
        part_map_human=None if doc.part_map_human is None else doc.part_map_human.copy(),
        reviewed=doc.reviewed,
    )
    saved.save(folder / "doc.json")
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
