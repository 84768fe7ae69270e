"""COCO person masks and side files at their edges: masks read from another tool's file (polygons, uncompressed and
compressed RLE) decoded against hand-drawn masks, every refusal's message, the foreground of a document whose
layers were left on disk, boxes at the image's edge, and side-file fields. Survivors of coco_layers' mutation run
(importing segmentation-only COCO files, as CVAT writes them, had almost no test).

RLE runs are column-major (down the first column, then the next), starting with a run of background.
"""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from sapiens_core.annotation import Annotation
from sapiens_core.export.coco_layers import add_person_masks, foreground_from_segmentations, image_fields, read_layers

W, H = 4, 3
# pycocotools 2.0.11 warns on every decode under numpy 2 (its copy keyword); not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _union(*segs, size=(W, H)) -> np.ndarray:
    return foreground_from_segmentations([(f"p{i}", s) for i, s in enumerate(segs)], size)


# ---------------------------------------------------------------------------------------------- decoding
def test_a_rectangle_polygon_covers_the_pixels_whose_centres_lie_inside():
    mask = _union([[2, 2, 8, 2, 8, 6, 2, 6]], size=(10, 8))
    expected = np.zeros((8, 10), bool)
    expected[2:6, 2:8] = True
    assert np.array_equal(mask, expected)


def test_uncompressed_runs_by_hand():
    # 12 pixels: 3 background (column 0), 4 person (column 1 and the top of column 2), 5 background
    expected = np.zeros((H, W), bool)
    expected[:, 1] = True
    expected[0, 2] = True
    assert np.array_equal(_union({"size": [H, W], "counts": [3, 4, 5]}), expected)
    assert _union({"size": [H, W], "counts": [0, 12]}).all()  # a first run of 0: starts with the person


def test_compressed_runs_as_pycocotools_writes_them():
    expected = np.zeros((H, W), bool)
    expected[1, 1:3] = True
    expected[0, 3] = True
    counts = mask_utils.encode(np.asfortranarray(expected.astype(np.uint8)))["counts"].decode("ascii")
    assert np.array_equal(_union({"size": [H, W], "counts": counts}), expected)


def test_two_persons_masks_are_united():
    first, second = [[0, 0, 2, 0, 2, 3, 0, 3]], {"size": [H, W], "counts": [9, 3]}  # columns 0-1; column 3
    assert _union(first, second)[0].tolist() == [True, True, False, True]


