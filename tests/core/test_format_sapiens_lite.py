"""sapiens-lite import: folders laid out exactly as the official lite demos write them (``lite/demo/vis_*.py``).

The demos each write into their own output folder, next to their visualisation under the image's own name:
pose ``<name>.json`` ({"instance_info": [{"keypoints", "keypoint_scores"}]}, tab-indented), seg
``<name>_seg.npy`` (int64 argmax) and ``<name>.npy`` (bool, id > 0), depth ``<name>.npy`` (float32 H x W),
normal ``<name>.npy`` (float32 H x W x 3). These files are built here with plain numpy and json, independently
of the reader.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sapiens_core.errors import AnnotationFormatError
from sapiens_core.export import ImportedImage, ImportOptions, ImportProblem, get_format

FMT = get_format("sapiens-lite")
W, H = 4, 3


def _png(path: Path, w: int = W, h: int = H) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h)).save(path)


def _npy(path: Path, array) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(str(path), array)  # as the demos call it: a path string


def _pose_json(path: Path, instances) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"instance_info": [{"keypoints": k, "keypoint_scores": s} for k, s in instances]}, indent="\t")
    )


SEG = np.array([[0, 1, 2, 0], [0, 27, 27, 0], [5, 0, 0, 0]], np.int64)
DEPTH = np.arange(12, dtype=np.float32).reshape(H, W) / 10
NORMAL = np.stack([np.zeros((H, W)), np.zeros((H, W)), -np.ones((H, W))], axis=-1).astype(np.float32)
KP = [[i / 5, i / 8] for i in range(17)]  # inside the 4x3 image, or just beyond it
SCORES = [0.9] * 8 + [0.3, 0.2999] + [0.1] * 7


def _lite_outputs(root: Path, name: str = "a") -> None:
    """What the four demos leave after running over images/<name>.jpg."""
    _png(root / "images" / f"{name}.jpg")
    _pose_json(root / "out" / "pose" / f"{name}.json", [(KP, SCORES), (KP[::-1], [0.5] * 17)])
    _png(root / "out" / "pose" / f"{name}.jpg", 2 * W)  # the visualisations, same name
    _npy(root / "out" / "seg" / f"{name}_seg.npy", SEG)
    _npy(root / "out" / "seg" / f"{name}.npy", SEG > 0)
    _png(root / "out" / "seg" / f"{name}.jpg", 2 * W)
    _npy(root / "out" / "depth" / f"{name}.npy", DEPTH)
    _npy(root / "out" / "normal" / f"{name}.npy", NORMAL)


def _read(root: Path, **options):
    return list(FMT.read(root / "out", ImportOptions(images_dir=root / "images", **options)))


def test_reads_every_kind_exactly(tmp_path):
    _lite_outputs(tmp_path)
    (imported,) = _read(tmp_path)
    assert isinstance(imported, ImportedImage)
    assert imported.image_path == tmp_path / "images" / "a.jpg" and imported.size == (W, H)
    assert imported.keypoint_schema == "coco_17" and imported.class_schema == "sapiens_28"
    a, b = imported.persons
    assert (a.id, b.id) == (0, 1) and a.box is None and b.box is None
    np.testing.assert_array_equal(a.keypoints[:, :2], np.array(KP, np.float32))
    np.testing.assert_array_equal(a.keypoints[:, 2], np.array(SCORES, np.float32))
    assert a.visibility.tolist() == [2] * 9 + [0] * 8  # score >= 0.3, the demos' threshold
    assert a.source.tolist() == [0] * 17 and b.visibility.tolist() == [2] * 17
    part_map = imported.layers["part_map"]
    assert part_map.dtype == np.uint8 and part_map.tolist() == SEG.tolist()
    fg = imported.layers["foreground"]
    assert fg.dtype == np.bool_ and fg.tolist() == (SEG > 0).tolist()
    expected_depth = np.where(SEG > 0, DEPTH, np.nan).astype(np.float32)  # background NaN, as our pipeline
    assert np.array_equal(imported.layers["depth"], expected_depth, equal_nan=True)
    expected_normal = np.where((SEG > 0)[..., None], NORMAL, np.nan).astype(np.float32)
    assert imported.layers["normal"].dtype == np.float32
    assert np.array_equal(imported.layers["normal"], expected_normal, equal_nan=True)


def test_names_are_told_apart_by_dtype(tmp_path):
    # An image called "x_seg": its mask is x_seg.npy (bool) beside its class map x_seg_seg.npy (int64).
    _png(tmp_path / "images" / "x_seg.png")
    _npy(tmp_path / "out" / "x_seg.npy", SEG > 0)
    _npy(tmp_path / "out" / "x_seg_seg.npy", SEG)
    (imported,) = _read(tmp_path)
    assert imported.image_path.name == "x_seg.png" and sorted(imported.layers) == ["foreground", "part_map"]


def test_pose_only_and_a_requested_layout(tmp_path):
    _png(tmp_path / "images" / "p.png")
    _pose_json(tmp_path / "out" / "p.json", [(KP, SCORES)])
    (imported,) = _read(tmp_path, keypoint_schema="coco_17")
    assert imported.keypoint_schema == "coco_17" and not imported.layers
    (problem,) = _read(tmp_path, keypoint_schema="goliath_308")
    assert isinstance(problem, ImportProblem) and "17 per person, goliath_308 has 308" in problem.message


def test_needs_the_images_folder(tmp_path):
    _lite_outputs(tmp_path)
    with pytest.raises(AnnotationFormatError, match="folder of the original images"):
        list(FMT.read(tmp_path / "out", ImportOptions()))


def _bad_pose(k=KP, s=SCORES):
    return lambda p: _pose_json(p, [(k, s)])


@pytest.mark.parametrize(
    "name, make, message",
    [
        ("bad.json", lambda p: p.write_text('{"instance_info": [ '), "bad.json: not valid JSON"),
        ("bad.json", lambda p: p.write_text('{"predictions": []}'), 'needs an "instance_info" list'),
        ("bad.json", _bad_pose(KP[:5], SCORES[:5]), "no known keypoint set has 5 points"),
        ("bad.json", _bad_pose(KP, SCORES[:16]), "17 keypoints but 16 keypoint_scores"),
        ("bad.json", _bad_pose([[float("nan"), 1.0]] + KP[1:]), r"instance_info\[0\].keypoints: point 0 is not finite"),
        ("bad.json", _bad_pose([[1e7, 1.0]] + KP[1:]), r"instance_info\[0\].keypoints: point 0 .* far outside"),
        ("bad.json", _bad_pose([[1, "x"]] + KP[1:]), r"keypoints must be a list of \[x, y\] pairs"),
        ("bad.npy", lambda p: _npy(p, np.zeros((H, W), np.int32)), r"bad.npy: int32 \(3, 4\) is none of"),
        ("bad_seg.npy", lambda p: _npy(p, np.full((H, W), 28, np.int64)), r"class ids \[28\] are outside sapiens_28"),
        ("bad_seg.npy", lambda p: _npy(p, np.zeros((H + 1, W), np.int64)), "part_map is 4x4, the image is 4x3"),
        ("bad.npy", lambda p: _npy(p, np.zeros((H, W), np.float64)), "depth is float64, the demos write float32"),
        ("bad.npy", lambda p: _npy(p, np.zeros((H, W, 3), np.float16)), "normal is float16"),
        ("bad.npy", lambda p: _npy(p, np.zeros((H, W + 1), bool)), "foreground is 5x3, the image is 4x3"),
        ("bad.npy", lambda p: np.save(str(p), np.array([None, 1], dtype=object), allow_pickle=True), "Python objects"),
        ("bad.npy", lambda p: p.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'"), "not a readable .npy"),
    ],
)
def test_bad_files_are_one_problem_each(tmp_path, name, make, message):
    _lite_outputs(tmp_path, "good")
    _png(tmp_path / "images" / "bad.png")
    make(tmp_path / "out" / name)
    results = _read(tmp_path)
    problems = [r for r in results if isinstance(r, ImportProblem)]
    assert len(problems) == 1 and problems[0].source == str(tmp_path / "out" / name), problems
    assert re.search(message, problems[0].message), problems[0]
    assert "\n" not in str(problems[0])
    assert [r.image_path.name for r in results if isinstance(r, ImportedImage)] == ["good.jpg"]


def test_two_depth_maps_for_one_image_is_a_problem(tmp_path):
    _lite_outputs(tmp_path)
    _npy(tmp_path / "out" / "depth2" / "a.npy", DEPTH)
    (problem,) = _read(tmp_path)
    assert isinstance(problem, ImportProblem) and "2 files give the depth of 'a'" in problem.message


def test_format_is_import_only():
    assert FMT.write is None and FMT.target == "folder"
