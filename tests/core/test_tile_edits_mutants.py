"""Painting edits in detail: which pixels and tiles a region touches across tile borders and at the map's ragged
last tiles, what undo and redo restore (the layer and the marks of painted pixels, including a mark layer the
stroke created), which dabs merge into one step, and what creating a layer with the first stroke sets and undoes.

The map is 130 x 70, so its 64-pixel tiles are 2 rows by 3 columns with a short last row and column. Expected
pixels are written out by hand as rectangles of the map, never computed by the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from sapiens_core.annotation import Annotation
from sapiens_core.annotation.edits import Change, SetReviewed
from sapiens_core.annotation.history import History
from sapiens_core.annotation.tile_edits import CreateLayer, TilePatch, paint_mask, paint_region

W, H = 130, 70


def _doc(**fields) -> Annotation:
    part_map = np.zeros((H, W), np.uint8)
    part_map[:, 100:] = 4  # class 4 right of column 100
    fields.setdefault("part_map", part_map)
    return Annotation("a.png", (W, H), None, "sapiens_28", **fields)


def _box(y0, y1, x0, x1) -> np.ndarray:
    out = np.zeros((H, W), bool)
    out[y0:y1, x0:x1] = True
    return out


def test_a_region_across_four_tiles_paints_exactly_its_pixels_and_marks_them():
    doc = _doc()
    before = doc.part_map.copy()
    history = History(doc)
    edit = paint_region(doc, "part_map", 60, 60, np.ones((8, 10), bool), 7)
    change = history.push(edit)
    assert change == Change(layers={"part_map": (60, 60, 68, 70)})
    expected = before.copy()
    expected[60:68, 60:70] = 7
    np.testing.assert_array_equal(doc.part_map, expected)
    np.testing.assert_array_equal(doc.part_map_human, _box(60, 68, 60, 70))
    assert sorted(edit.tiles) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert history.undo() == Change(layers={"part_map": (60, 60, 68, 70)})
    np.testing.assert_array_equal(doc.part_map, before)
    assert doc.part_map_human is None  # this stroke made the mark layer: undo removes it
    history.redo()
    np.testing.assert_array_equal(doc.part_map, expected)
    np.testing.assert_array_equal(doc.part_map_human, _box(60, 68, 60, 70))


def test_the_ragged_last_tiles_paint_undo_and_redo_with_their_marks():
    doc = _doc()
    human = _box(0, 2, 0, 2)  # pixels painted earlier stay marked through all of this
    doc.part_map_human = human.copy()
    history = History(doc)
    # The bottom-right corner: rows 66-69 of the short tile row, columns 125-127 of a full tile column and
    # 128-129 of the short one.
    edit = paint_region(doc, "part_map", 66, 125, np.ones((4, 5), bool), 9)
    history.push(edit)
    assert sorted(edit.tiles) == [(1, 1), (1, 2)] and doc.part_map[66:, 125:].min() == 9
    np.testing.assert_array_equal(doc.part_map_human, human | _box(66, 70, 125, 130))
    history.undo()
    np.testing.assert_array_equal(doc.part_map_human, human)  # the earlier marks stay: the layer existed
    assert doc.part_map[66:, 125:].max() == 4
    history.redo()
    np.testing.assert_array_equal(doc.part_map_human, human | _box(66, 70, 125, 130))
    assert doc.part_map[66:, 125:].min() == 9 and (doc.part_map[:66] != 9).all()


def test_only_the_pixels_of_the_mask_are_painted_and_tiles_it_misses_are_not_held():
    doc = _doc()
    mask = np.zeros((10, 12), bool)  # a region over tiles (0,0), (0,1), (1,0), (1,1) ...
    mask[:4, :] = True  # ... whose pixels lie in the top tile row only
    mask[4:, 0] = False
    edit = TilePatch("part_map", 58, 60, mask, 3)
    edit.apply(doc)
    assert sorted(edit.tiles) == [(0, 0), (0, 1)]
    np.testing.assert_array_equal(doc.part_map == 3, _box(58, 62, 60, 72))
    np.testing.assert_array_equal(doc.part_map_human, _box(58, 62, 60, 72))
    held = sum(a.nbytes for tiles in edit.tiles.values() for a in tiles)
    assert held <= edit.nbytes <= 256 + 64 * len(edit.tiles) + held
    assert TilePatch("part_map", 0, 0, mask, 3).nbytes >= mask.nbytes  # before its first apply: the mask


@pytest.mark.parametrize("y0, x0", [(-1, 0), (0, -1), (H - 3, 0), (0, W - 3)])
def test_a_region_past_the_map_is_refused(y0, x0):
    doc = _doc()
    with pytest.raises(IndexError):
        paint_region(doc, "part_map", y0, x0, np.ones((4, 4), bool), 1)
    with pytest.raises(IndexError):
        TilePatch("part_map", y0, x0, np.ones((4, 4), bool), 1).apply(doc)
    np.testing.assert_array_equal(doc.part_map, _doc().part_map)
    paint_region(doc, "part_map", H - 4, W - 4, np.ones((4, 4), bool), 1).apply(doc)  # flush with the edge: fine
    assert doc.part_map[H - 1, W - 1] == 1


def test_layers_that_cannot_be_painted_or_are_missing():
    for layer in ("depth", "normal", "part_map_human"):
        with pytest.raises(ValueError):
            TilePatch(layer, 0, 0, np.ones((2, 2), bool), 1)
        with pytest.raises(ValueError):
            CreateLayer(layer)
    doc = _doc(part_map=None)
    with pytest.raises(ValueError):
        paint_region(doc, "part_map", 0, 0, np.ones((2, 2), bool), 1)
    with pytest.raises(ValueError):
        paint_mask(doc, "part_map", np.ones((H, W), bool), 1)


def test_a_region_shrinks_to_the_pixels_that_change():
    doc = _doc()
    doc.part_map[10:15, 10:12] = 6  # the left two columns of the region already have the value
    edit = paint_region(doc, "part_map", 10, 10, np.ones((5, 5), bool), 6, gesture="g", label="fill")
    assert edit.rect == (10, 12, 15, 15) and edit.label == "fill" and edit.gesture == "g"
    # Only over class 4 (columns 100+): a region over columns 98-102 paints columns 100-102.
    edit = paint_region(doc, "part_map", 0, 98, np.ones((3, 5), bool), 8, only_over=4)
    assert edit.rect == (0, 100, 3, 103)
    edit.apply(doc)
    np.testing.assert_array_equal(doc.part_map == 8, _box(0, 3, 100, 103))
    assert paint_region(doc, "part_map", 0, 98, np.ones((3, 5), bool), 8, only_over=4) is None


def test_paint_mask_finds_the_masks_rectangle_and_passes_the_lock_and_gesture_on():
    doc = _doc()
    mask = _box(5, 9, 95, 105)
    edit = paint_mask(doc, "part_map", mask, 2, only_over=4, gesture="g")
    assert edit.rect == (5, 100, 9, 105) and edit.gesture == "g"
    edit.apply(doc)
    np.testing.assert_array_equal(doc.part_map == 2, _box(5, 9, 100, 105))
    with pytest.raises(ValueError):
        paint_mask(doc, "part_map", np.ones((H, W - 1), bool), 2)
    assert paint_mask(doc, "part_map", np.zeros((H, W), bool), 2) is None


def test_dabs_of_one_stroke_are_one_step_from_the_oldest_tiles_to_the_newest():
    doc = _doc()
    before = doc.part_map.copy()
    g = object()
    history = History(doc)
    history.push(paint_region(doc, "part_map", 10, 50, np.ones((6, 6), bool), 5, gesture=g))  # tile (0,0)
    history.push(paint_region(doc, "part_map", 12, 53, np.ones((6, 20), bool), 6, gesture=g))  # (0,0) and (0,1)
    assert len(history.labels) == 1
    after = doc.part_map.copy()
    expected = before.copy()
    expected[10:16, 50:56] = 5
    expected[12:18, 53:73] = 6
    np.testing.assert_array_equal(after, expected)
    change = history.undo()
    assert change == Change(layers={"part_map": (10, 50, 18, 73)})  # both dabs' rectangles
    np.testing.assert_array_equal(doc.part_map, before)
    assert doc.part_map_human is None
    history.redo()
    np.testing.assert_array_equal(doc.part_map, after)
    np.testing.assert_array_equal(doc.part_map_human, _box(10, 16, 50, 56) | _box(12, 18, 53, 73))


def test_dabs_that_are_not_one_stroke_are_separate_steps():
    doc = _doc(foreground=np.zeros((H, W), bool))
    g = object()
    first = paint_region(doc, "part_map", 0, 0, np.ones((2, 2), bool), 5, gesture=g)
    first.apply(doc)
    dab = np.ones((2, 2), bool)
    assert not first.merge(paint_region(doc, "foreground", 0, 0, dab, True, gesture=g))  # another layer
    assert not first.merge(TilePatch("part_map", 4, 4, dab, 5, gesture=g))  # not applied yet
    other = paint_region(doc, "part_map", 4, 4, dab, 5, gesture=object())
    other.apply(doc)
    assert not first.merge(other)  # another gesture
    assert not first.merge(SetReviewed(True))
    alone = paint_region(doc, "part_map", 8, 8, dab, 5)
    alone.apply(doc)
    again = paint_region(doc, "part_map", 10, 10, dab, 5)
    again.apply(doc)
    assert not alone.merge(again)  # no gesture: two clicks
    assert first.rect == (0, 0, 2, 2)


def test_a_person_mask_is_painted_true_and_false_and_marked_both_times():
    doc = _doc(foreground=np.zeros((H, W), bool))
    history = History(doc)
    history.push(paint_mask(doc, "foreground", _box(0, 4, 0, 4), True))
    history.push(paint_mask(doc, "foreground", _box(2, 6, 2, 6), False))
    np.testing.assert_array_equal(doc.foreground, _box(0, 4, 0, 4) & ~_box(2, 6, 2, 6))
    # Both strokes are a person's decision, the erased pixels too; only the erase's changed pixels count.
    np.testing.assert_array_equal(doc.foreground_human, _box(0, 4, 0, 4))
    assert doc.part_map_human is None
    history.undo()
    np.testing.assert_array_equal(doc.foreground, _box(0, 4, 0, 4))


# ------------------------------------------------------------------------------------------------ CreateLayer


def test_creating_a_part_map_with_the_first_stroke_and_undoing_both():
    doc = _doc(part_map=None)
    doc.class_schema = None
    g = object()
    history = History(doc)
    create = CreateLayer("part_map", gesture=g)
    assert create.label == "new body-part map"
    change = history.push(create)
    assert change == Change(layers={"part_map": (0, 0, H, W)}, document=True)
    assert doc.part_map.dtype == np.uint8 and doc.part_map.shape == (H, W) and not doc.part_map.any()
    assert doc.class_schema == "sapiens_28"
    history.push(paint_region(doc, "part_map", 0, 0, np.ones((3, 3), bool), 7, gesture=g, label="brush"))
    history.push(paint_region(doc, "part_map", 66, 0, np.ones((3, 3), bool), 8, gesture=g, label="brush"))
    assert history.labels == ["brush (new body-part map)"]
    assert create.nbytes >= 256 + create.paint.nbytes > 256
    painted = doc.part_map.copy()
    assert history.undo() == Change(layers={"part_map": (0, 0, H, W)}, document=True)
    assert doc.part_map is None and doc.part_map_human is None and doc.class_schema is None
    history.redo()
    np.testing.assert_array_equal(doc.part_map, painted)
    np.testing.assert_array_equal(doc.part_map_human, _box(0, 3, 0, 3) | _box(66, 69, 0, 3))


def test_creating_a_person_mask_leaves_the_class_schema_alone():
    doc = _doc(part_map=None)
    doc.class_schema = None
    g = object()
    history = History(doc)
    create = CreateLayer("foreground", gesture=g)
    assert create.label == "new person mask"
    history.push(create)
    assert doc.foreground.dtype == np.bool_ and not doc.foreground.any() and doc.class_schema is None
    history.push(paint_region(doc, "foreground", 0, 0, np.ones((2, 2), bool), True, gesture=g))
    assert history.labels == ["paint (new person mask)"]
    history.undo()
    assert doc.foreground is None and doc.foreground_human is None


def test_creating_a_part_map_keeps_a_class_schema_the_document_has():
    doc = _doc(part_map=None)
    doc.class_schema = "sapiens_20"
    history = History(doc)
    history.push(CreateLayer("part_map", class_schema="sapiens_28"))
    assert doc.class_schema == "sapiens_20"
    history.undo()
    assert doc.class_schema == "sapiens_20"
    doc.class_schema = None
    history.redo()
    assert doc.class_schema == "sapiens_28"
    history.undo()
    assert doc.class_schema is None


def test_a_created_layer_takes_only_strokes_of_its_gesture_and_layer():
    doc = _doc(part_map=None, foreground=np.zeros((H, W), bool))
    g = object()
    create = CreateLayer("part_map", gesture=g)
    create.apply(doc)
    dab = np.ones((2, 2), bool)
    assert not create.merge(paint_region(doc, "foreground", 0, 0, dab, True, gesture=g))
    assert not create.merge(paint_region(doc, "part_map", 0, 0, dab, 1, gesture=object()))
    assert not create.merge(SetReviewed(True))
    assert create.paint is None and create.label == "new body-part map"
    plain = CreateLayer("part_map")
    assert plain.gesture is None and plain.class_schema == "sapiens_28"
    assert not plain.merge(paint_region(doc, "part_map", 0, 0, dab, 1))  # neither has a gesture
    assert create.nbytes >= 256
    # A stroke of the gesture on the layer becomes part of the step; a second dab merges into that stroke.
    first = paint_region(doc, "part_map", 0, 0, dab, 1, gesture=g)
    first.apply(doc)
    assert create.merge(first) and create.paint is first
    second = paint_region(doc, "part_map", 5, 5, dab, 2, gesture=g)
    second.apply(doc)
    assert create.merge(second) and create.paint is first and first.rect == (0, 0, 7, 7)
    other_layer = paint_region(doc, "foreground", 0, 0, dab, True, gesture=g)
    assert not create.merge(other_layer)
    with pytest.raises(ValueError):
        create.apply(doc)  # the layer exists now


# ------------------------------------------------------------------------------------------- boundaries in detail


def test_errors_name_the_layer_and_the_region():
    with pytest.raises(ValueError, match=r"layer 'depth' cannot be painted \(paintable: part_map, foreground\)"):
        TilePatch("depth", 0, 0, np.ones((2, 2), bool), 1)
    with pytest.raises(ValueError, match="layer 'depth' cannot be created for painting"):
        CreateLayer("depth")
    doc = _doc(part_map=None)
    with pytest.raises(ValueError, match="the document has no part_map layer to paint on"):
        paint_region(doc, "part_map", 0, 0, np.ones((2, 2), bool), 1)
    with pytest.raises(ValueError, match="the document has a part_map layer already"):
        CreateLayer("part_map").apply(_doc())
    with pytest.raises(ValueError, match=r"the mask is \(70, 129\), the part_map layer \(70, 130\)"):
        paint_mask(_doc(), "part_map", np.ones((H, W - 1), bool), 2)
    with pytest.raises(IndexError, match=r"the region at \(-1, 0\) of 4x2 lies outside the part_map layer"):
        paint_region(_doc(), "part_map", -1, 0, np.ones((2, 4), bool), 1)
    for y0, x0 in ((-1, 0), (0, -1)):
        with pytest.raises(IndexError, match=r"the painted region \(.*\) lies outside the part_map layer"):
            TilePatch("part_map", y0, x0, np.ones((2, 2), bool), 1).apply(_doc())


def test_a_mask_counts_every_nonzero_value_as_inside():
    for mask in (np.array([[0, 128], [128, 0]], np.uint8), np.array([[0.0, 1.0], [1.0, 0.0]])):
        doc = _doc()
        paint_region(doc, "part_map", 10, 10, mask, 6).apply(doc)
        np.testing.assert_array_equal(doc.part_map == 6, _box(10, 11, 11, 12) | _box(11, 12, 10, 11))
        doc = _doc()
        edit = TilePatch("part_map", 10, 10, (mask > 0).astype(np.uint8), 6)
        assert edit.label == "paint"
        edit.apply(doc)
        np.testing.assert_array_equal(doc.part_map == 6, _box(10, 11, 11, 12) | _box(11, 12, 10, 11))


def test_a_region_ending_on_the_first_pixel_of_a_tile_paints_that_pixel():
    doc = _doc()
    edit = paint_region(doc, "part_map", 60, 60, np.ones((5, 5), bool), 7)  # rows and columns 60..64
    edit.apply(doc)
    np.testing.assert_array_equal(doc.part_map == 7, _box(60, 65, 60, 65))
    assert sorted(edit.tiles) == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_a_region_whose_first_tile_is_empty_still_paints_the_next_one():
    doc = _doc()
    mask = np.zeros((2, 10), bool)
    mask[:, 6:] = True  # columns 64..67 of a region starting at column 58
    TilePatch("part_map", 10, 58, mask, 7).apply(doc)
    np.testing.assert_array_equal(doc.part_map == 7, _box(10, 12, 64, 68))


def test_a_portrait_map_paints_its_lower_tiles():
    doc = Annotation("a.png", (70, 130), None, "sapiens_28", part_map=np.zeros((130, 70), np.uint8))
    history = History(doc)
    history.push(paint_region(doc, "part_map", 100, 60, np.ones((20, 5), bool), 3))  # rows 100..119, tile row 1
    expected = np.zeros((130, 70), bool)
    expected[100:120, 60:65] = True
    np.testing.assert_array_equal(doc.part_map == 3, expected)
    history.undo()
    assert not doc.part_map.any()
    history.redo()
    np.testing.assert_array_equal(doc.part_map == 3, expected)


def test_the_rectangle_of_a_region_is_trimmed_to_the_changed_pixels_on_every_side():
    doc = _doc()
    doc.part_map[20:30, 20:30] = 6
    doc.part_map[22:27, 23:26] = 0  # the only pixels a region over 20..29 changes
    edit = paint_region(doc, "part_map", 20, 20, np.ones((10, 10), bool), 6)
    assert edit.rect == (22, 23, 27, 26)


def test_undo_and_redo_keep_marks_made_before_the_stroke_and_redo_reports_its_rectangle():
    doc = _doc()
    marks = _box(10, 14, 50, 54)  # painted earlier, inside the tile this stroke paints over
    doc.part_map_human = marks.copy()
    g = object()
    history = History(doc)
    history.push(paint_region(doc, "part_map", 12, 52, np.ones((4, 4), bool), 5, gesture=g))
    history.push(paint_region(doc, "part_map", 30, 5, np.ones((2, 2), bool), 5, gesture=g))  # x0 5 < y0 12
    assert len(history.labels) == 1
    assert history.undo() == Change(layers={"part_map": (12, 5, 32, 56)})
    np.testing.assert_array_equal(doc.part_map_human, marks)
    assert history.redo() == Change(layers={"part_map": (12, 5, 32, 56)})
    np.testing.assert_array_equal(doc.part_map_human, marks | _box(12, 16, 52, 56) | _box(30, 32, 5, 7))
    history.undo()
    np.testing.assert_array_equal(doc.part_map_human, marks)
