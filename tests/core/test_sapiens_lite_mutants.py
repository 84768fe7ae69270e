"""sapiens-lite import at the edges its format tests leave open: survivors of sapiens_lite's mutation run
(tests/mutate.py).

Demo output folders are built with plain numpy and json as in test_format_sapiens_lite; what is checked is what
the user sees: which images come back, in which order, and each problem's source file and exact message.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from sapiens_core.export import ImportedImage, ImportOptions, ImportProblem, get_format

FMT = get_format("sapiens-lite")
W, H = 4, 3
SEG = np.array([[0, 1, 2, 0], [0, 27, 27, 0], [5, 0, 1, 0]], np.int64)
DEPTH = np.arange(12, dtype=np.float32).reshape(H, W) / 10
KP = [[i / 5, i / 8] for i in range(17)]


def _png(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (W, H)).save(path)


def _npy(path: Path, array) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(str(path), array)
    return path


def _json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent="\t"))
    return path


def _pose(path: Path, *instances) -> Path:
    return _json(path, {"instance_info": [{"keypoints": k, "keypoint_scores": s} for k, s in instances]})


def _read(root: Path, **options) -> list:
    return list(FMT.read(root / "out", ImportOptions(images_dir=root / "images", **options)))


def _problem(root: Path, **options) -> ImportProblem:
    (result,) = _read(root, **options)
    assert isinstance(result, ImportProblem), result
    return result


# ------------------------------------------------------------------------------------------------ telling files apart


def test_a_float_seg_map_beside_the_mask_is_skipped(tmp_path):
    # A one-channel foreground model writes a_seg.npy as a float 0/1 map: the same as a.npy, not a depth of "a_seg".
    _png(tmp_path / "images" / "a.png")
    _npy(tmp_path / "out" / "a_seg.npy", (SEG > 0).astype(np.float32))
    _npy(tmp_path / "out" / "a.npy", SEG > 0)
    (imported,) = _read(tmp_path)
    assert isinstance(imported, ImportedImage) and sorted(imported.layers) == ["foreground"]


def test_a_float_array_of_four_channels_is_none_of_the_outputs(tmp_path):
    _png(tmp_path / "images" / "a.png")
    path = _npy(tmp_path / "out" / "a.npy", np.zeros((H, W, 4), np.float32))
    problem = _problem(tmp_path)
    assert problem.source == str(path)
    assert problem.message == (
        "a.npy: float32 (3, 4, 4) is none of the demos' outputs (int *_seg.npy class map, "
        "bool mask, float (H, W) depth, float (H, W, 3) normals)"
    )


def test_a_broken_array_makes_its_whole_image_one_problem(tmp_path):
    # A good depth and a broken normal (a.npy) or class map (a_seg.npy) of the same image: the image is not
    # imported half, it is one problem naming the broken file.
    for broken in ("normal/a.npy", "seg/a_seg.npy"):
        root = tmp_path / broken.replace("/", "_")
        _png(root / "images" / "a.png")
        _npy(root / "out" / "depth" / "a.npy", DEPTH)
        bad = _npy(root / "out" / broken, np.zeros((H, W, 2), np.int32))
        problem = _problem(root)
        assert problem.source == str(bad) and "is none of the demos' outputs" in problem.message


def test_images_come_back_in_natural_order(tmp_path):
    stems = ["img10", "img2", "img1", "img20", "img9", "img100"]
    for stem in stems:
        _png(tmp_path / "images" / f"{stem}.png")
        _npy(tmp_path / "out" / f"{stem}.npy", DEPTH)
    assert [r.image_path.stem for r in _read(tmp_path)] == ["img1", "img2", "img9", "img10", "img20", "img100"]


# ------------------------------------------------------------------------------------------------ sources and messages


def test_an_imported_image_names_its_first_file_as_source(tmp_path):
    _png(tmp_path / "images" / "p.png")
    path = _pose(tmp_path / "out" / "p.json", (KP, [0.9] * 17))
    (imported,) = _read(tmp_path)
    assert imported.source == str(path)


def test_a_bad_second_file_is_the_source_of_the_problem(tmp_path):
    _png(tmp_path / "images" / "a.png")
    _npy(tmp_path / "out" / "depth" / "a.npy", DEPTH)
    bad = _npy(tmp_path / "out" / "normal" / "a.npy", np.zeros((H, W, 3), np.float16))
    problem = _problem(tmp_path)
    assert problem.source == str(bad) and problem.message == "a.npy: normal is float16, the demos write float32"


def test_an_image_missing_from_the_images_folder_is_the_problem_of_its_file(tmp_path):
    (tmp_path / "images").mkdir()
    path = _npy(tmp_path / "out" / "lost.npy", DEPTH)
    problem = _problem(tmp_path)
    assert problem.source == str(path) and "no image named 'lost'" in problem.message


def test_two_files_of_one_kind_are_both_named(tmp_path):
    _png(tmp_path / "images" / "a.png")
    first = _npy(tmp_path / "out" / "d1" / "a.npy", DEPTH)
    second = _npy(tmp_path / "out" / "d2" / "a.npy", DEPTH)
    assert _problem(tmp_path).message == f"2 files give the depth of 'a': {first}, {second}"


def test_an_unreadable_image_is_a_problem_saying_why(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(b"not a jpeg")
    _npy(tmp_path / "out" / "a.npy", DEPTH)
    message = _problem(tmp_path).message
    assert re.search(r"a\.jpg: not an image in a format we can read", message), message


# ------------------------------------------------------------------------------------------------ pose files


def test_pose_files_that_are_wrong_say_where(tmp_path):
    _png(tmp_path / "images" / "p.png")
    pose = tmp_path / "out" / "p.json"
    cases = [
        ({"predictions": []}, 'p.json: not a lite pose file (needs an "instance_info" list)'),
        ({"instance_info": [[1, 2]]}, "p.json: instance_info[0] must be an object"),
        (
            {"instance_info": [{"keypoints": [], "keypoint_scores": []}]},
            "p.json: instance_info[0].keypoints must be a non-empty list",
        ),
        (
            {"instance_info": [{"keypoints": KP, "keypoint_scores": 5}]},
            "p.json: instance_info[0].keypoint_scores must be a non-empty list",
        ),
        (
            {"instance_info": [{"keypoints": KP, "keypoint_scores": ["high"] * 17}]},
            "p.json: instance_info[0].keypoint_scores must hold only numbers",
        ),
        (
            {"instance_info": [{"keypoints": k, "keypoint_scores": [0.9] * len(k)} for k in (KP, KP[:5])]},
            "p.json: instance_info[1] has 5 keypoints, instance_info[0] has 17",
        ),
    ]
    for data, message in cases:
        _json(pose, data)
        got = _problem(tmp_path).message
        assert got == message, (got, message)


def test_a_point_three_image_widths_out_is_refused_against_the_image_size(tmp_path):
    # The bound is one image size beyond the 4x3 image (x up to 8): 13 is far outside, though well within 10^6.
    _png(tmp_path / "images" / "p.png")
    _pose(tmp_path / "out" / "p.json", ([[13.0, 1.0]] + KP[1:], [0.9] * 17))
    assert "instance_info[0].keypoints: point 0 (13, 1) lies far outside the 4x3 image" in _problem(tmp_path).message


def test_an_unknown_requested_layout_is_named(tmp_path):
    _png(tmp_path / "images" / "p.png")
    _pose(tmp_path / "out" / "p.json", (KP, [0.9] * 17))
    assert _problem(tmp_path, keypoint_schema="no_such").message == "p.json: unknown keypoint layout 'no_such'"


# ------------------------------------------------------------------------------------------------ class maps


def test_a_class_map_alone_gives_the_foreground_of_classes_above_zero(tmp_path):
    _png(tmp_path / "images" / "a.png")
    _npy(tmp_path / "out" / "a_seg.npy", SEG)
    _npy(tmp_path / "out" / "depth" / "a.npy", DEPTH)
    (imported,) = _read(tmp_path)
    expected = [[False, True, True, False], [False, True, True, False], [True, False, True, False]]
    assert imported.layers["foreground"].tolist() == expected
    depth = imported.layers["depth"]
    assert np.isnan(depth[0, 0]) and depth[0, 1] == DEPTH[0, 1]


def test_out_of_range_class_ids_list_at_most_eight_and_not_the_valid_ones(tmp_path):
    _png(tmp_path / "images" / "a.png")
    seg = np.zeros((H, W), np.int64)
    seg.flat[1:11] = np.arange(28, 38)  # ten bad ids beside class 0
    _npy(tmp_path / "out" / "a_seg.npy", seg)
    message = _problem(tmp_path).message
    assert message == "a_seg.npy: class ids [28, 29, 30, 31, 32, 33, 34, 35] are outside sapiens_28 (0..27)"
