"""COCO writer, the cases mutation testing found unpinned: the file's header lines, layouts made at run time
(``own_schema_layout``, a custom ``CocoLayout``), name matching with aliases, points and boxes that are not
finite, the bbox/area arithmetic in float32, integer fields, and every refusal's message.

Expected values are written out by hand from the COCO conventions in ``coco.py``'s docstring.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sapiens_core.annotation import Annotation, Person
from sapiens_core.export import ExportItem, ExportOptions, get_format, own_schema_layout, write_coco
from sapiens_core.export.coco import CocoLayout, common_image_root, point_map, short_floats
from sapiens_core.schema import keypoint_schema

COCO17 = keypoint_schema("coco_17")
WHOLEBODY = keypoint_schema("coco_wholebody_133")


def _person(pid=0, points=None, k=17, box=None, score=None, source=1) -> Person:
    """Visible points {index: (x, y, score)} (or (x, y, score, visibility)), the rest unlabeled at (0, 0)."""
    kp = np.zeros((k, 3), np.float32)
    v = np.zeros(k, np.uint8)
    for j, p in (points or {}).items():
        kp[j] = p[:3]
        v[j] = p[3] if len(p) > 3 else 2
    return Person(pid, kp, v, np.full(k, source, np.uint8), None if box is None else np.float32(box), score)


def _doc(tmp_path, persons, schema="coco_17", name="a.jpg") -> Annotation:
    return Annotation(str(tmp_path / name), (640, 480), schema, persons=persons)


def _items(docs):
    return [ExportItem(d, Path(d.image_path).stem) for d in docs]


def _export(tmp_path, docs, fmt="coco17", **options):
    out = tmp_path / "out.json"
    report = get_format(fmt).write(out, _items(docs), ExportOptions(**options))
    return report, json.loads(out.read_text()), out.read_text()


def _record(tmp_path, person, fmt="coco17", **options) -> dict:
    _, data, _ = _export(tmp_path, [_doc(tmp_path, [person])], fmt, **options)
    (record,) = data["annotations"]
    return record


def test_the_header_is_compact_json_with_the_info_and_the_category(tmp_path):
    _, data, text = _export(tmp_path, [_doc(tmp_path, [])])
    first, second = text.splitlines()[:2]
    assert first == (
        '{"info":{"description":"Sapiens Studio export, COCO 17","version":"1.0","contributor":"Sapiens Studio",'
        '"format":"coco17","keypoint_schema":"coco_17"},"licenses":[],'
    )
    assert second.startswith('"categories":[{"id":1,"name":"person","supercategory":"person","keypoints":["nose",')
    (category,) = data["categories"]
    assert category["keypoints"] == list(COCO17.names) and category["skeleton"][0] == [16, 14]


def test_the_output_folder_is_created_with_its_parents(tmp_path):
    out = tmp_path / "not" / "yet" / "out.json"
    report = get_format("coco17").write(out, _items([_doc(tmp_path, [])]), ExportOptions())
    assert report.written == [out] and out.is_file()


def test_own_schema_layout_names_itself_and_refuses_other_keypoint_sets(tmp_path):
    layout = own_schema_layout(COCO17)
    assert layout.parts == (("keypoints", 17),)
    out = tmp_path / "own.json"
    docs = [_doc(tmp_path, [_person(0, {0: (5, 6, 0.5)})]), _doc(tmp_path, [_person(k=308)], "goliath_308", "g.jpg")]
    report = write_coco(out, _items(docs), ExportOptions(), layout)
    assert report.problems == [f"{tmp_path / 'g.jpg'}: labelled with goliath_308, coco (coco_17) exports coco_17"]
    data = json.loads(out.read_text())
    assert data["info"]["format"] == "coco (coco_17)"
    assert data["info"]["description"] == "Sapiens Studio export, COCO keypoints, COCO 17"
    assert data["annotations"][0]["keypoints"][:3] == [5, 6, 2]


def test_a_layout_lists_every_keypoint_set_it_exports_in_its_refusal(tmp_path):
    layout = CocoLayout("two", "Two", COCO17, COCO17, COCO17, doc_schemas=("coco_17", "coco_wholebody_133"))
    report = write_coco(
        tmp_path / "t.json", _items([_doc(tmp_path, [_person(k=308)], "goliath_308")]), ExportOptions(), layout
    )
    assert report.problems == [
        f"{tmp_path / 'a.jpg'}: labelled with goliath_308, two exports coco_17 or coco_wholebody_133"
    ]


def test_parts_that_do_not_add_up_to_the_keypoint_set_are_refused():
    with pytest.raises(ValueError, match=r"^bad: parts hold 16 points, coco_17 has 17$"):
        CocoLayout("bad", "Bad", COCO17, COCO17, COCO17, parts=(("keypoints", 10), ("more", 6)))


def test_point_map_takes_exact_names_first_then_aliases_and_minus_one_for_none():
    # coco_wholebody_133 -> goliath_308: nose is a Goliath name; the hand roots only match by alias.
    goliath = keypoint_schema("goliath_308")
    aliases = {"left_hand_root": "left_wrist", "nose": "left_wrist"}  # an alias never overrides an exact name
    mapping = point_map(WHOLEBODY, goliath, aliases)
    names = list(WHOLEBODY.names)
    assert mapping.dtype == np.int64 and mapping.shape == (133,)
    assert mapping[names.index("nose")] == goliath.names.index("nose")
    assert mapping[names.index("left_hand_root")] == goliath.names.index("left_wrist")
    assert mapping[names.index("right_hand_root")] == -1  # no alias given for it here
    assert set(mapping[mapping < 0].tolist()) == {-1}


def test_short_floats_flattens_and_common_image_root():
    assert short_floats([[0.1, 2.0], [3.5, float("nan")]]) == [0.1, 2.0, 3.5, None]
    assert short_floats(np.float32(0.1)) == [0.1]
    docs = [Annotation("/data/set/a/x.jpg", (1, 1)), Annotation("/data/set/b/c/y.jpg", (1, 1))]
    assert common_image_root(docs) == Path("/data/set")
    assert common_image_root([]) is None


def test_a_document_without_a_named_set_is_known_by_its_point_count(tmp_path):
    report, data, _ = _export(tmp_path, [_doc(tmp_path, [_person(0, {16: (7, 8, 1)})], schema=None)])
    assert not report.problems and data["annotations"][0]["keypoints"][48:51] == [7, 8, 2]  # right_ankle


@pytest.mark.parametrize(
    "schema, persons, message",
    [
        (None, [_person(k=5)], "no known keypoint set has 5 points (known: coco_17 (17), "),
        ("nope", [_person()], "unknown keypoint set 'nope'"),
        ("coco_17", [_person(), _person(1, k=18)], "persons have [17, 18] keypoints, coco_17 has 17"),
    ],
)
def test_documents_the_layout_cannot_take_are_named(tmp_path, schema, persons, message):
    report, data, _ = _export(tmp_path, [_doc(tmp_path, persons, schema)])
    (problem,) = report.problems
    assert problem.startswith(f"{tmp_path / 'a.jpg'}: {message}"), problem
    assert data["annotations"] == [] and data["images"] == []


def test_a_model_point_scoring_exactly_the_threshold_keeps_its_label(tmp_path):
    record = _record(tmp_path, _person(0, {0: (5, 6, 0.5), 1: (7, 8, 0.4999)}, source=0), score_threshold=0.5)
    assert record["keypoints"][:6] == [5, 6, 2, 0, 0, 0]


def test_non_finite_coordinates_unlabel_that_point_only_and_a_nan_score_does_not(tmp_path):
    person = _person(0, {0: (np.nan, 6, 0.9), 1: (7, 8, np.nan), 2: (9, 10, 0.9)}, box=[1, 1, 20, 20])
    record = _record(tmp_path, person, score_threshold=None)
    assert record["keypoints"][:9] == [0, 0, 0, 7, 8, 2, 9, 10, 2]
    assert record["num_keypoints"] == 2
    assert record["keypoint_scores"][:3] == [0.9, 0.0, 0.9]  # NaN has no JSON spelling: written as 0


def test_a_non_finite_box_gives_way_to_the_extent_of_all_labeled_points(tmp_path):
    # The occluded point (visibility 1) counts for the extent too.
    person = _person(0, {0: (10, 20, 1), 5: (30, 60, 1, 1)}, box=[np.nan, 0, 5, 5], score=0.5)
    record = _record(tmp_path, person)
    assert record["bbox"] == [10, 20, 20, 40] and record["area"] == 800 and record["score"] == 0.5


def test_a_single_point_person_has_a_zero_size_box(tmp_path):
    record = _record(tmp_path, _person(0, {0: (10, 20, 1)}))
    assert record["bbox"] == [10, 20, 0, 0] and record["area"] == 0


def test_area_is_the_float32_product_of_the_written_width_and_height(tmp_path):
    box = [485.83536, 357.7952, 889.48785, 934.0435]
    record = _record(tmp_path, _person(0, {}, box=box))
    w, h = np.float32(record["bbox"][2:])
    assert w == np.float32(box[2]) - np.float32(box[0]) and h == np.float32(box[3]) - np.float32(box[1])
    assert np.float32(record["area"]) == w * h  # 232604.06 in float32; rounding the float64 product gives 232604.08


def test_visibilities_and_sources_are_json_integers(tmp_path):
    _, _, text = _export(tmp_path, [_doc(tmp_path, [_person(0, {0: (5, 6, 1), 1: (7, 8, 1, 1)})])])
    record = json.loads(text)["annotations"][0]
    assert all(type(v) is int for v in record["keypoints"][2::3])
    assert all(type(s) is int for s in record["keypoint_sources"])


def test_points_a_layout_holds_but_the_document_lacks_are_unlabeled_with_score_0(tmp_path):
    # A coco_17 document exported as COCO-WholeBody: feet, face and hands have no counterpart.
    person = _person(0, {0: (5, 6, 0.75)}, box=[1, 1, 9, 9])
    record = _record(tmp_path, person, "coco-wholebody133")
    assert record["keypoints"][:3] == [5, 6, 2]
    for part in ("foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts"):
        assert set(record[part]) == {0}, part
    assert record["keypoint_scores"][0] == 0.75 and set(record["keypoint_scores"][17:]) == {0.0}
