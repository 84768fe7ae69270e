"""Which pixels a brush dab, a brush segment, a polygon or a flood fill covers, as rectangle-local masks.

Coordinates are image coordinates as the canvas uses them: pixel (row i, column j) covers the square
[j, j+1) x [i, i+1), so its centre is (j + 0.5, i + 0.5). A shape covers a pixel when the pixel's centre lies
inside it. Every function returns ``(y0, x0, mask)``: a boolean mask of the shape's bounding box clipped to
the map, placed at row ``y0``, column ``x0`` (never a full-size mask: a dab on a 12 MP map is a few hundred
pixels of work, not twelve million), or None when the shape covers no pixel of the map.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = ["segment_mask", "polygon_mask", "flood_mask", "Patch"]

Patch = tuple[int, int, np.ndarray]


def _box(shape: tuple[int, int], left: float, top: float, right: float, bottom: float) -> tuple[int, ...] | None:
    """Integer pixel rows/columns whose centres may lie in [left, right] x [top, bottom], clipped to the map."""
    h, w = shape[:2]
    x0, y0 = max(0, math.floor(left - 0.5)), max(0, math.floor(top - 0.5))
    x1, y1 = min(w, math.ceil(right + 0.5)), min(h, math.ceil(bottom + 0.5))
    if x0 >= x1 or y0 >= y1:
        return None
    return y0, x0, y1, x1


def segment_mask(shape: tuple[int, int], p0, p1, radius: float) -> Patch | None:
    """Pixels whose centre lies within ``radius`` of the segment p0-p1 (a disc when p0 == p1): one brush move.

    The pixels under p0 and p1 themselves are always covered, so a 1-pixel brush paints the pixel under the
    cursor even when the cursor sits on a pixel corner."""
    (ax, ay), (bx, by) = (float(v) for v in p0), (float(v) for v in p1)
    r = max(float(radius), 0.0)
    box = _box(shape, min(ax, bx) - r, min(ay, by) - r, max(ax, bx) + r, max(ay, by) + r)
    if box is None:
        return None
    y0, x0, y1, x1 = box
    px = (np.arange(x0, x1, dtype=np.float64) + 0.5 - ax)[None, :]
    py = (np.arange(y0, y1, dtype=np.float64) + 0.5 - ay)[:, None]
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    # The closest point of the segment to each pixel centre, as a fraction t along it.
    t = np.clip((px * dx + py * dy) / length2, 0.0, 1.0) if length2 > 0 else np.zeros((1, 1))
    mask = (px - t * dx) ** 2 + (py - t * dy) ** 2 <= r * r
    h, w = shape[:2]
    for x, y in ((ax, ay), (bx, by)):
        i, j = math.floor(y), math.floor(x)
        if 0 <= i < h and 0 <= j < w and y0 <= i < y1 and x0 <= j < x1:
            mask[i - y0, j - x0] = True
    if not mask.any():
        return None
    return y0, x0, mask


def polygon_mask(shape: tuple[int, int], points) -> Patch | None:
    """Pixels whose centre lies inside the polygon (at least three vertices, in image coordinates; even-odd rule).

    A scanline fill of our own rather than cv2.fillPoly: cv2 also fills every pixel its edges' lines touch,
    about a pixel-wide band outside the outline (a fifth more pixels on a hand-sized polygon), which would
    paint over the neighbouring part the user drew the outline against."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 3 or not np.isfinite(pts).all():
        return None
    box = _box(shape, pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())
    if box is None:
        return None
    y0, x0, y1, x1 = box
    rows, cols = y1 - y0, x1 - x0
    # toggles[i, j] = 1 where an edge crosses row i's centre line left of pixel j's centre; the running parity
    # along the row is then "inside".
    toggles = np.zeros((rows, cols + 1), np.uint8)
    yc = np.arange(y0, y1, dtype=np.float64) + 0.5
    for (ax, ay), (bx, by) in zip(pts, np.roll(pts, -1, axis=0)):
        if ay == by:
            continue  # a horizontal edge crosses no row centre line (half-open rule below)
        crossing = (np.minimum(ay, by) <= yc) & (yc < np.maximum(ay, by))  # half-open: a vertex counts once
        if not crossing.any():
            continue
        i = np.flatnonzero(crossing)
        x = ax + (yc[i] - ay) * (bx - ax) / (by - ay)
        first = np.clip(np.ceil(x - 0.5) - x0, 0, cols).astype(np.int64)  # first column whose centre is >= x
        np.add.at(toggles, (i, first), 1)
    mask = (np.cumsum(toggles, axis=1, dtype=np.int64)[:, :cols] % 2).astype(bool)
    if not mask.any():
        return None
    return y0, x0, mask


def flood_mask(array: np.ndarray, x: float, y: float) -> Patch | None:
    """The 4-connected region of pixels equal to the pixel under (x, y): what a flood fill there replaces."""
    h, w = array.shape[:2]
    j, i = math.floor(x), math.floor(y)
    if not (0 <= i < h and 0 <= j < w):
        return None
    image = np.ascontiguousarray(array.view(np.uint8) if array.dtype == bool else array)
    if image.dtype != np.uint8 or image.ndim != 2:
        raise ValueError(f"flood fill works on 2-D uint8 or bool layers, not {array.dtype} {array.shape}")
    mask = np.zeros((h + 2, w + 2), np.uint8)
    # MASK_ONLY: the layer itself is never written here; the fill becomes an undoable edit elsewhere.
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
    _, _, _, (rx, ry, rw, rh) = cv2.floodFill(image, mask, (j, i), 0, 0, 0, flags)
    if rw <= 0 or rh <= 0:
        return None
    return ry, rx, mask[ry + 1 : ry + 1 + rh, rx + 1 : rx + 1 + rw].astype(bool)
