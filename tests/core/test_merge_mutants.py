"""``merge_keep_human`` field by field: which points, boxes, persons, layers and document fields come from the
document a person worked on and which from the new labels, with each rule's boundary (a reviewed document, a
person the new labels lack, a layer on one side only, a mark layer with no marks). Expected values are written
out by hand from the rules in the module's docstring.
"""

from __future__ import annotations

import numpy as np
import pytest

from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation, Person, merge_keep_human

K = 17
W, H = 6, 4


def _person(pid: int, x: float, box=(0, 0, 5, 3), human=(), visibility=2) -> Person:
    xy = np.stack([np.full(K, float(x)), np.arange(K, dtype=np.float32)], axis=1)
    source = np.full(K, SOURCE_MODEL)
    source[list(human)] = SOURCE_HUMAN
    return Person(pid, np.concatenate([xy, np.full((K, 1), 0.5)], axis=1), np.full(K, visibility), source, box=box)


def _doc(persons=(), schema="coco_17", **fields) -> Annotation:
    return Annotation("a.png", (W, H), schema, persons=list(persons), **fields)


def test_human_points_keep_position_visibility_and_source_the_rest_takes_the_new_values():
    old = _person(0, 1, human=[2, 5])
    old.visibility[5] = 1
    old.keypoints[2, 2] = 0.25
    new = _person(0, 9)
    new.visibility[:] = [0, 1] * 8 + [2]
    (person,) = merge_keep_human(_doc([old]), _doc([new])).persons
    kept = np.zeros(K, bool)
    kept[[2, 5]] = True
    assert person.keypoints[kept, 0].tolist() == [1, 1] and person.keypoints[~kept, 0].tolist() == [9] * (K - 2)
    assert person.keypoints[2, 2] == 0.25 and person.keypoints[3, 2] == 0.5
    assert person.visibility[5] == 1 and person.visibility[2] == 2  # the old point's own visibility
    assert person.visibility[[0, 1, 3]].tolist() == [0, 1, 1]  # the new visibility elsewhere
    assert person.source.tolist() == [SOURCE_HUMAN if k else SOURCE_MODEL for k in kept]
    assert person.box.tolist() == [0, 0, 5, 3]


def test_a_reviewed_document_keeps_every_labelled_point_but_takes_new_values_for_unlabelled_ones():
    old = _person(0, 1)
    old.visibility[:3] = [0, 1, 2]
    merged = merge_keep_human(_doc([old], reviewed=True), _doc([_person(0, 9)]))
    (person,) = merged.persons
    assert person.keypoints[:4, 0].tolist() == [9, 1, 1, 1]  # the unlabelled point 0 takes the new one
    assert person.visibility[:3].tolist() == [2, 1, 2]
    assert merged.reviewed is True


def test_the_box_is_kept_when_the_new_labels_lack_one_or_every_point_is_the_persons():
    new_box = (1, 1, 4, 2)
    cases = [
        # (old box, new box, human points of the old person) -> box of the merged person
        ((0, 0, 5, 3), None, [0], [0, 0, 5, 3]),
        ((0, 0, 5, 3), new_box, list(range(K)), [0, 0, 5, 3]),
        ((0, 0, 5, 3), new_box, list(range(K - 1)), list(new_box)),
        (None, new_box, list(range(K)), list(new_box)),
        (None, None, [0], None),
    ]
    for old_box, box, human, expected in cases:
        old = _person(0, 1, box=old_box, human=human)
        (person,) = merge_keep_human(_doc([old]), _doc([_person(0, 9, box=box)])).persons
        assert (None if person.box is None else person.box.tolist()) == expected, (old_box, box, len(human))
        if person.box is not None and old.box is not None:
            person.box[0] = 99
            assert old.box[0] != 99  # never shared with the old document


def test_persons_the_new_labels_lack_stay_when_corrected_or_reviewed():
    corrected, plain, fresh = _person(1, 1, human=[3]), _person(2, 2), _person(3, 3)
    merged = merge_keep_human(_doc([corrected, plain]), _doc([fresh]))
    assert [p.id for p in merged.persons] == [3, 1]  # the new labels first, then the kept ones
    merged.persons[1].keypoints[0, 0] = 99
    merged.persons[0].keypoints[0, 0] = 98
    assert corrected.keypoints[0, 0] == 1 and fresh.keypoints[0, 0] == 3  # copies, not the inputs
    reviewed = merge_keep_human(_doc([_person(1, 1), _person(2, 2)], reviewed=True), _doc([fresh]))
    assert [p.id for p in reviewed.persons] == [3, 1, 2]


