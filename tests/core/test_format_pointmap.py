"""depth-normal format, pointmap part: the metric array read back bit-exact, and a coloured ASCII PLY of the person."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from sapiens_core.annotation import Annotation
from sapiens_core.export import ExportItem, ExportOptions, ImportedImage, ImportOptions, ImportProblem, get_format

FMT = get_format("depth-normal")
# A 3x2 photo whose pixels are told apart by colour: (row, column) -> RGB.
COLOURS = np.array([[[10, 20, 30], [40, 50, 60], [70, 80, 90]], [[1, 2, 3], [4, 5, 6], [250, 251, 252]]], np.uint8)


def _image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(COLOURS).save(path)
    return path


def _doc(image: Path) -> Annotation:
    nan = [np.nan] * 3
    pointmap = np.array(
        [[[0.1, -0.2, 2.0], [0.25, 0.0, 2.5], nan], [[-0.0, 1.125, 3.0], [0.5, 0.5, 1.75], [9.0, 9.0, 9.0]]],
        np.float32,
    )
    fg = np.array([[True, True, False], [True, True, False]])  # (9, 9, 9) lies outside the person
    return Annotation(str(image), (3, 2), pointmap=pointmap, foreground=fg)


def _export(out: Path, docs) -> list[str]:
    report = FMT.write(out, [ExportItem(d, Path(d.image_path).stem) for d in docs], ExportOptions())
    assert report.images == len(docs)
    return report.problems


def test_pointmap_array_and_point_cloud(tmp_path):
    doc = _doc(_image(tmp_path / "img" / "a.png"))
    assert _export(tmp_path / "out", [doc]) == []
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["a_pointmap.npy", "a_pointmap.ply"]
    array = np.load(out / "a_pointmap.npy", allow_pickle=False)
    assert array.dtype == np.float32 and np.array_equal(array, doc.pointmap, equal_nan=True)
    # The four person pixels in row-major order, meters to 6 decimals (float32 0.1 prints as 0.100000), the
    # photo's colour at each; -0.0 written as 0.
    assert (out / "a_pointmap.ply").read_text().splitlines() == [
        "ply",
        "format ascii 1.0",
        "element vertex 4",
        "property float x",
        "property float y",
        "property float z",
        "property uchar red",
        "property uchar green",
        "property uchar blue",
        "end_header",
        "0.100000 -0.200000 2.000000 10 20 30",
        "0.250000 0.000000 2.500000 40 50 60",
        "0.000000 1.125000 3.000000 1 2 3",
        "0.500000 0.500000 1.750000 4 5 6",
    ]


def test_round_trip_is_byte_identical(tmp_path):
    doc = _doc(_image(tmp_path / "img" / "a.png"))
    doc.depth = doc.pointmap[..., 2].copy()  # with the depth the pointmap implies, as predict writes it
    _export(tmp_path / "one", [doc])
    (imported,) = list(FMT.read(tmp_path / "one", ImportOptions(images_dir=tmp_path / "img")))
    assert isinstance(imported, ImportedImage) and set(imported.layers) == {"depth", "pointmap"}
    assert np.array_equal(imported.layers["pointmap"], doc.pointmap, equal_nan=True)
    again = Annotation(str(imported.image_path), imported.size, foreground=doc.foreground, **imported.layers)
    _export(tmp_path / "two", [again])
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == ["a_depth.npy", "a_depth.png", "a_pointmap.npy", "a_pointmap.ply"]
    for name in names:
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name


def test_point_cloud_without_the_photo_has_no_colours(tmp_path):
    doc = _doc(tmp_path / "gone.png")
    problems = _export(tmp_path / "out", [doc])
    assert len(problems) == 1 and "without colours" in problems[0] and "gone" in problems[0]
    lines = (tmp_path / "out" / "gone_pointmap.ply").read_text().splitlines()
    assert "property uchar red" not in lines and lines[-1] == "0.500000 0.500000 1.750000"


def test_a_pointmap_of_the_wrong_shape_is_one_problem(tmp_path):
    _image(tmp_path / "img" / "bad.png")
    with open(tmp_path / "bad_pointmap.npy", "wb") as f:
        np.save(f, np.zeros((2, 3), np.float32))
    (result,) = list(FMT.read(tmp_path, ImportOptions(images_dir=tmp_path / "img")))
    assert isinstance(result, ImportProblem) and "(H, W, 3)" in result.message
