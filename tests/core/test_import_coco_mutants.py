"""COCO reader, the cases mutation testing found unpinned: every refusal's exact message (with values shortened
to 60 characters), the boundaries of sizes, boxes and coordinates, which keypoint category is taken, entries that
are not objects, optional fields and their defaults, and which counterpart a Goliath point takes.

The files are written by hand in the COCO layout (``coco.py``'s docstring); messages are the module's wording.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sapiens_core.errors import AnnotationFormatError
from sapiens_core.export import ImportedImage, ImportOptions, ImportProblem, get_format
from sapiens_core.schema import keypoint_schema

COCO17 = list(keypoint_schema("coco_17").names)
GOLIATH = list(keypoint_schema("goliath_308").names)
WHOLEBODY = list(keypoint_schema("coco_wholebody_133").names)


def _record(**fields) -> dict:
    kp = [0] * 51
    kp[0:3] = [5, 6, 2]  # nose labeled
    return {"id": 1, "image_id": 1, "category_id": 1, "keypoints": kp, "iscrowd": 0, **fields}


def _file(tmp_path: Path, records=None, image=None, categories=None, **top) -> Path:
    data = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 40, "height": 30, **(image or {})}],
        "annotations": [_record()] if records is None else records,
        "categories": [{"id": 1, "name": "person", "keypoints": COCO17}] if categories is None else categories,
        **top,
    }
    path = tmp_path / "x.json"
    path.write_text(json.dumps(data))
    return path


def _read(path: Path, fmt="coco17") -> list:
    return list(get_format(fmt).read(path, ImportOptions()))


def _one(tmp_path, fmt="coco17", **kwargs):
    results = _read(_file(tmp_path, **kwargs), fmt)
    assert len(results) == 1, results
    return results[0]


def _message(tmp_path, **kwargs) -> str:
    result = _one(tmp_path, **kwargs)
    assert isinstance(result, ImportProblem), result
    return result.message


def test_unreadable_files_say_why(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"images": [], "name": "\xe9"}')
    with pytest.raises(AnnotationFormatError) as info:
        _read(path)
    assert str(info.value) == f"{path}: not a UTF-8 text file"
    with pytest.raises(AnnotationFormatError) as info:
        _read(tmp_path)
    assert str(info.value) == f"{tmp_path}: cannot read it (Is a directory)"


@pytest.mark.parametrize(
    "categories, message",
    [
        ([{"id": 1, "name": "person", "keypoints": "nose"}], "lists 'nose'; coco17 expects the 17 of coco_17"),
        ([{"id": "1", "name": "person", "keypoints": COCO17}], "categories[0].id must be an integer, not '1'"),
    ],
)
def test_a_bad_keypoint_category_is_named(tmp_path, categories, message):
    path = _file(tmp_path, categories=categories)
    with pytest.raises(AnnotationFormatError) as info:
        _read(path)
    assert str(info.value).endswith(message), str(info.value)


def test_the_person_category_is_taken_among_several_and_non_objects_are_skipped(tmp_path):
    animal = {"id": 2, "name": "animal", "keypoints": ["tail"]}
    person = {"id": 1, "name": "person", "keypoints": COCO17}
    second = {"id": 3, "name": "person", "keypoints": ["x"]}  # a second "person": the first one counts
    result = _one(tmp_path, categories=[5, animal, person, second])
    assert isinstance(result, ImportedImage), result
    assert len(result.persons) == 1


def test_records_of_other_categories_and_crowds_are_skipped_not_the_rest(tmp_path):
    car = {"id": 7, "image_id": 1, "category_id": 2, "bbox": [0, 0, 1, 1]}
    plain = _record(id=2)
    del plain["iscrowd"]  # absent: not a crowd
    categories = [{"id": 1, "name": "person", "keypoints": COCO17}, {"id": 2, "name": "car"}]
    result = _one(tmp_path, records=[car, _record(id=3, iscrowd=1), plain], categories=categories)
    assert [p.id for p in result.persons] == [0]


def test_entries_that_are_not_objects_are_problems_of_their_own(tmp_path):
    path = _file(tmp_path, records=[7, _record()])
    data = json.loads(path.read_text())
    data["images"].insert(0, 5)
    path.write_text(json.dumps(data))
    results = _read(path)
    assert [str(r) for r in results if isinstance(r, ImportProblem)] == [
        "x.json: images[0]: an image entry must be an object, not 5",
        "x.json: annotations[0]: image_id None is not the id of an image in the file",
    ]
    (image,) = [r for r in results if isinstance(r, ImportedImage)]
    assert image.source == "x.json: image 'a.jpg'" and image.reviewed is False


@pytest.mark.parametrize(
    "image, message",
    [
        ({"id": "1"}, "id must be an integer, not '1'"),
        ({"file_name": ""}, "file_name must be a non-empty string, not ''"),
        ({"reviewed": "yes"}, "reviewed must be true or false, not 'yes'"),
        ({"class_schema": 5}, "class_schema must be a name, not 5"),
        ({"height": None}, "width and height must be positive integers, not 40 and None"),
        ({"width": 0}, "width and height must be positive integers, not 0 and 30"),
        ({"height": 0}, "width and height must be positive integers, not 40 and 0"),
        (
            {"vid_id": "clip", "frame_id": -1},
            "vid_id and frame_id must be a video name and a frame index >= 0, not 'clip' and -1",
        ),
        (
            {"vid_id": "", "frame_id": 1},
            "vid_id and frame_id must be a video name and a frame index >= 0, not '' and 1",
        ),
        (
            {"vid_id": 3.5, "frame_id": 1},
            "vid_id and frame_id must be a video name and a frame index >= 0, not 3.5 and 1",
        ),
    ],
)
def test_bad_image_fields_are_refused_with_their_message(tmp_path, image, message):
    records = [] if "id" in image else None  # an image without a valid id has no records of its own
    assert _message(tmp_path, image=image, records=records) == message


def test_an_image_of_one_pixel_and_one_without_a_size(tmp_path):
    assert _one(tmp_path, image={"width": 1, "height": 1}, records=[]).size == (1, 1)
    assert _one(tmp_path, image={"width": None, "height": None}).size is None


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"keypoints": None}, "keypoints is missing"),
        ({"bbox": "x"}, "bbox must be a list of 4 numbers, got 'x'"),
        ({"bbox": [1, 2, 3]}, "bbox must be a list of 4 numbers, got 3 values"),
        ({"bbox": [0, float("nan"), 1, 1]}, "bbox holds NaN or infinity at index 1"),
        ({"bbox": [0, 0, 5, -5]}, "bbox [x, y, w, h] needs w, h >= 0 and values within 1e+06"),
        ({"bbox": [2e6, 0, 1, 1]}, "bbox [x, y, w, h] needs w, h >= 0 and values within 1e+06"),
        ({"bbox": [0, -2e6, 1, 1]}, "bbox [x, y, w, h] needs w, h >= 0 and values within 1e+06"),
        ({"bbox": [0, 0, 2e6, 1]}, "bbox [x, y, w, h] needs w, h >= 0 and values within 1e+06"),
        ({"bbox": [0, 0, 1, 2e6]}, "bbox [x, y, w, h] needs w, h >= 0 and values within 1e+06"),
        ({"keypoint_scores": [1, 1]}, "keypoint_scores must be a list of 17 numbers, got 2 values"),
        ({"keypoint_sources": [1]}, "keypoint_sources must be a list of 17 numbers, got 1 values"),
        ({"person_id": "x"}, "person_id must be an integer, not 'x'"),
        ({"person_id": "x" * 58}, "person_id must be an integer, not '" + "x" * 58 + "'"),  # 60 characters: whole
        ({"person_id": "x" * 59}, "person_id must be an integer, not '" + "x" * 56 + "..."),  # 61: cut to 57 + ...
        ({"score": "high"}, "score must be a finite number, not 'high'"),
        ({"track_id": -1}, "track_id must be an integer >= 0, not -1"),
        ({"track_id": 1.5}, "track_id must be an integer >= 0, not 1.5"),
    ],
)
def test_bad_record_fields_are_refused_with_their_message(tmp_path, fields, message):
    assert _message(tmp_path, records=[_record(**fields)]) == f"annotations[0] (id 1): {message}"


def _points(**changes) -> list:
    kp = [0] * 51
    kp[0:3] = [5, 6, 2]
    for index, value in changes.items():
        kp[int(index[1:])] = value
    return kp


@pytest.mark.parametrize(
    "keypoints, message",
    [
        (_points(i4=3e9), "keypoints: point 1 has coordinates [0.0, 3000000000.0], beyond ±1e+06 px"),
        (_points(i3=10**20), "keypoints: point 1 has coordinates [1e+20, 0.0], beyond ±1e+06 px"),
        (_points(i5=3), "keypoints: visibility must be 0, 1 or 2; point 1 has 3"),
        (_points(i4="a"), "keypoints must hold only numbers, found 'a'"),
    ],
)
def test_bad_points_name_the_point(tmp_path, keypoints, message):
    assert _message(tmp_path, records=[_record(keypoints=keypoints)]) == f"annotations[0] (id 1): {message}"


def test_a_record_without_an_id_is_named_by_its_index(tmp_path):
    record = _record(person_id="x")
    del record["id"]
    assert _message(tmp_path, records=[record]) == "annotations[0]: person_id must be an integer, not 'x'"


def test_values_on_the_bounds_are_accepted(tmp_path):
    # No width/height: the document's own in-image check does not apply, only the 1e6 bound.
    kp = _points(i3=1e6)
    record = _record(keypoints=kp, bbox=[1e6, 2, 0, 0], track_id=0)
    result = _one(tmp_path, image={"width": None, "height": None}, records=[record])
    assert isinstance(result, ImportedImage), result
    (p,) = result.persons
    assert p.box.tolist() == [1e6, 2, 1e6, 2] and p.track_id == 0
    assert p.keypoints[GOLIATH.index("left_eye"), 0] == 1e6


def test_defaults_of_a_plain_record(tmp_path):
    (p,) = _one(tmp_path).persons
    nose, eye = GOLIATH.index("nose"), GOLIATH.index("left_eye")
    assert p.box is None and p.score is None
    assert p.keypoints[nose].tolist() == [5, 6, 1] and p.keypoints[eye, 2] == 0  # unlabeled: score 0
    assert p.visibility[[nose, eye]].tolist() == [2, 0]


def test_a_segmentation_becomes_the_foreground(tmp_path):
    # Uncompressed RLE in column-major order: 12 pixels of a 4x3 image, the first 3 (column 0) background.
    record = _record(segmentation={"size": [3, 4], "counts": [3, 9]})
    result = _one(tmp_path, image={"width": 4, "height": 3}, records=[record])
    assert isinstance(result, ImportedImage), result
    expected = np.ones((3, 4), bool)
    expected[:, 0] = False
    assert np.array_equal(result.layers["foreground"], expected)


def test_a_goliath_wrist_takes_the_labeled_one_of_its_two_wholebody_counterparts(tmp_path):
    kp = [0] * (133 * 3)
    hand_root = WHOLEBODY.index("left_hand_root")
    kp[3 * hand_root : 3 * hand_root + 3] = [11, 12, 2]  # the body's left_wrist (index 9) stays unlabeled
    parts = {"keypoints": kp[:51], "foot_kpts": kp[51:69], "face_kpts": kp[69:273]}
    parts |= {"lefthand_kpts": kp[273:336], "righthand_kpts": kp[336:]}
    record = {"id": 1, "image_id": 1, "category_id": 1, **parts}
    (p,) = _one(tmp_path, "coco-wholebody133", records=[record]).persons
    wrist = GOLIATH.index("left_wrist")
    assert p.keypoints[wrist, :2].tolist() == [11, 12] and p.visibility[wrist] == 2


def test_two_keypoint_categories_take_the_one_named_person(tmp_path):
    categories = [{"id": 2, "name": "animal", "keypoints": ["tail"]}, {"id": 1, "name": "person", "keypoints": COCO17}]
    assert len(_one(tmp_path, categories=categories).persons) == 1


def test_side_files_are_checked_against_the_class_set_and_need_the_image_size(tmp_path):
    part_map = np.zeros((30, 40), np.uint8)
    part_map[0, 0] = 40  # no class of sapiens_28 (0..27, 255 = ignore)
    Image.fromarray(part_map).save(tmp_path / "a_seg.png")
    image = {"class_schema": "sapiens_28", "sapiens_layers": {"part_map": "a_seg.png"}}
    assert "sapiens_28" in _message(tmp_path, image=image)
    image |= {"width": None, "height": None}
    assert _message(tmp_path, image=image) == "sapiens_layers need the image's width and height"