def test_the_keypoint_set_must_agree_only_when_both_sides_have_persons():
    goliath = Annotation("a.png", (W, H), "goliath_308")  # no persons yet
    merged = merge_keep_human(goliath, _doc([_person(0, 1)]))
    assert merged.keypoint_schema == "coco_17" and len(merged.persons) == 1
    kept = merge_keep_human(_doc([_person(0, 1, human=[0])]), _doc(schema=None))
    assert kept.keypoint_schema == "coco_17" and [p.id for p in kept.persons] == [0]
    empty = merge_keep_human(_doc([_person(0, 1)]), Annotation("a.png", (W, H), "goliath_308"))
    assert empty.keypoint_schema == "goliath_308" and empty.persons == []
    with pytest.raises(ValueError):
        merge_keep_human(_doc([_person(0, 1)]), Annotation("a.png", (W, H), "goliath_308", persons=[_person(0, 1)]))


def test_document_fields_schemas_models_revision_review_and_side_files():
    old = _doc(class_schema="sapiens_28", models={"pose": {"v": 1}, "seg": {"v": 1}}, revision=7)
    old.side_files = {"part_map": "a_seg.png"}
    new = _doc(class_schema=None, models={"seg": {"v": 2}, "depth": {"v": 2}}, reviewed=True)
    new.side_files = {"depth": "x_depth.npy"}
    merged = merge_keep_human(old, new)
    assert merged.class_schema == "sapiens_28"
    assert merged.models == {"pose": {"v": 1}, "seg": {"v": 2}, "depth": {"v": 2}}
    assert merged.revision == 7 and merged.reviewed is True and merged.side_files == {}
    assert merge_keep_human(_doc(class_schema="sapiens_28"), _doc(class_schema="sapiens_20")).class_schema == (
        "sapiens_20"
    )
    assert merge_keep_human(_doc(), _doc()).reviewed is False
    assert old.models == {"pose": {"v": 1}, "seg": {"v": 1}}  # the inputs are left as they were


@pytest.mark.parametrize("name, channels", [("depth", ()), ("normal", (3,)), ("pointmap", (3,))])
def test_unpainted_float_layers_come_from_the_new_labels_when_they_have_them(name, channels):
    old_value, new_value = np.zeros((H, W, *channels), np.float32), np.ones((H, W, *channels), np.float32)
    assert getattr(merge_keep_human(_doc(**{name: old_value}), _doc(**{name: new_value})), name) is new_value
    assert getattr(merge_keep_human(_doc(**{name: old_value}), _doc()), name) is old_value
    assert getattr(merge_keep_human(_doc(reviewed=True, **{name: old_value}), _doc(**{name: new_value})), name) is (
        new_value  # never painted: a review does not keep them
    )


@pytest.mark.parametrize(
    "name, human, painted, other",
    [("part_map", "part_map_human", 9, 3), ("foreground", "foreground_human", True, False)],
)
def test_painted_pixels_and_their_marks_are_kept_per_layer(name, human, painted, other):
    dtype = np.uint8 if name == "part_map" else bool
    marks = np.zeros((H, W), bool)
    marks[1, 2] = marks[3, 0] = True
    old_layer = np.full((H, W), painted, dtype)
    old = _doc(**{name: old_layer, human: marks.copy()})
    new_layer = np.full((H, W), other, dtype)
    merged = merge_keep_human(old, _doc(**{name: new_layer}))
    expected = np.where(marks, painted, other).astype(dtype)
    np.testing.assert_array_equal(getattr(merged, name), expected)
    np.testing.assert_array_equal(getattr(merged, human), marks)
    getattr(merged, human)[0, 0] = True
    getattr(merged, name)[0, 0] = painted
    assert not getattr(old, human)[0, 0] and (new_layer == other).all()  # copies, not the inputs
    # A mark layer without a single mark: the new layer as it is, and no mark layer.
    unmarked = merge_keep_human(_doc(**{name: old_layer, human: np.zeros((H, W), bool)}), _doc(**{name: new_layer}))
    assert getattr(unmarked, name) is new_layer and getattr(unmarked, human) is None
    # Reviewed: the whole old layer and its marks stay; without an old layer the new one comes in.
    kept = merge_keep_human(_doc(reviewed=True, **{name: old_layer, human: marks}), _doc(**{name: new_layer}))
    assert getattr(kept, name) is old_layer and getattr(kept, human) is marks
    taken = merge_keep_human(_doc(reviewed=True), _doc(**{name: new_layer}))
    assert getattr(taken, name) is new_layer and getattr(taken, human) is None


def test_a_painted_layer_of_another_size_is_refused_naming_both_sizes():
    marks = np.ones((H, W), bool)
    old = _doc(part_map=np.zeros((H, W), np.uint8), part_map_human=marks)
    with pytest.raises(ValueError, match="the new layer is 5x4, the painted one 6x4"):
        merge_keep_human(old, _doc(part_map=np.zeros((H, W - 1), np.uint8)))
    with pytest.raises(ValueError, match="the new layer is 6x3, the painted one 6x4"):
        merge_keep_human(old, _doc(part_map=np.zeros((H - 1, W), np.uint8)))
