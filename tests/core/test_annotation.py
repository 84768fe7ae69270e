"""The annotation document: identical round trips, strict loading, atomic saving."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation, Person
from sapiens_core.errors import AnnotationFormatError
from sapiens_core.io.atomic import atomic_path, atomic_write_bytes, atomic_write_text

W, H = 64, 48


def _person(pid: int, rng: np.random.Generator, k: int = 308) -> Person:
    xy = rng.uniform(0, 60, (k, 2)).astype(np.float32)
    person = Person.from_prediction(pid, xy, rng.uniform(0, 1, k), box=[1.5, 2.25, 50.1, 40.7], score=0.987654321)
    person.visibility[:5] = 1  # a human marked these occluded
    person.source[:5] = SOURCE_HUMAN
    return person


def _full_document(tmp_path: Path) -> Annotation:
    rng = np.random.default_rng(0)
    depth = rng.standard_normal((H, W)).astype(np.float32)
    depth[:, :10] = np.nan
    normal = rng.standard_normal((H, W, 3)).astype(np.float32)
    normal /= np.linalg.norm(normal, axis=2, keepdims=True)
    normal[depth != depth] = np.nan
    part_map = rng.integers(0, 28, (H, W), dtype=np.uint8)
    return Annotation(
        image_path=str(tmp_path / "photos" / "img.png"),
        image_size=(W, H),
        keypoint_schema="goliath_308",
        class_schema="sapiens_28",
        persons=[_person(0, rng), _person(7, rng)],
        part_map=part_map,
        foreground=part_map > 0,
        depth=depth,
        normal=normal,
        part_map_human=rng.uniform(0, 1, (H, W)) < 0.1,  # pixels a person painted
        models={
            "pose": {
                "file": "sapiens_0.3b_goliath.pt2",
                "format": "torchscript",
                "size_mb": 1234.5,
                "device": "cuda:0",
                "flip_test": True,
                "note": None,
            }
        },
    )


def _assert_same_document(a: Annotation, b: Annotation) -> None:
    """Field by field, bit for bit, without the document's own __eq__ (the code under test)."""
    compared = {
        "image_path",
        "image_size",
        "keypoint_schema",
        "class_schema",
        "persons",
        "part_map",
        "foreground",
        "depth",
        "normal",
        "pointmap",
        "alpha",
        "fg_rgb",
        "part_map_human",
        "foreground_human",
        "models",
        "revision",
        "reviewed",
        "video",
        "side_files",
    }
    assert {f.name for f in dataclasses.fields(Annotation)} == compared  # a new field must be compared here too
    for name in ("image_path", "keypoint_schema", "class_schema", "models", "revision", "reviewed", "video"):
        assert getattr(a, name) == getattr(b, name), name
    assert tuple(a.image_size) == tuple(b.image_size)
    layers = ("part_map", "foreground", "depth", "normal", "pointmap", "alpha", "fg_rgb")
    for name in (*layers, "part_map_human", "foreground_human"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:  # same dtype, shape and bytes: NaN payloads and -0.0 included
            assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), name
    assert len(a.persons) == len(b.persons)
    for p, q in zip(a.persons, b.persons):
        assert p.id == q.id and (p.score == q.score or (p.score != p.score and q.score != q.score))
        assert p.track_id == q.track_id
        for name in ("keypoints", "visibility", "source", "box"):
            x, y = getattr(p, name), getattr(q, name)
            assert (x is None) == (y is None) and (x is None or (x.dtype == y.dtype and x.tobytes() == y.tobytes()))


def test_document_equality_sees_every_field(tmp_path):
    # __eq__ is used by the app to tell a changed document; each field must count, NaN must equal NaN.
    doc = _full_document(tmp_path)
    assert doc == _full_document(tmp_path)
    edits = [
        lambda d: setattr(d, "reviewed", True),
        lambda d: setattr(d, "revision", 5),
        lambda d: d.depth.__setitem__((0, 20), 0.5),
        lambda d: d.normal.__setitem__((1, 20, 2), 0.25),
        lambda d: d.part_map.__setitem__((2, 2), 27 - d.part_map[2, 2]),
        lambda d: d.foreground.__setitem__((3, 3), not d.foreground[3, 3]),
        lambda d: d.persons[1].keypoints.__setitem__((4, 0), 1.0 + d.persons[1].keypoints[4, 0]),
        lambda d: d.persons[0].visibility.__setitem__(9, 1),
        lambda d: setattr(d.persons[0], "score", 0.5),
        lambda d: d.persons[0].box.__setitem__(0, 3.0),
        lambda d: setattr(d, "class_schema", None),
        lambda d: d.models["pose"].__setitem__("device", "cpu"),
        lambda d: d.persons.pop(),
    ]
    for n, edit in enumerate(edits):
        other = _full_document(tmp_path)
        edit(other)
        assert not (other == doc), n


