"""depth-normal format: float32 arrays read back bit-exact, previews computed as the official demo displays."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from sapiens_core.annotation import Annotation
from sapiens_core.export import ExportItem, ExportOptions, ImportedImage, ImportOptions, ImportProblem, get_format

FMT = get_format("depth-normal")


def _image(path: Path, w: int = 3, h: int = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h)).save(path)
    return path


def _doc(image: Path) -> Annotation:
    depth = np.array([[1.0, 2.0, np.nan], [3.0, 1.5, 9.0]], np.float32)
    normal = np.array([[[0, 0, -1], [1, 0, 0], [np.nan] * 3], [[0, -1, 0], [0.6, 0.8, 0], [0, 0, 1]]], np.float32)
    fg = np.array([[True, True, False], [True, True, False]])  # 9.0 lies outside the person
    return Annotation(str(image), (3, 2), depth=depth, normal=normal, foreground=fg)


def _export(out: Path, docs) -> None:
    report = FMT.write(out, [ExportItem(d, Path(d.image_path).stem) for d in docs], ExportOptions())
    assert not report.problems and report.images == len(docs)


def test_arrays_and_previews(tmp_path):
    doc = _doc(_image(tmp_path / "img" / "a.png"))
    _export(tmp_path / "out", [doc])
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["a_depth.npy", "a_depth.png", "a_normal.npy", "a_normal.png"]
    depth = np.load(out / "a_depth.npy", allow_pickle=False)
    assert depth.dtype == np.float32 and np.array_equal(depth, doc.depth, equal_nan=True)
    # Foreground depths 1, 2, 3, 1.5 (9.0 is outside the mask): near (1) = 65535, far (3) = 1, background 0;
    # 2 -> 1 + 0.5 * 65534 = 32768, 1.5 -> 1 + rint(0.75 * 65534 = 49150.5) = 1 + 49150 (half to even).
    preview = cv2.imread(str(out / "a_depth.png"), cv2.IMREAD_UNCHANGED)
    assert preview.dtype == np.uint16 and preview.tolist() == [[65535, 32768, 0], [1, 49151, 0]]
    # Normals: uint8((n + 1) / 2 * 255), truncated, R = x; background and NaN black.
    rgb = np.asarray(Image.open(out / "a_normal.png"))
    assert rgb.dtype == np.uint8 and rgb.tolist() == [
        [[127, 127, 0], [255, 127, 127], [0, 0, 0]],
        [[127, 0, 127], [204, 229, 127], [0, 0, 0]],
    ]


def test_round_trip_is_bit_exact(tmp_path):
    doc = _doc(_image(tmp_path / "img" / "a.png"))
    _export(tmp_path / "one", [doc])
    (imported,) = list(FMT.read(tmp_path / "one", ImportOptions(images_dir=tmp_path / "img")))
    assert isinstance(imported, ImportedImage) and imported.size == (3, 2)
    for name in ("depth", "normal"):
        got = imported.layers[name]
        assert got.dtype == np.float32 and np.array_equal(got, getattr(doc, name), equal_nan=True)
    again = Annotation(str(imported.image_path), imported.size, foreground=doc.foreground, **imported.layers)
    _export(tmp_path / "two", [again])
    for p in (tmp_path / "one").iterdir():
        assert (tmp_path / "two" / p.name).read_bytes() == p.read_bytes(), p.name


def test_constant_depth_and_no_mask(tmp_path):
    doc = Annotation(str(_image(tmp_path / "b.png")), (3, 2), depth=np.full((2, 3), 4, np.float32))
    _export(tmp_path / "out", [doc])
    assert cv2.imread(str(tmp_path / "out" / "b_depth.png"), cv2.IMREAD_UNCHANGED).tolist() == [[65535] * 3] * 2


def _save(path: Path, array) -> None:
    with open(path, "wb") as f:
        np.save(f, array, allow_pickle=True)


@pytest.mark.parametrize(
    "name, array, message",
    [
        ("bad_depth.npy", np.zeros((2, 3), np.float64), "float32"),
        ("bad_depth.npy", np.zeros((2, 3), np.int32), "float32"),
        ("bad_normal.npy", np.zeros((2, 3), np.float32), r"\(H, W, 3\)"),
        ("bad_depth.npy", np.zeros((3, 3), np.float32), "depth is 3x3, the image is 3x2"),
        ("bad_normal.npy", np.zeros((2, 4, 3), np.float32), "normal is 4x2, the image is 3x2"),
        ("bad_depth.npy", np.array([{"x": 1}], dtype=object), "not a readable .npy"),
        ("bad_depth.npy", b"\x93NUMPY\x01\x00garbage", "not a readable .npy"),
        ("bad_depth.npy", b"plain text", "not a .npy file"),
        ("lost_depth.npy", np.zeros((2, 3), np.float32), "no image named 'lost'"),
    ],
)
def test_bad_files_are_one_problem_each(tmp_path, name, array, message):
    _image(tmp_path / "img" / "bad.png")
    _image(tmp_path / "img" / "good.png")
    _save(tmp_path / "good_depth.npy", np.zeros((2, 3), np.float32))
    if isinstance(array, bytes):
        (tmp_path / name).write_bytes(array)
    else:
        _save(tmp_path / name, array)
    results = list(FMT.read(tmp_path, ImportOptions(images_dir=tmp_path / "img")))
    problems = [r for r in results if isinstance(r, ImportProblem)]
    assert len(problems) == 1 and problems[0].source == str(tmp_path / name)
    assert re.search(message, problems[0].message), problems[0]
    assert [r.image_path.name for r in results if isinstance(r, ImportedImage)] == ["good.png"]


def test_format_flags():
    assert FMT.target == "folder" and FMT.needs_layers and FMT.read is not None
