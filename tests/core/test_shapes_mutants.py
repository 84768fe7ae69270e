"""Brush, polygon and flood-fill coverage at the edges test_tile_edits leaves open: survivors of shapes' mutation
run (tests/mutate.py).

Expected pixels are worked out by hand here: shapes whose edges or rims pass exactly through pixel centres (a pixel
(i, j) has its centre at (j + 0.5, i + 0.5)), integer lattice distances, and the tiling invariant of the half-open
rule (two polygons sharing an edge cover every pixel of their union exactly once, as pixels' own squares do).
"""

from __future__ import annotations

import numpy as np
import pytest

from sapiens_core.annotation.shapes import flood_mask, polygon_mask, segment_mask


def _full(shape, patch) -> np.ndarray:
    out = np.zeros(shape[:2], bool)
    if patch is not None:
        y0, x0, mask = patch
        assert mask.dtype == bool
        out[y0 : y0 + mask.shape[0], x0 : x0 + mask.shape[1]] = mask
    return out


def _pixels(shape, patch) -> set[tuple[int, int]]:
    return {(int(i), int(j)) for i, j in np.argwhere(_full(shape, patch))}


# ------------------------------------------------------------------------------------------------ brush


def test_a_disc_covers_the_pixels_on_its_rim():
    # Centre on the pixel centre of (20, 15), radius 5: the pixels whose (di, dj) has di² + dj² <= 25, the 81
    # lattice points of a radius-5 circle, 12 of them exactly on the rim ((±5, 0), (±3, ±4), (±4, ±3), ...).
    patch = segment_mask((40, 40), (15.5, 20.5), (15.5, 20.5), 5)
    expected = {(20 + di, 15 + dj) for di in range(-5, 6) for dj in range(-5, 6) if di * di + dj * dj <= 25}
    assert len(expected) == 81
    assert _pixels((40, 40), patch) == expected


def test_a_segment_shorter_than_a_pixel_is_still_a_capsule_not_a_disc_at_its_start():
    # 0.8 px along x, radius 2: pixel (10, 12), centre (12.5, 10.5), is 1.5 from the end point (11, 10.5) but 2.3
    # from the start point; pixel (10, 13) is 2.5 from the end: outside.
    got = _pixels((30, 30), segment_mask((30, 30), (10.2, 10.5), (11.0, 10.5), 2))
    assert (10, 12) in got
    assert (10, 13) not in got
    assert (10, 8) in got  # 1.7 left of the start
    assert (10, 7) not in got  # 2.7 left of the start


@pytest.mark.parametrize("point, pixel", [((7.0, 0.0), (0, 7)), ((0.0, 7.0), (7, 0)), ((0.0, 0.0), (0, 0))])
def test_a_one_pixel_brush_on_a_corner_of_the_first_row_or_column_paints_the_pixel_under_it(point, pixel):
    # Every pixel centre is sqrt(0.5) > 0.5 from a pixel corner: only the pixel under the cursor is painted.
    assert _pixels((20, 20), segment_mask((20, 20), point, point, 0.5)) == {pixel}


def test_a_tiny_brush_in_a_pixels_lower_right_quarter_paints_that_pixel():
    # (7.7, 3.7) with radius 0.1: the pixel centre (7.5, 3.5) is 0.28 away, so only the forced pixel under the
    # cursor; it is also the first row and column of the brush's bounding box.
    assert _pixels((20, 20), segment_mask((20, 20), (7.7, 3.7), (7.7, 3.7), 0.1)) == {(3, 7)}


def test_an_images_shape_with_channels_gives_the_same_patches_as_its_height_and_width():
    a = segment_mask((30, 40, 3), (5.2, 6.1), (20.7, 12.3), 3)
    b = segment_mask((30, 40), (5.2, 6.1), (20.7, 12.3), 3)
    assert a[:2] == b[:2] and np.array_equal(a[2], b[2])
    square = [(3.5, 4.5), (12.5, 4.5), (12.5, 9.5), (3.5, 9.5)]
    assert _pixels((30, 40), polygon_mask((30, 40, 3), square)) == _pixels((30, 40), polygon_mask((30, 40), square))


# ------------------------------------------------------------------------------------------------ polygon

RECT = [(10.5, 20.5), (30.5, 20.5), (30.5, 40.5), (10.5, 40.5)]  # starts with a horizontal edge


def test_a_rectangle_on_pixel_centres_covers_its_area_top_and_left_edges_included():
    # x in [10.5, 30.5), y in [20.5, 40.5) for the centres: rows 20..39, columns 10..29, 400 pixels = its area.
    got = _pixels((60, 50), polygon_mask((60, 50), RECT))
    assert got == {(i, j) for i in range(20, 40) for j in range(10, 30)}


def test_polygons_sharing_an_edge_through_pixel_centres_cover_each_pixel_once():
    left = [(10.5, 20.5), (20.5, 20.5), (20.5, 40.5), (10.5, 40.5)]
    right = [(20.5, 20.5), (30.5, 20.5), (30.5, 40.5), (20.5, 40.5)]
    top = [(10.5, 20.5), (30.5, 20.5), (30.5, 30.5), (10.5, 30.5)]
    bottom = [(10.5, 30.5), (30.5, 30.5), (30.5, 40.5), (10.5, 40.5)]
    whole = _pixels((60, 50), polygon_mask((60, 50), RECT))
    for a, b in ((left, right), (top, bottom)):
        pa, pb = _pixels((60, 50), polygon_mask((60, 50), a)), _pixels((60, 50), polygon_mask((60, 50), b))
        assert not pa & pb
        assert pa | pb == whole


