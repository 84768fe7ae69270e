"""The matting format: alpha and premultiplied foreground PNGs read back exactly, a cut-out RGBA of the photo, the same
bytes on every export, and the export CLI over a project that predict wrote."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from sapiens_core.annotation import Annotation
from sapiens_core.cli import main
from sapiens_core.export import ExportItem, ExportOptions, ImportedImage, ImportOptions, ImportProblem, get_format

FMT = get_format("matting")
W, H = 4, 3


def _photo(path: Path) -> np.ndarray:
    rgb = (np.arange(H * W * 3, dtype=np.uint8).reshape(H, W, 3) * 7) % 251
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)
    return rgb


def _doc(image: Path) -> Annotation:
    alpha = np.array([[0, 0, 128, 255], [0, 64, 255, 255], [0, 1, 200, 254]], np.uint8)
    fg = np.zeros((H, W, 3), np.uint8)
    fg[..., 0], fg[..., 1], fg[..., 2] = alpha, alpha // 2, alpha // 4  # an orange person, premultiplied
    return Annotation(str(image), (W, H), alpha=alpha, fg_rgb=fg)


def _export(out: Path, docs):
    return FMT.write(out, [ExportItem(d, Path(d.image_path).stem) for d in docs], ExportOptions())


def test_alpha_foreground_and_cutout(tmp_path):
    photo = _photo(tmp_path / "img" / "a.png")
    doc = _doc(tmp_path / "img" / "a.png")
    report = _export(tmp_path / "out", [doc, Annotation(str(tmp_path / "img" / "b.png"), (W, H))])
    assert report.images == 1 and report.problems == []  # b has no matte: nothing written for it
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["a_alpha.png", "a_cutout.png", "a_fg_rgb.png"]
    alpha, fg, cut = (Image.open(out / f"a_{n}.png") for n in ("alpha", "fg_rgb", "cutout"))
    assert (alpha.mode, fg.mode, cut.mode) == ("L", "RGB", "RGBA")
    assert np.array_equal(np.asarray(alpha), doc.alpha) and np.array_equal(np.asarray(fg), doc.fg_rgb)
    rgba = np.asarray(cut)
    assert np.array_equal(rgba[..., :3], photo) and np.array_equal(rgba[..., 3], doc.alpha)


def test_round_trip_is_byte_identical(tmp_path):
    _photo(tmp_path / "img" / "a.png")
    doc = _doc(tmp_path / "img" / "a.png")
    _export(tmp_path / "one", [doc])
    _export(tmp_path / "again", [doc])
    (imported,) = list(FMT.read(tmp_path / "one", ImportOptions(images_dir=tmp_path / "img")))
    assert isinstance(imported, ImportedImage) and imported.size == (W, H)
    assert set(imported.layers) == {"alpha", "fg_rgb"}
    assert np.array_equal(imported.layers["alpha"], doc.alpha) and np.array_equal(imported.layers["fg_rgb"], doc.fg_rgb)
    _export(tmp_path / "two", [Annotation(str(imported.image_path), imported.size, **imported.layers)])
    for name in ("a_alpha.png", "a_fg_rgb.png", "a_cutout.png"):
        first = (tmp_path / "one" / name).read_bytes()
        assert (tmp_path / "again" / name).read_bytes() == first and (tmp_path / "two" / name).read_bytes() == first


def test_without_the_photo_the_matte_is_still_written(tmp_path):
    report = _export(tmp_path / "out", [_doc(tmp_path / "gone.png")])
    assert report.images == 1 and len(report.problems) == 1
    assert report.problems[0].startswith("gone: no cut-out") and "gone.png" in report.problems[0]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["gone_alpha.png", "gone_fg_rgb.png"]


def test_a_colour_image_as_alpha_is_one_problem(tmp_path):
    _photo(tmp_path / "img" / "bad.png")
    _photo(tmp_path / "img" / "good.png")
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(tmp_path / "bad_alpha.png")
    Image.fromarray(np.full((H, W), 9, np.uint8)).save(tmp_path / "good_alpha.png")
    bad, good = FMT.read(tmp_path, ImportOptions(images_dir=tmp_path / "img"))
    assert isinstance(bad, ImportProblem) and bad.source.endswith("bad_alpha.png")
    assert "not a single-channel 8-bit alpha PNG" in bad.message
    assert isinstance(good, ImportedImage) and set(good.layers) == {"alpha"} and (good.layers["alpha"] == 9).all()


def test_export_cli_over_a_predict_folder(tmp_path):
    photo = _photo(tmp_path / "img" / "a.png")
    _doc(tmp_path / "img" / "a.png").save(tmp_path / "project" / "a.json")
    rc = main(["export", str(tmp_path / "project"), "--format", "matting", "--out", str(tmp_path / "out")])
    assert rc == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "a_cutout.png"))[..., :3], photo)
