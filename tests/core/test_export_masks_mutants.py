"""The masks format in detail: which files an image with only some layers gets, the colours of a class set other
than the default (read from the spec table under ``tests/data/spec/``, not from the code), what the report
counts, an unknown class set, and on import the class-id boundaries of the chosen set, a single file as the
source and the coloured twins that are never read back."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from sapiens_core.annotation import Annotation
from sapiens_core.export import (
    ExportItem,
    ExportOptions,
    ImportedImage,
    ImportOptions,
    ImportProblem,
    get_format,
    write_depth,
    write_normal,
)

FMT = get_format("masks")
SPEC = Path(__file__).resolve().parents[1] / "data" / "spec"
W, H = 5, 3


def _image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (W, H)).save(path)
    return path


def _items(*docs: tuple[str, Annotation]) -> list[ExportItem]:
    return [ExportItem(doc, stem) for stem, doc in docs]


def _ids(top: int) -> np.ndarray:
    ids = np.zeros((H, W), np.uint8)
    ids[0, :3] = (1, top, 255)
    return ids


def test_each_image_gets_the_files_of_the_layers_it_has_and_the_report_counts_them(tmp_path):
    fg = np.zeros((H, W), bool)
    fg[1, 1:4] = True
    docs = (
        ("both", Annotation("both.png", (W, H), class_schema="sapiens_28", part_map=_ids(27), foreground=fg)),
        ("mask", Annotation("mask.png", (W, H), class_schema="no_such_classes", foreground=fg)),  # needs no colours
        ("none", Annotation("none.png", (W, H))),  # nothing per pixel: no files, not counted
        ("parts", Annotation("parts.png", (W, H), part_map=_ids(3))),
    )
    out = tmp_path / "deep" / "out"  # created with its parents
    report = FMT.write(out, _items(*docs), ExportOptions())
    assert report.problems == [] and report.images == 3
    names = ["both_seg.png", "both_seg_color.png", "both_fg.png", "mask_fg.png", "parts_seg.png", "parts_seg_color.png"]
    assert report.written == [out / n for n in names]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    for stem in ("both", "mask"):
        written = cv2.imread(str(out / f"{stem}_fg.png"), cv2.IMREAD_UNCHANGED)
        assert written.tolist() == np.where(fg, 255, 0).tolist()
    # No class set named: the default one's colours (spec table: class 3 Hair is 255, 0, 109).
    rgb = np.asarray(Image.open(out / "parts_seg_color.png").convert("RGB"))
    assert rgb[0, 1].tolist() == [255, 0, 109] and rgb[1, 1].tolist() == [50, 50, 50]


def test_a_part_map_of_another_class_set_is_coloured_with_that_sets_colours(tmp_path):
    with (SPEC / "sapiens2" / "sapiens2_seg_classes.tsv").open(newline="", encoding="utf-8") as f:
        table = {int(r["v2_index"]): [int(r["r"]), int(r["g"]), int(r["b"])] for r in csv.DictReader(f, delimiter="\t")}
    ids = np.arange(15, dtype=np.uint8).reshape(H, W) * 2  # 0, 2, ..., 28: the last id exists only in v2
    doc = Annotation("a.png", (W, H), class_schema="sapiens2_29", part_map=ids)
    FMT.write(tmp_path, _items(("a", doc)), ExportOptions())
    color = Image.open(tmp_path / "a_seg_color.png")
    assert np.asarray(color).tolist() == ids.tolist()
    rgb = np.asarray(color.convert("RGB")).reshape(-1, 3).tolist()
    assert rgb == [table[int(i)] for i in ids.ravel()]


def test_an_unknown_class_set_is_a_problem_for_that_image_only(tmp_path):
    bad = Annotation("bad.png", (W, H), class_schema="no_such_classes", part_map=_ids(1))
    good = Annotation("good.png", (W, H), class_schema="sapiens_28", part_map=_ids(1))
    report = FMT.write(tmp_path, _items(("bad", bad), ("good", good)), ExportOptions())
    assert report.problems == ["bad: unknown class schema 'no_such_classes'"]
    assert report.images == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["good_seg.png", "good_seg_color.png"]


def _import(folder: Path, **options) -> list:
    return list(FMT.read(folder, ImportOptions(**options)))


def test_class_ids_are_checked_against_the_chosen_class_set_at_both_ends(tmp_path):
    for stem in ("top", "over", "ignore"):
        _image(tmp_path / f"{stem}.png")
    cv2.imwrite(str(tmp_path / "top_seg.png"), _ids(28))  # the last id of sapiens2_29
    cv2.imwrite(str(tmp_path / "over_seg.png"), _ids(29))
    cv2.imwrite(str(tmp_path / "ignore_seg.png"), _ids(0))  # 255 = ignore: accepted
    results = {Path(r.source).name: r for r in _import(tmp_path, class_schema="sapiens2_29")}
    assert set(results) == {"top_seg.png", "over_seg.png", "ignore_seg.png"}
    problem = results["over_seg.png"]
    assert isinstance(problem, ImportProblem)
    assert problem.message.endswith(": class ids [29] are outside sapiens2_29 (0..28, or 255 = ignore)")
    for name in ("top_seg.png", "ignore_seg.png"):
        image = results[name]
        assert isinstance(image, ImportedImage) and image.class_schema == "sapiens2_29"
        assert image.image_path == tmp_path / name.replace("_seg", "")
    assert results["top_seg.png"].layers["part_map"].tolist() == _ids(28).tolist()
    # The default set ends at 27.
    (refused,) = [r for r in _import(tmp_path) if Path(r.source).name == "top_seg.png"]
    assert isinstance(refused, ImportProblem) and "class ids [28] are outside sapiens_28 (0..27" in refused.message


def test_every_id_outside_the_set_is_named_up_to_eight(tmp_path):
    _image(tmp_path / "a.png")
    ids = np.arange(15, dtype=np.uint8).reshape(H, W) + 20  # 20..34: 28..34 are outside sapiens_28
    cv2.imwrite(str(tmp_path / "a_seg.png"), ids)
    (problem,) = _import(tmp_path)
    assert "class ids [28, 29, 30, 31, 32, 33, 34] are outside" in problem.message
    cv2.imwrite(str(tmp_path / "a_seg.png"), np.arange(15, dtype=np.uint8).reshape(H, W) + 30)
    (problem,) = _import(tmp_path)
    assert "class ids [30, 31, 32, 33, 34, 35, 36, 37] are outside" in problem.message  # the first eight of 15


def test_a_single_file_as_source_finds_its_image_beside_it(tmp_path):
    _image(tmp_path / "a.png")
    cv2.imwrite(str(tmp_path / "a_seg.png"), _ids(4))
    cv2.imwrite(str(tmp_path / "b_seg.png"), _ids(4))
    (imported,) = _import(tmp_path / "a_seg.png")
    assert imported.image_path == tmp_path / "a.png" and imported.source == str(tmp_path / "a_seg.png")


def test_layers_of_one_image_come_together_and_coloured_twins_are_not_read(tmp_path):
    _image(tmp_path / "img" / "a.png")
    _image(tmp_path / "img" / "b.png")
    fg = np.zeros((H, W), np.uint8)
    fg[2, :] = 255
    cv2.imwrite(str(tmp_path / "a_fg.png"), fg)
    cv2.imwrite(str(tmp_path / "a_seg.png"), _ids(5))
    cv2.imwrite(str(tmp_path / "b_seg_color.png"), _ids(5))  # a twin alone: nothing to import for b
    (imported,) = _import(tmp_path, images_dir=tmp_path / "img")
    assert imported.image_path == tmp_path / "img" / "a.png" and imported.size == (W, H)
    assert sorted(imported.layers) == ["foreground", "part_map"] and imported.class_schema == "sapiens_28"
    assert imported.layers["foreground"].tolist() == (fg == 255).tolist()
    assert imported.layers["part_map"].tolist() == _ids(5).tolist()


def test_a_bad_file_is_named_even_when_another_file_of_its_image_comes_first(tmp_path):
    _image(tmp_path / "img" / "a.png")
    cv2.imwrite(str(tmp_path / "a_fg.png"), np.zeros((H, W), np.uint8))  # fine, and first by name
    cv2.imwrite(str(tmp_path / "a_seg.png"), np.zeros((H, W + 1), np.uint8))  # one column too many
    (problem,) = _import(tmp_path, images_dir=tmp_path / "img")
    assert isinstance(problem, ImportProblem) and problem.source == str(tmp_path / "a_seg.png")
    assert "part_map is 6x3, the image is 5x3" in problem.message


def test_float_layer_errors_name_the_layer(tmp_path):
    with pytest.raises(ValueError, match=r"^depth must be a float32 array of shape \(H, W\)"):
        write_depth(tmp_path / "d.npy", np.zeros((H, W), np.float64))
    with pytest.raises(ValueError, match=r"^normal must be a float32 array of shape \(H, W, 3\)"):
        write_normal(tmp_path / "n.npy", np.zeros((H, W), np.float32))
