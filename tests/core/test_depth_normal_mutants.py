"""depth-normal at the edges its format tests leave open: survivors of depth_normal's mutation run (tests/mutate.py).

Preview values are worked out by hand from the module's documented rules (depth: nearest 65535, farthest 1,
outside 0; normals: uint8((n + 1) / 2 * 255) with background black); what a report lists and counts, and where an
import looks for images and names its sources, are checked against the files on disk.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sapiens_core.annotation import Annotation
from sapiens_core.export import ExportItem, ExportOptions, ImportedImage, ImportOptions, ImportProblem, get_format
from sapiens_core.export.depth_normal import depth_preview, normal_preview

FMT = get_format("depth-normal")


def _image(path: Path, w: int = 3, h: int = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), (90, 120, 150)).save(path)
    return path


def _depth() -> np.ndarray:
    return np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.float32)


def _normal() -> np.ndarray:
    return np.tile(np.array([0.0, 0.0, 1.0], np.float32), (2, 3, 1))


def _pointmap() -> np.ndarray:
    return np.tile(np.array([0.1, 0.2, 2.0], np.float32), (2, 3, 1))


def _save(path: Path, array) -> None:
    with open(path, "wb") as f:
        np.save(f, array)


# ------------------------------------------------------------------------------------------------ previews


def test_depth_preview_leaves_non_finite_depths_inside_the_person_black():
    depth = np.array([[1.0, np.nan], [3.0, np.inf]], np.float32)
    # Over the finite foreground {1, 3}: 1 is nearest (65535), 3 farthest (1); NaN and inf stay 0.
    assert depth_preview(depth, np.ones((2, 2), bool)).tolist() == [[65535, 0], [1, 0]]


def test_normal_preview_clips_components_beyond_one_and_blackens_non_finite_ones():
    normal = np.array([[[1.5, -1.5, -3.0]], [[np.inf, -np.inf, np.nan]], [[0.0, 1.0, -1.0]]], np.float32)
    # Clipped to +-1: 1 -> (1 + 1) / 2 * 255 = 255, -1 -> 0; +inf counts as 1, -inf and NaN as -1 (black).
    assert normal_preview(normal).tolist() == [[[255, 0, 0]], [[255, 0, 0]], [[127, 255, 0]]]


# ------------------------------------------------------------------------------------------------ export


def test_export_creates_missing_parent_folders_and_writes_into_an_existing_folder(tmp_path):
    doc = Annotation(str(_image(tmp_path / "a.png")), (3, 2), depth=_depth())
    out = tmp_path / "deep" / "er" / "out"
    for _ in range(2):  # the second time the folder exists
        report = FMT.write(out, [ExportItem(doc, "a")], ExportOptions())
        assert report.images == 1 and not report.problems
    assert sorted(p.name for p in out.iterdir()) == ["a_depth.npy", "a_depth.png"]


def test_report_lists_every_written_file_and_counts_only_documents_with_layers(tmp_path):
    image = str(_image(tmp_path / "img" / "p.png"))
    docs = {
        "none": Annotation(image, (3, 2)),
        "d": Annotation(image, (3, 2), depth=_depth()),
        "n": Annotation(image, (3, 2), normal=_normal()),
        "p": Annotation(image, (3, 2), pointmap=_pointmap()),
        "all": Annotation(image, (3, 2), depth=_depth(), normal=_normal(), pointmap=_pointmap()),
    }
    out = tmp_path / "out"
    report = FMT.write(out, [ExportItem(doc, stem) for stem, doc in docs.items()], ExportOptions())
    assert report.images == 4 and not report.problems
    names = [
        "d_depth.npy",
        "d_depth.png",
        "n_normal.npy",
        "n_normal.png",
        "p_pointmap.npy",
        "p_pointmap.ply",
        "all_depth.npy",
        "all_depth.png",
        "all_normal.npy",
        "all_normal.png",
        "all_pointmap.npy",
        "all_pointmap.ply",
    ]
    assert report.written == [out / name for name in names]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)


# ------------------------------------------------------------------------------------------------ import


def test_import_finds_images_beside_the_arrays_and_names_the_array_as_source(tmp_path):
    _image(tmp_path / "a.png")
    _save(tmp_path / "a_depth.npy", _depth())
    (imported,) = FMT.read(tmp_path, ImportOptions())
    assert isinstance(imported, ImportedImage)
    assert imported.image_path == tmp_path / "a.png"
    assert imported.source == str(tmp_path / "a_depth.npy")


def test_import_of_one_array_file_finds_the_image_in_its_folder(tmp_path):
    _image(tmp_path / "a.png")
    _save(tmp_path / "a_depth.npy", _depth())
    (imported,) = FMT.read(tmp_path / "a_depth.npy", ImportOptions())
    assert isinstance(imported, ImportedImage)
    assert imported.image_path == tmp_path / "a.png" and imported.size == (3, 2)


def test_an_export_into_the_images_folder_is_not_mistaken_for_images(tmp_path):
    # Images a.jpg and a_depth.jpg exported beside themselves: a's preview a_depth.png has the stem of the second
    # image, and must not make "a_depth" ambiguous on import.
    for name in ("a.jpg", "a_depth.jpg"):
        _image(tmp_path / name)
    docs = [Annotation(str(tmp_path / n), (3, 2), depth=_depth()) for n in ("a.jpg", "a_depth.jpg")]
    FMT.write(tmp_path, [ExportItem(d, Path(d.image_path).stem) for d in docs], ExportOptions())
    results = list(FMT.read(tmp_path, ImportOptions()))
    assert all(isinstance(r, ImportedImage) for r in results), results
    assert sorted(r.image_path.name for r in results) == ["a.jpg", "a_depth.jpg"]


def test_a_bad_second_array_of_an_image_is_the_problem_of_that_file(tmp_path):
    _image(tmp_path / "a.png")
    _save(tmp_path / "a_depth.npy", _depth())
    _save(tmp_path / "a_normal.npy", np.zeros((2, 3, 3), np.float64))
    (problem,) = FMT.read(tmp_path, ImportOptions())
    assert isinstance(problem, ImportProblem)
    assert problem.source == str(tmp_path / "a_normal.npy")
    assert re.search(r"normal must be a float32 array of shape \(H, W, 3\)", problem.message), problem.message


def test_a_bad_depth_array_is_named_as_depth(tmp_path):
    _image(tmp_path / "a.png")
    _save(tmp_path / "a_depth.npy", np.zeros((2, 3), np.float64))
    (problem,) = FMT.read(tmp_path, ImportOptions())
    assert isinstance(problem, ImportProblem) and problem.source == str(tmp_path / "a_depth.npy")
    assert "depth must be a float32 array of shape (H, W)" in problem.message


def test_a_photo_of_another_size_gives_an_uncoloured_cloud_and_says_why(tmp_path):
    image = _image(tmp_path / "a.png", w=4, h=2)  # the photo on disk was replaced; the document is 3x2
    doc = Annotation(str(image), (3, 2), pointmap=_pointmap())
    report = FMT.write(tmp_path / "out", [ExportItem(doc, "a")], ExportOptions())
    assert report.problems == ["a: point cloud written without colours (a.png is not the size of the pointmap)"]
    assert "property uchar red" not in (tmp_path / "out" / "a_pointmap.ply").read_text()


def test_export_refuses_a_pointmap_replaced_by_float64_and_names_it(tmp_path):
    doc = Annotation(str(_image(tmp_path / "a.png")), (3, 2), pointmap=_pointmap())
    doc.pointmap = doc.pointmap.astype(np.float64)  # set after the document checked it: float32 only on disk
    with pytest.raises(ValueError, match=r"^pointmap must be a float32 array of shape \(H, W, 3\), not float64"):
        FMT.write(tmp_path / "out", [ExportItem(doc, "a")], ExportOptions())
