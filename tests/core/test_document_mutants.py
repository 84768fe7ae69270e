"""The annotation document's checks, file layout and loading at the edges test_annotation leaves open: survivors
of document's mutation run (tests/mutate.py).

Each refusal is checked by the message the user reads; saved files are read back with plain json and numpy, not
with the document's own loader, where the layout on disk is what is tested.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sapiens_core.annotation import Annotation, Person
from sapiens_core.annotation.video_ref import VideoRef
from sapiens_core.errors import AnnotationFormatError

W, H = 4, 2


def _person(pid: int = 0, k: int = 3) -> Person:
    return Person(pid, np.ones((k, 3), np.float32), np.full(k, 2, np.uint8), np.zeros(k, np.uint8))


def _doc(**kw) -> Annotation:
    args = dict(image_path="img.png", image_size=(W, H))
    args.update(kw)
    return Annotation(**args)


# ------------------------------------------------------------------------------------------------ creation


def test_creation_accepts_a_path_and_numpy_sizes():
    doc = _doc(image_path=Path("a") / "img.png", image_size=(np.int64(W), np.int64(H)))
    assert doc.image_path == str(Path("a") / "img.png") and isinstance(doc.image_path, str)
    assert doc.image_size == (W, H) and all(type(v) is int for v in doc.image_size)
    assert _doc(image_size=[W, H]).image_size == (W, H)
    doc.validate()


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"image_size": (0, H)}, r"^image_size must be \(width, height\) in positive integers, not \(0, 2\)$"),
        ({"image_size": (True, H)}, r"^image_size must be .* not \(True, 2\)$"),
        ({"image_size": (4.0, H)}, r"^image_size must be .* not \(4.0, 2\)$"),
        ({"image_size": (W,)}, r"^image_size must be .* not \(4,\)$"),
        ({"image_size": "4x2"}, r"^image_size must be .* not '4x2'$"),
        ({"image_path": ""}, r"^image_path must be a non-empty string, not ''$"),
        ({"image_path": 5}, r"^image_path must be a non-empty string, not 5$"),
        ({"keypoint_schema": 5}, r"^keypoint_schema must be a schema name or None, not 5$"),
        ({"class_schema": 5}, r"^class_schema must be a schema name or None, not 5$"),
        ({"persons": ["x"]}, r"^persons\[0\] is a str, not a Person$"),
        ({"persons": [_person(0), _person(0)]}, r"^two persons have the id 0$"),
        ({"persons": [_person(0), _person(1, 17)]}, r"^persons have different keypoint counts \[3, 17\]$"),
        ({"persons": [_person(0)], "keypoint_schema": "coco_17"}, r"^persons have 3 keypoints, coco_17 has 17$"),
        ({"models": {"pose": 5}}, r"^models must map task names to dicts$"),
        ({"models": {5: {}}}, r"^models must map task names to dicts$"),
        ({"models": []}, r"^models must map task names to dicts$"),
        ({"revision": -1}, r"^revision must be a non-negative integer, not -1$"),
        ({"revision": True}, r"^revision must be a non-negative integer, not True$"),
        ({"revision": 1.0}, r"^revision must be a non-negative integer, not 1.0$"),
        ({"reviewed": 1}, r"^reviewed must be true or false, not 1$"),
        ({"video": "clip.mp4"}, r"^video must be a VideoRef or None, not 'clip.mp4'$"),
    ],
)
def test_invalid_documents_are_refused_saying_what_is_wrong(kw, message):
    with pytest.raises(ValueError, match=message):
        _doc(**kw).validate()


def test_many_bad_class_ids_are_listed_eight_at_most():
    part_map = np.arange(30, 46, dtype=np.uint8).reshape(2, 8)  # sixteen ids past sapiens_28's 0..27
    with pytest.raises(ValueError, match=r"class ids \[30, 31, 32, 33, 34, 35, 36, 37\] outside"):
        _doc(image_size=(8, 2), part_map=part_map, class_schema="sapiens_28").validate()


def test_a_numpy_array_is_not_an_image_size():
    # A (width, height) tuple or list is asked for (an array's .shape is one; the array itself is not).
    with pytest.raises(ValueError, match=r"^image_size must be \(width, height\)"):
        _doc(image_size=np.array([W, H])).validate()


def test_valid_edges_pass():
    _doc(image_size=(1, 1)).validate()
    _doc(revision=0, reviewed=True, video=VideoRef("clip.mp4", 0), models={"pose": {}}).validate()
    _doc(persons=[_person(0)], keypoint_schema="my_own_points").validate()  # an unknown layout: nothing to check
    _doc(part_map=np.full((H, W), 255, np.uint8), class_schema="sapiens_28").validate()  # 255 = ignore
    _doc(part_map=np.full((H, W), 200, np.uint8), class_schema="my_own_classes").validate()


def test_a_broken_person_is_named_by_its_id():
    person = _person(7)
    person.visibility[0] = 5
    with pytest.raises(ValueError, match=r"^person 7: visibility values must be 0, 1 or 2; found \[5\]$"):
        _doc(persons=[person]).validate()


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"part_map": np.zeros((H, W + 1), np.uint8)}, r"^part_map is 5x2, the image is 4x2$"),
        (
            {"part_map": np.array([[0, 28, 40, 27], [255, 41, 42, 43]], np.uint8), "class_schema": "sapiens_28"},
            r"^part_map has class ids \[28, 40, 41, 42, 43\] outside sapiens_28 \(0..27, or 255 = ignore\)$",
        ),
        ({"foreground": np.zeros((H, W), np.uint8)}, r"^foreground must be a bool array of shape \(2, 4\), not uint8"),
        ({"foreground": np.zeros((H + 1, W), bool)}, r"^foreground must be a bool array of shape \(2, 4\), not bool"),
        ({"depth": np.zeros((H, W + 1), np.float32)}, r"^depth is 5x2, the image is 4x2$"),
        ({"depth": np.zeros((H, W), np.float64)}, r"^depth must be a float32 array of shape \(H, W\), not float64"),
        ({"normal": np.zeros((H + 1, W, 3), np.float32)}, r"^normal is 4x3, the image is 4x2$"),
        ({"alpha": np.zeros((H, W), np.float32)}, r"^alpha must be a uint8 array of shape \(2, 4\), not float32"),
        ({"fg_rgb": np.zeros((H, W), np.uint8)}, r"^fg_rgb must be a uint8 array of shape \(2, 4, 3\), not uint8"),
        (
            {"part_map_human": np.zeros((H, W), bool)},
            r"^part_map_human marks painted pixels of a part_map the document does not have$",
        ),
        (
            {"foreground": np.zeros((H, W), bool), "foreground_human": np.zeros((H, W), np.uint8)},
            r"^foreground_human must be a bool array of shape \(2, 4\), not uint8",
        ),
    ],
)
def test_invalid_layers_are_refused_saying_which(kw, message):
    with pytest.raises(ValueError, match=message):
        _doc(**kw).validate()


# ------------------------------------------------------------------------------------------------ saving


def _saved_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "layer, array, version",
    [
        (None, None, 1),
        ("foreground", np.zeros((H, W), bool), 1),
        ("pointmap", np.zeros((H, W, 3), np.float32), 3),
        ("alpha", np.zeros((H, W), np.uint8), 4),
        ("fg_rgb", np.zeros((H, W, 3), np.uint8), 4),
    ],
)
def test_a_document_is_written_with_the_lowest_version_that_holds_its_layers(tmp_path, layer, array, version):
    doc = _doc(**({} if layer is None else {layer: array}))
    doc.save(tmp_path / "d.json")
    data = _saved_json(tmp_path / "d.json")
    assert data["version"] == version and data["format"] == "sapiens-studio/annotation"


def test_the_image_is_named_relative_to_the_documents_folder(tmp_path):
    doc = _doc(image_path=str(tmp_path / "photos" / "img.png"))
    doc.save(tmp_path / "docs" / "d.json")
    data = _saved_json(tmp_path / "docs" / "d.json")
    assert data["image"] == {"path": "../photos/img.png", "width": W, "height": H}
    assert Annotation.load(tmp_path / "docs" / "d.json").image_path == str(tmp_path / "photos" / "img.png")


def test_the_json_layout_keeps_number_lists_on_one_line_and_writes_numpy_numbers(tmp_path):
    person = Person(0, np.ones((2, 3), np.float32), np.full(2, 2, np.uint8), np.zeros(2, np.uint8))
    doc = _doc(image_path=str(tmp_path / "img.png"), persons=[person], models={"pose": {"n": np.int64(3), "e": {}}})
    doc.save(tmp_path / "d.json")
    expected = """{
 "format": "sapiens-studio/annotation",
 "version": 1,
 "image": {
  "path": "img.png",
  "width": 4,
  "height": 2
 },
 "keypoint_schema": null,
 "class_schema": null,
 "revision": 1,
 "reviewed": false,
 "persons": [
  {
   "id": 0,
   "score": null,
   "box": null,
   "keypoints": [
    [1.0, 1.0, 1.0],
    [1.0, 1.0, 1.0]
   ],
   "visibility": [2, 2],
   "source": [0, 0]
  }
 ],
 "layers": {},
 "models": {
  "pose": {
   "n": 3,
   "e": {}
  }
 }
}
"""
    assert (tmp_path / "d.json").read_text(encoding="utf-8") == expected
    assert _saved_json(tmp_path / "d.json")["models"] == {"pose": {"n": 3, "e": {}}}


def test_a_model_value_json_cannot_hold_is_refused_before_writing(tmp_path):
    doc = _doc(models={"pose": {"size_mb": float("nan")}})
    with pytest.raises(ValueError, match=r"^cannot write nan to JSON \("):
        doc.save(tmp_path / "d.json")
    assert not list(tmp_path.iterdir()) and doc.revision == 0


def test_a_replaced_document_removes_only_the_side_files_it_named(tmp_path):
    (tmp_path / "d_fg.png").write_bytes(b"someone's image")  # not named by any document here
    doc = _doc(depth=np.zeros((H, W), np.float32))
    doc.save(tmp_path / "d.json")
    assert (tmp_path / "d_depth.npy").exists() and doc.side_files == {"depth": str(tmp_path / "d_depth.npy")}
    doc.depth = None
    doc.save(tmp_path / "d.json")
    assert not (tmp_path / "d_depth.npy").exists()
    assert (tmp_path / "d_fg.png").read_bytes() == b"someone's image"
    assert doc.revision == 2 and doc.side_files == {}


def test_a_replaced_file_of_another_format_or_naming_paths_elsewhere_removes_nothing(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("keep.png", "sub/x.npy"):
        (tmp_path / name).write_bytes(b"keep")
    (tmp_path / "d.json").write_text(json.dumps({"format": "labelme", "layers": {"depth": "keep.png"}}))
    _doc().save(tmp_path / "d.json")
    doc_json = {"format": "sapiens-studio/annotation", "layers": {"depth": 5, "normal": "sub/x.npy", "alpha": ""}}
    (tmp_path / "d.json").write_text(json.dumps(doc_json))
    _doc().save(tmp_path / "d.json")  # a hand-edited document: odd entries are skipped, not fatal
    assert (tmp_path / "keep.png").read_bytes() == b"keep" and (tmp_path / "sub" / "x.npy").read_bytes() == b"keep"


def test_a_stale_side_file_goes_even_when_the_old_document_has_odd_entries(tmp_path):
    (tmp_path / "d_depth.npy").write_bytes(b"stale")
    doc_json = {"format": "sapiens-studio/annotation", "layers": {"depth": "d_depth.npy", "normal": 5}}
    (tmp_path / "d.json").write_text(json.dumps(doc_json))
    _doc().save(tmp_path / "d.json")
    assert not (tmp_path / "d_depth.npy").exists()


# ------------------------------------------------------------------------------------------------ loading


def test_a_long_wrong_value_is_cut_at_200_characters(tmp_path):
    path = _written(tmp_path, image="x" * 300)
    with pytest.raises(AnnotationFormatError) as caught:
        Annotation.load(path)
    message = str(caught.value).removeprefix(f"{path}: ")
    assert message.startswith("field 'image' must be a dict, not 'xxx") and len(message) == 200


def test_a_missing_or_unreadable_document_says_why(tmp_path):
    with pytest.raises(AnnotationFormatError, match=r"d\.json: no such file$"):
        Annotation.load(tmp_path / "d.json")
    (tmp_path / "d.json").mkdir()
    with pytest.raises(AnnotationFormatError, match=r"d\.json: cannot read it \(Is a directory\)$"):
        Annotation.load(tmp_path / "d.json")


def _written(tmp_path: Path, **changes) -> Path:
    doc = _doc(depth=np.zeros((H, W), np.float32))
    path = doc.save(tmp_path / "d.json")
    data = _saved_json(path)
    for key, value in changes.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"version": 0}, r"annotation format version 0 is not supported; this one reads versions up to 4$"),
        ({"version": True}, r"annotation format version True is not supported; this one reads versions up to 4$"),
        ({"version": 5}, r"annotation format version 5 was written by a newer Sapiens Studio; this one reads"),
        ({"image": ...}, r": missing field 'image'$"),
        ({"image": 5}, r": field 'image' must be a dict, not 5$"),
        ({"image": {"path": "img.png", "width": True, "height": H}}, r": field 'width' must be an int, not True$"),
        ({"revision": "1"}, r": field 'revision' must be an int, not '1'$"),
        ({"reviewed": 1}, r": field 'reviewed' must be a bool, not 1$"),
        ({"layers": {"depth": ""}}, r": layer 'depth' must name a side file, not ''$"),
        ({"layers": {"mask": "d_mask.png"}}, r": unknown layer 'mask' \(known: part_map, foreground, depth, normal,"),
        ({"persons": [{"id": 0}]}, r": persons\[0\]: missing field\(s\) \['keypoints', 'source', 'visibility'\]$"),
    ],
)
def test_bad_documents_are_refused_naming_the_file_and_field(tmp_path, changes, message):
    path = _written(tmp_path, **changes)
    with pytest.raises(AnnotationFormatError, match=message) as caught:
        Annotation.load(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_optional_fields_may_be_null_or_missing(tmp_path):
    path = _written(tmp_path, keypoint_schema=None, class_schema=None, reviewed=...)
    doc = Annotation.load(path)
    assert doc.keypoint_schema is None and doc.class_schema is None and doc.reviewed is False


def test_loading_without_layers_knows_where_they_are(tmp_path):
    doc = _doc(depth=np.full((H, W), 2.5, np.float32), normal=np.zeros((H, W, 3), np.float32))
    path = doc.save(tmp_path / "d.json")
    where = {"depth": str(tmp_path / "d_depth.npy"), "normal": str(tmp_path / "d_normal.npy")}
    light = Annotation.load(path, layers=False)
    assert light.depth is None and light.normal is None and light.side_files == where
    full = Annotation.load(path)
    assert full.side_files == where and full.depth.tolist() == [[2.5] * W] * H and full.normal is not None


def test_a_reviewed_video_frame_reads_back_as_one(tmp_path):
    path = _doc(reviewed=True, video=VideoRef("clip.mp4", 12)).save(tmp_path / "d.json")
    assert _saved_json(path)["video"] == {"name": "clip.mp4", "frame_index": 12}
    doc = Annotation.load(path)
    assert doc.reviewed is True and doc.video == VideoRef("clip.mp4", 12)


def test_an_edit_bumps_the_revision_by_one():
    doc = _doc(revision=5)
    doc.mark_edited()
    assert doc.revision == 6


def test_text_that_is_not_utf8_or_holds_infinity_is_refused(tmp_path):
    path = tmp_path / "d.json"
    path.write_bytes(b'{"format": "\xff"}')
    with pytest.raises(AnnotationFormatError, match=r": not a UTF-8 text file$"):
        Annotation.load(path)
    path.write_text('{"x": Infinity}')
    with pytest.raises(
        AnnotationFormatError, match=r": Infinity is not valid JSON \(missing values are written as null\)$"
    ):
        Annotation.load(path)