def test_round_trip_is_identical(tmp_path):
    doc = _full_document(tmp_path)
    path = doc.save(tmp_path / "photos" / "sapiens_studio" / "img.json")
    assert doc.revision == 1
    loaded = Annotation.load(path)
    loaded.side_files, doc.side_files = {}, {}
    _assert_same_document(loaded, doc)
    assert loaded.part_map.dtype == np.uint8 and loaded.foreground.dtype == np.bool_
    assert loaded.depth.dtype == np.float32 and loaded.normal.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(loaded.depth), np.isnan(doc.depth))
    np.testing.assert_array_equal(np.isnan(loaded.normal), np.isnan(doc.normal))
    for a, b in zip(loaded.persons, doc.persons):
        assert a.keypoints.dtype == np.float32 and a.visibility.dtype == np.uint8 and a.source.dtype == np.uint8
        assert a.keypoints.tobytes() == b.keypoints.tobytes()  # bit-identical floats
    assert loaded.persons[1].score == 0.987654321
    # Saving again bumps the revision and still round-trips.
    loaded.save(path)
    again = Annotation.load(path)
    again.side_files, loaded.side_files = {}, {}
    _assert_same_document(again, loaded)
    assert loaded.revision == 2


def test_files_on_disk(tmp_path):
    doc = _full_document(tmp_path)
    path = doc.save(tmp_path / "photos" / "sapiens_studio" / "img.json")
    data = json.loads(path.read_text())
    # Version 2: the document has painted pixels (an older version must say "newer", not misread them).
    assert data["format"] == "sapiens-studio/annotation" and data["version"] == 2
    assert data["image"] == {"path": "../img.png", "width": W, "height": H}  # relative, "/" separators
    assert data["layers"] == {
        "part_map": "img_seg.png",
        "foreground": "img_fg.png",
        "depth": "img_depth.npy",
        "normal": "img_normal.npy",
        "part_map_human": "img_seg_human.png",
    }
    seg = Image.open(path.parent / "img_seg.png")
    assert seg.mode == "L" and seg.size == (W, H)
    np.testing.assert_array_equal(np.asarray(seg), doc.part_map)
    assert set(np.unique(np.asarray(Image.open(path.parent / "img_fg.png"))).tolist()) <= {0, 255}
    painted = np.asarray(Image.open(path.parent / "img_seg_human.png"))
    np.testing.assert_array_equal(painted, np.where(doc.part_map_human, 255, 0))
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_a_document_without_painted_pixels_stays_readable_by_version_1(tmp_path):
    doc = _full_document(tmp_path)
    doc.part_map_human = None
    data = json.loads(doc.save(tmp_path / "img.json").read_text())
    assert data["version"] == 1 and "part_map_human" not in data["layers"]


def test_painted_pixels_need_their_layer(tmp_path):
    doc = _full_document(tmp_path)
    doc.foreground_human = np.zeros((H, W), bool)
    doc.foreground = None
    with pytest.raises(ValueError, match="foreground_human marks painted pixels of a foreground"):
        doc.validate()
    doc.foreground = np.zeros((H, W), bool)
    doc.foreground_human = np.zeros((H, W), np.uint8)
    with pytest.raises(ValueError, match="foreground_human must be a bool array"):
        doc.validate()


def test_float32_values_are_exact_and_short(tmp_path):
    rng = np.random.default_rng(5)
    values = np.concatenate(
        [rng.standard_normal(200) * 10.0 ** rng.integers(-30, 30, 200), [0.1, 1 / 3, 1e-38, 3.4e38, -0.0, 123.456]]
    ).astype(np.float32)
    k = len(values) // 3 * 3
    kp = values[:k].reshape(-1, 3)
    person = Person(1, kp, np.full(len(kp), 2, np.uint8), np.zeros(len(kp), np.uint8))
    doc = Annotation(str(tmp_path / "a.png"), (10, 10), persons=[person])
    path = doc.save(tmp_path / "a.json")
    assert Annotation.load(path).persons[0].keypoints.tobytes() == kp.tobytes()
    text = path.read_text()
    assert "0.1," in text or "0.1]" in text
    assert "0.10000000149011612" not in text


