"""Painting in the core: the pixels a brush segment, a polygon and a flood fill cover (checked against a
second formulation: distances to the segment's end points and its line, the crossing-number point-in-polygon test, a
breadth-first search), and tile edits (one stroke one step, undo/redo exact, memory of the touched tiles only,
"paint only over", creating a layer with the first stroke)."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sapiens_core.annotation import Annotation
from sapiens_core.annotation.history import History
from sapiens_core.annotation.shapes import flood_mask, polygon_mask, segment_mask
from sapiens_core.annotation.tile_edits import TILE, CreateLayer, TilePatch, paint_region

H, W = 150, 200


def _full(shape, patch) -> np.ndarray:
    out = np.zeros(shape[:2], bool)
    if patch is not None:
        y0, x0, mask = patch
        out[y0 : y0 + mask.shape[0], x0 : x0 + mask.shape[1]] = mask
    return out


def _inside(polygon, x, y) -> np.ndarray:
    """Point in polygon by the classic crossing test (W. R. Franklin's PNPOLY), one pixel centre at a time."""
    inside = np.zeros(np.shape(x), bool)
    pts = [tuple(map(float, p)) for p in polygon]
    for (xi, yi), (xj, yj) in zip(pts, pts[-1:] + pts[:-1]):
        with np.errstate(divide="ignore", invalid="ignore"):
            crosses = ((yi > y) != (yj > y)) & (x < (xj - xi) * (y - yi) / (yj - yi) + xi)
        inside ^= crosses
    return inside


def _centres(h, w):
    yy, xx = np.mgrid[0:h, 0:w]
    return xx + 0.5, yy + 0.5


def _capsule(h, w, p0, p1, r):
    """Distance from each pixel centre to the segment: the nearer end point, or the line when the foot of the
    perpendicular falls between them."""
    cx, cy = _centres(h, w)
    (ax, ay), (bx, by) = p0, p1
    d_end = np.minimum(np.hypot(cx - ax, cy - ay), np.hypot(cx - bx, cy - by))
    length = np.hypot(bx - ax, by - ay)
    if length == 0:
        return d_end <= r
    ux, uy = (bx - ax) / length, (by - ay) / length
    along = (cx - ax) * ux + (cy - ay) * uy
    across = np.abs((cx - ax) * uy - (cy - ay) * ux)
    d = np.where((along >= 0) & (along <= length), np.minimum(across, d_end), d_end)
    return d <= r + 1e-9


@pytest.mark.parametrize(
    "p0, p1, r",
    [
        ((50.3, 40.7), (50.3, 40.7), 6.0),
        ((10, 10), (90.5, 60.25), 4.5),
        ((-5, 20), (30, -8), 7),
        ((195, 145), (260, 170), 9),
    ],
)
def test_segment_covers_pixels_whose_centre_is_within_the_radius(p0, p1, r):
    got = _full((H, W), segment_mask((H, W), p0, p1, r))
    expected = _capsule(H, W, p0, p1, r)
    for x, y in (p0, p1):  # the pixel under each end point, when on the map
        if 0 <= x < W and 0 <= y < H:
            expected[int(y), int(x)] = True
    assert np.array_equal(got, expected)


def test_a_one_pixel_brush_on_a_pixel_corner_paints_the_pixel_under_it():
    got = _full((H, W), segment_mask((H, W), (7, 3), (7, 3), 0.5))
    assert np.argwhere(got).tolist() == [[3, 7]]
    assert segment_mask((H, W), (-20, -20), (-10, -10), 3) is None


@pytest.mark.parametrize("seed", range(5))
def test_polygon_covers_pixels_whose_centre_is_inside(seed):
    rng = np.random.default_rng(seed)
    angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
    radii = rng.uniform(20, 90, 9)
    pts = np.stack([100 + radii * np.cos(angles), 70 + radii * np.sin(angles)], axis=1)  # star-shaped, may leave
    got = _full((H, W), polygon_mask((H, W), pts))
    cx, cy = _centres(H, W)
    expected = _inside(pts, cx, cy)
    assert got.sum() > 500 and np.array_equal(got, expected)
    assert polygon_mask((H, W), pts[:2]) is None


def _bfs(array, i, j):
    seen = np.zeros(array.shape, bool)
    todo = deque([(i, j)])
    seen[i, j] = True
    while todo:
        a, b = todo.popleft()
        for c, d in ((a + 1, b), (a - 1, b), (a, b + 1), (a, b - 1)):
            if 0 <= c < array.shape[0] and 0 <= d < array.shape[1] and not seen[c, d] and array[c, d] == array[i, j]:
                seen[c, d] = True
                todo.append((c, d))
    return seen


def test_flood_fill_region_is_the_4_connected_same_class_region():
    rng = np.random.default_rng(3)
    array = (rng.random((40, 50)) < 0.35).astype(np.uint8) * 4
    array[20, :] = 4  # a wall; diagonal contacts do not connect
    for x, y in ((3.5, 2.2), (10, 30), (49.9, 39.9)):
        got = _full(array.shape, flood_mask(array, x, y))
        assert np.array_equal(got, _bfs(array, int(y), int(x)))
    assert flood_mask(array, -1, 3) is None
    mask = np.zeros((40, 50), bool)
    mask[5:9, 5:9] = True
    assert np.array_equal(_full(mask.shape, flood_mask(mask, 6, 6)), mask)


# ------------------------------------------------------------------------------------------------ tile edits


def _doc(part_map=True) -> Annotation:
    pm = np.zeros((H, W), np.uint8)
    pm[40:100, 60:140] = 5
    return Annotation("img.png", (W, H), None, "sapiens_28" if part_map else None, part_map=pm if part_map else None)


def _stroke(history, doc, points, r, value, gesture, only_over=None):
    for p0, p1 in zip(points, points[1:]):
        y0, x0, mask = segment_mask(doc.part_map.shape, p0, p1, r)
        edit = paint_region(doc, "part_map", y0, x0, mask, value, only_over, gesture)
        if edit is not None:
            history.push(edit)
    history.seal()


def test_a_stroke_is_one_step_and_undo_redo_are_exact():
    doc = _doc()
    original = doc.part_map.copy()
    history = History(doc)
    points = [(10 + 9 * k, 12 + 6 * k) for k in range(20)]
    _stroke(history, doc, points, 5, 7, object())
    expected = original.copy()
    for p0, p1 in zip(points, points[1:]):
        expected[_capsule(H, W, p0, p1, 5)] = 7
    assert np.array_equal(doc.part_map, expected)
    assert history.labels == ["paint"]
    history.undo()
    assert np.array_equal(doc.part_map, original)
    history.redo()
    assert np.array_equal(doc.part_map, expected)


def test_a_step_holds_the_touched_tiles_only():
    big = Annotation("img.png", (4000, 3000), None, "sapiens_28", part_map=np.zeros((3000, 4000), np.uint8))
    history = History(big)
    gesture = object()
    for k in range(100):  # a diagonal stroke across the map
        p0, p1 = (40 * k, 30 * k), (40 * (k + 1), 30 * (k + 1))
        y0, x0, mask = segment_mask((3000, 4000), p0, p1, 10)
        history.push(paint_region(big, "part_map", y0, x0, mask, 3, gesture=gesture))
    edit = history._done[-1]
    assert isinstance(edit, TilePatch) and len(history._done) == 1
    painted = np.argwhere(big.part_map == 3)
    tiles = {(int(i) // TILE, int(j) // TILE) for i, j in painted}
    assert set(edit.tiles) == tiles
    # per tile: the layer before and after (a byte a pixel each), the painted mark before and after (a bit each)
    assert edit.nbytes <= 256 + len(tiles) * (64 + 2 * TILE * TILE + 2 * TILE * TILE // 8)
    assert edit.nbytes < 12_000_000 / 10  # far below one full-map snapshot


def test_paint_only_over_a_class_and_nothing_to_change_is_no_step():
    doc = _doc()
    history = History(doc)
    y0, x0, mask = segment_mask((H, W), (60, 50), (150, 50), 15)
    history.push(paint_region(doc, "part_map", y0, x0, mask, 9, only_over=5))
    covered = _capsule(H, W, (60, 50), (150, 50), 15)
    inside = np.zeros((H, W), bool)
    inside[40:100, 60:140] = True
    assert np.array_equal(doc.part_map == 9, covered & inside)
    assert paint_region(doc, "part_map", y0, x0, mask, 9, only_over=5) is None  # all of class 5 there is 9 now
    assert paint_region(doc, "part_map", 0, 0, np.ones((3, 3), bool), 0) is None  # background over background
    with pytest.raises(IndexError):
        paint_region(doc, "part_map", H - 2, 0, np.ones((3, 3), bool), 1)


def test_the_first_stroke_on_a_document_without_a_part_map_creates_it_in_the_same_step():
    doc = _doc(part_map=False)
    history = History(doc)
    gesture = object()
    history.push(CreateLayer("part_map", gesture=gesture))
    assert doc.part_map is not None and doc.class_schema == "sapiens_28" and not doc.part_map.any()
    _stroke(history, doc, [(20, 20), (60, 30)], 4, 12, gesture)
    painted = doc.part_map.copy()
    assert (painted == 12).sum() == _capsule(H, W, (20, 20), (60, 30), 4).sum()
    assert len(history.labels) == 1
    history.undo()
    assert doc.part_map is None and doc.class_schema is None
    history.redo()
    assert np.array_equal(doc.part_map, painted) and doc.class_schema == "sapiens_28"
    with pytest.raises(ValueError):
        CreateLayer("part_map").apply(doc)


def test_person_mask_paints_as_booleans():
    doc = Annotation("img.png", (W, H), None, None, foreground=np.zeros((H, W), bool))
    history = History(doc)
    y0, x0, mask = segment_mask((H, W), (30, 30), (30, 30), 5)
    history.push(paint_region(doc, "foreground", y0, x0, mask, True))
    assert doc.foreground.dtype == bool and doc.foreground.sum() == _capsule(H, W, (30, 30), (30, 30), 5).sum()
    history.push(paint_region(doc, "foreground", y0, x0, mask, False))
    assert not doc.foreground.any()
    history.undo()
    assert doc.foreground.sum() == mask.sum()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, W - 1),
            st.integers(0, H - 1),
            st.integers(0, W - 1),
            st.integers(0, H - 1),
            st.integers(1, 30),
            st.integers(0, 27),
            st.booleans(),
            st.sampled_from([None, 0, 5]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_any_sequence_of_strokes_undoes_to_the_original_and_redoes_to_the_edited_map(dabs):
    doc = _doc()
    original = doc.part_map.copy()
    history = History(doc)
    gesture = object()
    for x0, y0, x1, y1, r, value, new_stroke, only_over in dabs:
        if new_stroke:
            history.seal()
            gesture = object()
        y, x, mask = segment_mask((H, W), (x0, y0), (x1, y1), r)
        edit = paint_region(doc, "part_map", y, x, mask, value, only_over, gesture)
        if edit is not None:
            history.push(edit)
    edited = doc.part_map.copy()
    while history.can_undo:
        history.undo()
    assert np.array_equal(doc.part_map, original)
    while history.can_redo:
        history.redo()
    assert np.array_equal(doc.part_map, edited)
