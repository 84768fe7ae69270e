"""The matting format's report and edges: a document with only an alpha, a matte after a document without one, a
folder that does not exist yet, a photo of another size named in the report, and on import the source of each
image and problem, a single file given as the source, and a same-named image outside the source folder.
Survivors of export/matting's mutation run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sapiens_core.annotation import Annotation
from sapiens_core.export import ExportItem, ExportOptions, ImportedImage, ImportOptions, ImportProblem, get_format
from sapiens_core.export.matting import cutout_rgba

FMT = get_format("matting")
W, H = 4, 3
ALPHA = np.array([[0, 0, 128, 255], [0, 64, 255, 255], [0, 1, 200, 254]], np.uint8)


def _photo(path: Path, w: int = W, h: int = H) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((h, w, 3), 90, np.uint8)).save(path)


def _export(out: Path, docs):
    return FMT.write(out, [ExportItem(d, Path(d.image_path).stem) for d in docs], ExportOptions())


def test_the_report_lists_every_file_and_counts_every_matte(tmp_path):
    for name in ("a", "b", "c"):
        _photo(tmp_path / "img" / f"{name}.png")
    docs = [
        Annotation(str(tmp_path / "img" / "a.png"), (W, H)),  # no matte: skipped, the others still written
        Annotation(str(tmp_path / "img" / "b.png"), (W, H), alpha=ALPHA),  # an alpha alone is a matte
        Annotation(str(tmp_path / "img" / "c.png"), (W, H), alpha=ALPHA, fg_rgb=np.zeros((H, W, 3), np.uint8)),
    ]
    out = tmp_path / "not" / "yet" / "there"
    report = _export(out, docs)
    assert report.images == 2 and report.problems == []
    names = ["b_alpha.png", "b_cutout.png", "c_alpha.png", "c_fg_rgb.png", "c_cutout.png"]
    assert report.written == [out / n for n in names]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)


def test_a_photo_of_another_size_gets_no_cutout_and_a_problem_naming_both_sizes(tmp_path):
    _photo(tmp_path / "img" / "a.png", w=6, h=5)
    report = _export(tmp_path / "out", [Annotation(str(tmp_path / "img" / "a.png"), (W, H), alpha=ALPHA)])
    assert report.problems == ["a: no cut-out (the photo is 6x5, the matte 4x3)"]
    assert report.images == 1 and [p.name for p in report.written] == ["a_alpha.png"]


def test_cutout_names_width_then_height():
    with pytest.raises(ValueError, match=r"^the photo is 6x5, the matte 4x3$"):
        cutout_rgba(np.zeros((5, 6, 3), np.uint8), np.zeros((3, 4), np.uint8))


def test_import_names_the_file_each_image_and_problem_came_from(tmp_path):
    _photo(tmp_path / "img" / "a.png")
    _photo(tmp_path / "img" / "b.png")
    _export(tmp_path / "out", [Annotation(str(tmp_path / "img" / "a.png"), (W, H), alpha=ALPHA)])
    (tmp_path / "out" / "b_alpha.png").write_bytes((tmp_path / "out" / "a_alpha.png").read_bytes()[:40])
    found = list(FMT.read(tmp_path / "out", ImportOptions(images_dir=tmp_path / "img")))
    images = [f for f in found if isinstance(f, ImportedImage)]
    problems = [f for f in found if isinstance(f, ImportProblem)]
    assert [i.source for i in images] == [str(tmp_path / "out" / "a_alpha.png")]
    assert len(problems) == 1 and problems[0].source == str(tmp_path / "out" / "b_alpha.png")


def test_import_of_one_file_looks_for_the_image_beside_it(tmp_path):
    _photo(tmp_path / "a.png")
    _export(tmp_path, [Annotation(str(tmp_path / "a.png"), (W, H), alpha=ALPHA)])
    (imported,) = list(FMT.read(tmp_path / "a_alpha.png", ImportOptions()))
    assert isinstance(imported, ImportedImage) and Path(imported.image_path) == tmp_path / "a.png"


def test_import_of_a_folder_looks_only_inside_it(tmp_path):
    """The images beside the mattes in ``run/``; an unrelated ``a.png`` next to that folder must not make the
    name ambiguous."""
    _photo(tmp_path / "run" / "a.png")
    _photo(tmp_path / "elsewhere" / "a.png")
    _export(tmp_path / "run", [Annotation(str(tmp_path / "run" / "a.png"), (W, H), alpha=ALPHA)])
    (imported,) = list(FMT.read(tmp_path / "run", ImportOptions()))
    assert isinstance(imported, ImportedImage) and Path(imported.image_path) == tmp_path / "run" / "a.png"


def test_a_problem_names_the_bad_file_or_else_the_mattes_first_file(tmp_path):
    _photo(tmp_path / "img" / "a.png")
    _export(
        tmp_path / "out",
        [Annotation(str(tmp_path / "img" / "a.png"), (W, H), alpha=ALPHA, fg_rgb=np.zeros((H, W, 3), np.uint8))],
    )
    out = tmp_path / "out"
    (out / "a_fg_rgb.png").write_bytes((out / "a_fg_rgb.png").read_bytes()[:40])  # the alpha is fine
    (out / "z_alpha.png").write_bytes((out / "a_alpha.png").read_bytes())  # a matte without an image
    found = list(FMT.read(out, ImportOptions(images_dir=tmp_path / "img")))
    assert all(isinstance(f, ImportProblem) for f in found)
    assert [f.source for f in found] == [str(out / "a_fg_rgb.png"), str(out / "z_alpha.png")]
