"""masks format: class-id PNGs, coloured twins and person masks; bit-exact round trip; bad files refused."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from sapiens_core.annotation import Annotation
from sapiens_core.export import ExportItem, ExportOptions, ImportedImage, ImportOptions, ImportProblem, get_format

FMT = get_format("masks")


def _image(path: Path, w: int = 6, h: int = 4) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h)).save(path)
    return path


def _doc(image: Path) -> Annotation:
    ids = np.array([[0, 1, 2, 3, 4, 5], [27, 26, 0, 0, 255, 9], [0, 0, 0, 0, 0, 0], [13, 14, 15, 16, 17, 18]], np.uint8)
    fg = ids > 0
    fg[2, 0] = True
    return Annotation(str(image), (6, 4), class_schema="sapiens_28", part_map=ids, foreground=fg)


def _export(out: Path, docs) -> None:
    report = FMT.write(out, [ExportItem(d, Path(d.image_path).stem) for d in docs], ExportOptions())
    assert not report.problems


def test_files_and_their_pixels(tmp_path):
    doc = _doc(_image(tmp_path / "img" / "a.jpg"))
    _export(tmp_path / "out", [doc])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_fg.png", "a_seg.png", "a_seg_color.png"]
    ids = Image.open(tmp_path / "out" / "a_seg.png")
    assert ids.mode == "L" and np.asarray(ids).tolist() == doc.part_map.tolist()
    color = Image.open(tmp_path / "out" / "a_seg_color.png")
    assert color.mode == "P" and np.asarray(color).tolist() == doc.part_map.tolist()
    rgb = np.asarray(color.convert("RGB"))
    # Colours from the spec's class table: Background (0) and Tongue (27).
    assert rgb[0, 0].tolist() == [50, 50, 50] and rgb[1, 0].tolist() == [82, 21, 114]
    mask = cv2.imread(str(tmp_path / "out" / "a_fg.png"), cv2.IMREAD_UNCHANGED)
    assert mask.dtype == np.uint8 and mask.ndim == 2 and set(np.unique(mask).tolist()) == {0, 255}
    assert (mask == 255).tolist() == doc.foreground.tolist()


def test_round_trip_is_bit_exact(tmp_path):
    doc = _doc(_image(tmp_path / "img" / "a.jpg"))
    _export(tmp_path / "one", [doc])
    (imported,) = list(FMT.read(tmp_path / "one", ImportOptions(images_dir=tmp_path / "img")))
    assert isinstance(imported, ImportedImage)
    assert imported.image_path == tmp_path / "img" / "a.jpg" and imported.size == (6, 4)
    assert imported.class_schema == "sapiens_28" and not imported.persons
    np.testing.assert_array_equal(imported.layers["part_map"], doc.part_map)
    assert imported.layers["part_map"].dtype == np.uint8
    np.testing.assert_array_equal(imported.layers["foreground"], doc.foreground)
    again = Annotation(str(imported.image_path), imported.size, class_schema=imported.class_schema, **imported.layers)
    _export(tmp_path / "two", [again])
    for name in ("a_seg.png", "a_seg_color.png", "a_fg.png"):
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()


def test_images_beside_the_export_are_matched_by_stem(tmp_path):
    doc = _doc(_image(tmp_path / "a.png"))
    _export(tmp_path, [doc])  # outputs next to the image: they must not count as images
    (imported,) = list(FMT.read(tmp_path, ImportOptions()))
    assert imported.image_path == tmp_path / "a.png"


def test_a_mask_alone_imports(tmp_path):
    _image(tmp_path / "img" / "b.png")
    fg = np.zeros((4, 6), np.uint8)
    fg[1:3, 2:5] = 255
    cv2.imwrite(str(tmp_path / "b_fg.png"), fg)
    (imported,) = list(FMT.read(tmp_path, ImportOptions(images_dir=tmp_path / "img")))
    assert list(imported.layers) == ["foreground"] and imported.class_schema is None
    assert imported.layers["foreground"].tolist() == (fg == 255).tolist()


@pytest.mark.parametrize(
    "name, pixels, message",
    [
        ("bad_seg.png", np.full((4, 6), 28, np.uint8), r"class ids \[28\] are outside sapiens_28"),
        ("bad_seg.png", np.zeros((4, 6), np.uint16), "not a single-channel 8-bit"),
        ("bad_seg.png", np.zeros((4, 6, 3), np.uint8), "not a single-channel 8-bit"),
        ("bad_seg.png", np.zeros((5, 6), np.uint8), "part_map is 6x5, the image is 6x4"),
        ("bad_fg.png", np.zeros((4, 7), np.uint8), "foreground is 7x4, the image is 6x4"),
        ("bad_seg.png", b"not a png", "not a readable PNG"),
        ("lost_seg.png", np.zeros((4, 6), np.uint8), "no image named 'lost'"),
    ],
)
def test_bad_files_are_one_problem_each(tmp_path, name, pixels, message):
    _image(tmp_path / "img" / "bad.png")
    _image(tmp_path / "img" / "good.png")
    cv2.imwrite(str(tmp_path / "good_seg.png"), np.ones((4, 6), np.uint8))
    if isinstance(pixels, bytes):
        (tmp_path / name).write_bytes(pixels)
    else:
        assert cv2.imwrite(str(tmp_path / name), pixels)
    results = list(FMT.read(tmp_path, ImportOptions(images_dir=tmp_path / "img")))
    problems = [r for r in results if isinstance(r, ImportProblem)]
    assert len(problems) == 1 and problems[0].source == str(tmp_path / name)
    assert re.search(message, problems[0].message), problems[0]
    assert [r.image_path.name for r in results if isinstance(r, ImportedImage)] == ["good.png"]


def test_two_images_with_one_stem_is_a_problem(tmp_path):
    _image(tmp_path / "img" / "a.png")
    _image(tmp_path / "img" / "sub" / "a.jpg")
    cv2.imwrite(str(tmp_path / "a_seg.png"), np.zeros((4, 6), np.uint8))
    (problem,) = list(FMT.read(tmp_path, ImportOptions(images_dir=tmp_path / "img")))
    assert isinstance(problem, ImportProblem) and "2 images are named 'a'" in problem.message


def test_format_flags():
    assert FMT.target == "folder" and FMT.needs_layers and FMT.read is not None