def test_a_triangle_is_filled_and_with_its_mirror_tiles_the_square():
    # Hypotenuse x = 30.5 - i on row i's centre line: row i (10..19) covers columns 10 .. 29 - i.
    lower = [(10.5, 10.5), (20.5, 10.5), (10.5, 20.5)]
    upper = [(20.5, 10.5), (20.5, 20.5), (10.5, 20.5)]
    got = _pixels((40, 40), polygon_mask((40, 40), lower))
    assert got == {(i, j) for i in range(10, 20) for j in range(10, 30 - i)}
    assert len(got) == 55
    other = _pixels((40, 40), polygon_mask((40, 40), upper))
    assert not got & other
    assert got | other == {(i, j) for i in range(10, 20) for j in range(10, 20)}


def test_a_tall_thin_rectangle_far_right_of_its_top_is_filled_where_it_is():
    # The box's left is the smallest x (2.5), not the smallest y (20.5).
    got = _pixels((40, 40), polygon_mask((40, 40), [(2.5, 20.5), (8.5, 20.5), (8.5, 25.5), (2.5, 25.5)]))
    assert got == {(i, j) for i in range(20, 25) for j in range(2, 8)}


def test_polygons_reaching_past_the_left_or_right_edge_are_clipped_to_the_map():
    shape = (30, 40)
    # Centres x in [-5.2, 20.3): columns 0..19; y in [3.5, 10.5): rows 3..9.
    got = _pixels(shape, polygon_mask(shape, [(-5.2, 3.5), (20.3, 3.5), (20.3, 10.5), (-5.2, 10.5)]))
    assert got == {(i, j) for i in range(3, 10) for j in range(0, 20)}
    # Centres x in [30.3, 50): columns 30..39 (the map ends at 40); y in [3, 10): rows 3..9.
    got = _pixels(shape, polygon_mask(shape, [(30.3, 3.0), (50.0, 3.0), (50.0, 10.0), (30.3, 10.0)]))
    assert got == {(i, j) for i in range(3, 10) for j in range(30, 40)}


def test_polygons_entirely_off_the_map_beside_or_below_it_cover_nothing():
    shape = (30, 40)
    assert polygon_mask(shape, [(50.0, 3.0), (60.0, 3.0), (60.0, 10.0), (50.0, 10.0)]) is None
    assert polygon_mask(shape, [(3.0, 50.0), (10.0, 50.0), (10.0, 60.0), (3.0, 60.0)]) is None


def test_a_polygon_with_a_non_finite_vertex_covers_nothing():
    assert polygon_mask((40, 40), [(1.0, 1.0), (20.0, 1.0), (np.nan, 20.0), (1.0, 20.0)]) is None
    assert polygon_mask((40, 40), [(1.0, 1.0), (20.0, 1.0), (np.inf, 20.0)]) is None


# ------------------------------------------------------------------------------------------------ flood fill


def test_flood_fill_from_the_first_row_and_column_and_refuses_clicks_just_past_the_map():
    array = np.zeros((6, 8), np.uint8)
    array[3, :] = 5  # a wall across: the top region is rows 0..2
    top = {(i, j) for i in range(3) for j in range(8)}
    for x, y in ((0.2, 1.5), (4.5, 0.1), (0.0, 0.0)):
        assert _pixels(array.shape, flood_mask(array, x, y)) == top
    assert flood_mask(array, 3.0, 6.0) is None  # y == height: off the bottom
    assert flood_mask(array, 8.0, 2.0) is None  # x == width: off the right
    assert flood_mask(array, 3.0, -0.1) is None


def test_flood_fill_stops_at_the_neighbouring_class_id():
    # Classes 3 and 4 side by side: ids one apart are different classes.
    array = np.full((5, 6), 3, np.uint8)
    array[:, 3:] = 4
    assert _pixels(array.shape, flood_mask(array, 1, 1)) == {(i, j) for i in range(5) for j in range(3)}
    assert _pixels(array.shape, flood_mask(array, 4, 1)) == {(i, j) for i in range(5) for j in range(3, 6)}


def test_flood_fill_of_one_pixel_wide_lines_and_a_single_pixel():
    array = np.zeros((7, 9), np.uint8)
    array[1:6, 4] = 2  # a column
    array[3, 6:9] = 7  # a row
    array[0, 0] = 9  # a pixel
    assert _pixels(array.shape, flood_mask(array, 4.5, 2.5)) == {(i, 4) for i in range(1, 6)}
    assert _pixels(array.shape, flood_mask(array, 7.5, 3.5)) == {(3, j) for j in range(6, 9)}
    assert _pixels(array.shape, flood_mask(array, 0.5, 0.5)) == {(0, 0)}


def test_flood_fill_leaves_the_layer_untouched():
    array = np.zeros((5, 5), np.uint8)
    array[2, :] = 1
    before = array.copy()
    flood_mask(array, 1, 1)
    assert np.array_equal(array, before)


@pytest.mark.parametrize(
    "array",
    [np.zeros((5, 6), np.int16), np.zeros((5, 6), np.float32), np.zeros((5, 6, 3), np.uint8)],
    ids=["int16", "float32", "rgb"],
)
def test_flood_fill_refuses_layers_that_are_not_2d_uint8_or_bool(array):
    with pytest.raises(ValueError, match="2-D uint8 or bool layers, not"):
        flood_mask(array, 1, 1)