def test_empty_document_has_no_side_files(tmp_path):
    doc = Annotation(str(tmp_path / "x.jpg"), (5, 4))
    path = doc.save(tmp_path / "x.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]
    loaded = Annotation.load(path)
    assert loaded == doc and loaded.persons == [] and loaded.part_map is None


@pytest.mark.parametrize("threshold", [0.25, 0.5, 0.75])
def test_from_prediction_threshold_is_inclusive_at_exactly_the_threshold(threshold):
    # Scores exactly representable in float32, so "at the threshold" really is equal, not a rounding away.
    below = np.nextafter(np.float32(threshold), np.float32(0))
    above = np.nextafter(np.float32(threshold), np.float32(1))
    p = Person.from_prediction(
        0, np.zeros((3, 2)), np.array([below, threshold, above], np.float32), threshold=threshold
    )
    assert p.visibility.tolist() == [0, 2, 2]


def test_from_prediction():
    p = Person.from_prediction(3, [[1, 2], [3, 4], [5, 6], [np.nan, 1]], [0.9, 0.3, 0.29, 0.99], box=[0, 0, 9, 9, 0.8])
    assert p.keypoints.dtype == np.float32 and p.keypoints.shape == (4, 3)
    assert p.visibility.tolist() == [2, 2, 0, 0]  # threshold 0.3 inclusive; non-finite points are unlabeled
    assert (p.source == SOURCE_MODEL).all() and p.box.tolist() == [0, 0, 9, 9]
    with pytest.raises(ValueError):
        Person.from_prediction(0, np.zeros((3, 2)), np.zeros(4))


# ---------------------------------------------------------------------------------------------- malformed


def _saved(tmp_path: Path) -> tuple[Path, dict]:
    path = _full_document(tmp_path).save(tmp_path / "doc.json")
    return path, json.loads(path.read_text())


def _expect_error(path: Path, data: dict | None, *words: str) -> None:
    if data is not None:
        path.write_text(json.dumps(data))
    with pytest.raises(AnnotationFormatError) as info:
        Annotation.load(path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message, message


def test_wrong_format_or_version(tmp_path):
    path, data = _saved(tmp_path)
    _expect_error(path, {**data, "version": 5}, "newer", "version 5")
    _expect_error(path, {**data, "version": "1"}, "not supported")
    _expect_error(path, {**data, "format": "labelme"}, "not a Sapiens Studio annotation")
    path.write_text("{not json")
    _expect_error(path, None, "not valid JSON")
    path.write_text(json.dumps(data).replace('"score": 0.987654321', '"score": NaN', 1))
    _expect_error(path, None, "NaN")
    _expect_error(tmp_path / "absent.json", None, "no such file")
    _expect_error(path, {k: v for k, v in data.items() if k != "persons"}, "persons")


def test_wrong_shapes_and_values(tmp_path):
    path, data = _saved(tmp_path)
    bad = json.loads(json.dumps(data))
    bad["persons"][0]["visibility"][3] = 3
    _expect_error(path, bad, "visibility")
    bad = json.loads(json.dumps(data))
    bad["persons"][0]["keypoints"].pop()
    _expect_error(path, bad, "307 keypoints", "308")
    bad = json.loads(json.dumps(data))
    bad["persons"][1]["id"] = 0
    _expect_error(path, bad, "id 0")
    bad = json.loads(json.dumps(data))
    bad["persons"][0]["keypoints"][0][0] = "12"
    _expect_error(path, bad, "keypoints")
    _expect_error(path, {**data, "image": {**data["image"], "width": W + 1}}, "part_map")


def test_bad_side_files(tmp_path):
    path, data = _saved(tmp_path)
    Image.fromarray(np.zeros((H, W + 2), np.uint8)).save(tmp_path / "doc_seg.png")
    _expect_error(path, None, "part_map")
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(tmp_path / "doc_seg.png")
    _expect_error(path, None, "single-channel")
    Image.fromarray(np.full((H, W), 40, np.uint8)).save(tmp_path / "doc_seg.png")
    _expect_error(path, None, "class ids [40]")
    Image.fromarray(np.zeros((H, W), np.uint8)).save(tmp_path / "doc_seg.png")
    Annotation.load(path)  # repaired
    np.save(tmp_path / "doc_depth.npy", np.zeros((H, W)))  # float64
    _expect_error(path, None, "float32")
    np.save(tmp_path / "doc_depth.npy", np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    _expect_error(path, None, "depth")
    (tmp_path / "doc_depth.npy").write_bytes(b"garbage")
    _expect_error(path, None, "not a .npy file")
    np.save(tmp_path / "doc_depth.npy", np.zeros((H, W), np.float32))
    Annotation.load(path)  # repaired
    (tmp_path / "doc_normal.npy").unlink()
    _expect_error(path, None, "missing", "doc_normal.npy")


def test_save_refuses_an_inconsistent_document(tmp_path):
    doc = _full_document(tmp_path)
    doc.part_map = doc.part_map.astype(np.int64)
    with pytest.raises(ValueError, match="uint8"):
        doc.save(tmp_path / "doc.json")
    assert not list(tmp_path.glob("doc*")) and doc.revision == 0
    doc = _full_document(tmp_path)
    doc.models = {"pose": {"weights": np.zeros(3)}}  # not JSON
    with pytest.raises(ValueError, match="JSON"):
        doc.save(tmp_path / "doc.json")
    assert not list(tmp_path.glob("doc*"))


# ---------------------------------------------------------------------------------------------- atomicity


def test_failed_save_leaves_the_old_document(tmp_path, monkeypatch):
    doc = _full_document(tmp_path)
    path = doc.save(tmp_path / "doc.json")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    doc.persons[0].keypoints[0, 0] = 1.0
    doc.mark_edited()
    revision = doc.revision

    def failing_replace(src, dst):
        raise OSError(errno.EIO, "simulated I/O error")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError) as info:
        doc.save(path)
    assert "doc_" in str(info.value) or "doc.json" in str(info.value)
    monkeypatch.undo()
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before  # same files, same bytes: no temporary leftovers, nothing replaced
    assert doc.revision == revision
    assert Annotation.load(path).persons[0].keypoints[0, 0] != 1.0


def test_full_disk_is_a_clear_error_naming_the_file(tmp_path, monkeypatch):
    target = tmp_path / "labels.json"
    atomic_write_text(target, "old")

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError) as info:
        atomic_write_text(target, "new" * 1000)
    assert info.value.errno == errno.ENOSPC
    assert str(target) in str(info.value) and "no space left" in str(info.value).lower()
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["labels.json"]


def test_atomic_path_for_writers_that_need_a_file_name(tmp_path):
    target = tmp_path / "depth.npy"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".npy" and tmp.name.startswith(".")
        np.save(tmp, np.arange(3, dtype=np.float32))
    np.testing.assert_array_equal(np.load(target), [0, 1, 2])
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            np.save(tmp, np.zeros(5))
            raise RuntimeError("the writer failed half-way")
    np.testing.assert_array_equal(np.load(target), [0, 1, 2])
    with pytest.raises(OSError, match="no file"):
        with atomic_path(target):
            pass  # a writer that reports success but writes nothing (cv2.imwrite just returns False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["depth.npy"]


def test_atomic_write_keeps_permissions(tmp_path):
    target = tmp_path / "shared.json"
    atomic_write_bytes(target, b"1")
    os.chmod(target, 0o640)
    atomic_write_bytes(target, b"2")
    assert target.read_bytes() == b"2" and (os.stat(target).st_mode & 0o777) == 0o640
    fresh = tmp_path / "fresh.json"
    atomic_write_bytes(fresh, b"x")
    assert os.stat(fresh).st_mode & 0o777 != 0o600 or os.name != "posix"  # umask applies, not mkstemp's 0600


@pytest.mark.parametrize(
    "value, expected", [(0, False), (1, False), (127, False), (128, True), (200, True), (255, True)]
)
def test_mask_png_reads_true_from_128(tmp_path, value, expected):
    # A mask touched up in a paint program has soft edges; 128 (half of 255) and up is inside.
    from sapiens_core.annotation.layers import read_mask_png

    Image.fromarray(np.full((2, 3), value, np.uint8), mode="L").save(tmp_path / "m.png")
    np.testing.assert_array_equal(read_mask_png(tmp_path / "m.png"), np.full((2, 3), expected))