@pytest.mark.parametrize(
    "seg, message",
    [
        ({"size": [W, H], "counts": [12]}, r"p0: segmentation.size \[4, 3\] is not the image's \[3, 4\]"),
        ({"size": [H, W], "counts": [3, 4, 4]}, r"p0: segmentation.counts covers 11 pixels, the image has 12"),
        ({"size": [H, W], "counts": [3.0, 9]}, r"p0: segmentation.counts must be an RLE string or a list of run"),
        ({"size": [H, W], "counts": [True, 11]}, r"p0: segmentation.counts must be an RLE string or a list of run"),
        ({"size": [H, W], "counts": [-1, 13]}, r"p0: segmentation.counts must be an RLE string or a list of run"),
        ({"size": [H, W], "counts": "é"}, r"p0: segmentation is not a readable RLE \("),
        ([[0, 0, 2, 0]], "p0: segmentation polygons must be lists of at least 3 finite x, y pairs"),
        ([[0, 0, 2, 0, 2, 2, 0]], "p0: segmentation polygons must be lists of at least 3 finite x, y pairs"),
        ([[0, 0, 2, 0, 2, float("nan")]], "p0: segmentation polygons must be lists of at least 3 finite x, y pairs"),
        ([(0, 0, 2, 0, 2, 2)], "p0: segmentation polygons must be lists of at least 3 finite x, y pairs"),
        ("0 0 2 0 2 2", r"p0: segmentation must be RLE or a list of polygons, not '0 0 2 0 2 2'$"),
    ],
)
def test_a_malformed_segmentation_is_refused_naming_the_person_and_the_fault(seg, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        _union(seg)


def test_a_triangle_is_the_smallest_polygon():
    assert _union([[0, 0, 4, 0, 0, 3]]).any()


def test_the_first_person_with_a_mask_is_named_when_the_image_size_is_unknown():
    segs = [("p0", None), ("p1", [[0, 0, 2, 0, 2, 2]]), ("p2", [[0, 0, 2, 0, 2, 2]])]
    with pytest.raises(ValueError, match=r"^p1: a segmentation needs the image's width and height$"):
        foreground_from_segmentations(segs, None)


def test_the_second_persons_fault_names_the_second_person():
    with pytest.raises(ValueError, match=r"^p1: segmentation.size"):
        _union([[0, 0, 2, 0, 2, 2]], {"size": [1, 1], "counts": [1]})


# ---------------------------------------------------------------------------------------------- export masks
def _doc(tmp_path, fg: np.ndarray | None) -> Annotation:
    doc = Annotation(str(tmp_path / "a.png"), (fg.shape[1], fg.shape[0]), foreground=fg)
    doc.save(tmp_path / "a.json")
    return Annotation.load(tmp_path / "a.json", layers=False)  # the foreground stays on disk, as streaming does


def _decoded(record: dict) -> np.ndarray:
    seg = record["segmentation"]
    return mask_utils.decode({"size": seg["size"], "counts": seg["counts"].encode("ascii")}).astype(bool)


def test_boxes_at_the_image_edge_keep_their_first_row_and_column(tmp_path):
    fg = np.ones((5, 6), bool)
    doc = _doc(tmp_path, fg)
    assert doc.foreground is None
    records = [{"bbox": [0.0, 0.0, 2.0, 2.0]}, {"bbox": [2.5, 1.2, 2.0, 2.0]}]
    add_person_masks(doc, records)
    first = np.zeros_like(fg)
    first[0:2, 0:2] = True
    second = np.zeros_like(fg)
    second[1:4, 2:5] = True  # floor 2.5 -> 2, ceil 4.5 -> 5; floor 1.2 -> 1, ceil 3.2 -> 4
    assert np.array_equal(_decoded(records[0]), first) and np.array_equal(_decoded(records[1]), second)


def test_a_missing_or_mis_sized_foreground_file_is_named(tmp_path):
    doc = _doc(tmp_path, np.ones((5, 6), bool))
    (tmp_path / "a_fg.png").unlink()
    with pytest.raises(ValueError, match=r"^its foreground side file .*a_fg\.png is missing$"):
        add_person_masks(doc, [{"bbox": [0, 0, 1, 1]}])
    doc = Annotation(str(tmp_path / "b.png"), (5, 4))
    doc.foreground = np.ones((4, 6), bool)  # set after construction: the document's own check is bypassed
    with pytest.raises(ValueError, match=r"^its foreground is 6x4, the image is 5x4$"):
        add_person_masks(doc, [{"bbox": [0, 0, 1, 1]}])


# ---------------------------------------------------------------------------------------------- side files
def test_image_fields_name_every_layer_on_disk(tmp_path):
    fg = np.zeros((3, 4), bool)
    fg[1, 1] = True
    doc = _doc(tmp_path, fg)  # a foreground but no part map: the first layer is absent, the rest still named
    assert image_fields(doc, tmp_path) == {"sapiens_layers": {"foreground": "a_fg.png"}}
    (tmp_path / "a_fg.png").unlink()
    with pytest.raises(ValueError, match=r"^its foreground side file .*a_fg\.png is missing$"):
        image_fields(doc, tmp_path)


@pytest.mark.parametrize(
    "entry, message",
    [
        ([1, 2], r"sapiens_layers must map layer names to file names, not \[1, 2\]$"),
        ({"alpha": "x.png"}, r"sapiens_layers: unknown layer 'alpha' \(known: part_map, foreground, depth, normal\)$"),
        ({"foreground": ""}, r"sapiens_layers.foreground must be a file name, not ''$"),
        ({"foreground": 5}, r"sapiens_layers.foreground must be a file name, not 5$"),
    ],
)
def test_side_file_fields_are_refused_naming_the_field(tmp_path, entry, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        read_layers(entry, tmp_path)


def test_an_unreadable_side_file_gives_the_systems_reason(tmp_path):
    (tmp_path / "a_fg.png").mkdir()  # a folder where the file should be
    with pytest.raises(ValueError, match=r"^sapiens_layers.foreground: cannot read .*a_fg\.png \(Is a directory\)$"):
        read_layers({"foreground": "a_fg.png"}, tmp_path)


def test_a_long_value_is_cut_to_sixty_characters_in_messages(tmp_path):
    with pytest.raises(ValueError, match=r"not '" + "x" * 58 + "'$"):  # its repr is exactly 60 characters: whole
        read_layers("x" * 58, tmp_path)
    with pytest.raises(ValueError, match=r"not '" + "x" * 56 + r"\.\.\.$"):  # 61: 57 characters and an ellipsis
        read_layers("x" * 59, tmp_path)
