"""Heatmap -> keypoint decoding: argmax + DARK-UDP sub-pixel refinement (spec §2.1, steps 1-4).

Two implementations with one contract, ``(N, K, h, w) float32 -> (coords (N, K, 2) in heatmap pixels, scores (N, K))``:

* ``decode_heatmaps_reference`` does what mmpose's ``UDPHeatmap.decode`` does: blur every whole map, log it, and
  read the derivatives at the argmax. It is the baseline the fast version is tested and benchmarked against.
* ``decode_heatmaps`` gets the same numbers from a 13x13 window around each argmax. The refinement reads the
  blurred log-map only at the argmax and its (edge-clamped) neighbours, and each blurred value there is a
  weighted sum over an 11x11 window of the original map, so blurring 49k pixels per channel is wasted work.

The one whole-map quantity in the reference is the rescale ``blurred *= max(original) / max(blurred)``. It only
adds ``log(c)`` to every log value, which cancels in every derivative -- unless the clip to [1e-3, 50] touches
one of the values we read. Since ``B(argmax-window) <= max(blurred) <= max(original)`` (the kernel is positive and
sums to at most 1 after zero padding), ``c`` lies in a known interval; when no ``c`` in that interval can make
a read value clip, the fast path is exact up to float rounding. Otherwise (faint or strange maps) that channel
falls back to the reference computation, so the output never depends on a guess about where the blurred max is.

Precision. mmpose does all this in float32, and then its answer is partly float32 rounding noise: on a flat or
mirror-symmetric neighbourhood the true derivatives are 0, the Hessian is eps*I, and an ulp of noise in the
gradient divided by eps = 1.2e-7 moves the point by anything from 0.3 px to 1e7 px (a constant 9x2 map of 0.88
gives x = -2.2e7), and where the Newton step leaves the 3x3 neighbourhood (noise argmax, tens of px) the rounding is
amplified accordingly. No second implementation can reproduce rounding noise, so both versions here work in
float64 and treat derivatives below ``_FLAT`` (1e-9, ~1e5x the float64 noise, ~1e7x flatter than any real peak)
as exactly 0. Over 10 000 random maps (flat, mirror-symmetric, noisy, faint, > 50, border peaks) the two gave
identical float32 outputs. ``decode_heatmaps_reference(..., precision="float32")`` is mmpose's arithmetic
verbatim, for comparisons with mmpose; on real peaks it differs from float64 by < 1e-4 px.

Invalid points (max <= 0) get location (-1, -1) and keep their score. mmpose still runs its "refinement" on
them, reading memory of neighbouring channels; that number is meaningless, so both versions skip it.
"""

from __future__ import annotations

import cv2
import numpy as np

BLUR_KERNEL = 11  # mmpose's blur_kernel_size for UDP (even with sigma=6; spec §2.1)
_RADIUS = (BLUR_KERNEL - 1) // 2
_CLIP_LO, _CLIP_HI = 1e-3, 50.0
_EPS = float(np.finfo(np.float32).eps)  # Hessian regulariser, as mmpose
# OpenCV derives sigma 0.3*((11-1)/2-1)+0.8 = 2.0 from ksize 11; taking its own (float64) kernel keeps the
# weights identical to cv2.GaussianBlur on a float64 map.
_KERNEL_1D = cv2.getGaussianKernel(BLUR_KERNEL, 0, cv2.CV_64F).ravel()
# Relative slack for "no clip can happen": covers rounding of the reference's blur and of the kernel sum.
_SLACK = 1e-6
_FLAT = 1e-9  # |derivative| below this is rounding noise of a flat log-map (float64 noise is ~1e-14)


def _check(heatmaps) -> np.ndarray:
    hm = np.ascontiguousarray(np.asarray(heatmaps, dtype=np.float32))
    if hm.ndim != 4:
        raise ValueError(f"heatmaps must be (N, K, h, w), got shape {hm.shape}")
    return hm


def _argmax(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(M, h*w) -> flat argmax index and the unblurred max (the score). Ties go to the first pixel, as np.argmax."""
    idx = flat.argmax(axis=1)
    return idx, flat[np.arange(flat.shape[0]), idx]


def _newton_shift(c, xp, xm, yp, ym, pp, mm, flat: float = _FLAT) -> np.ndarray:
    """(H + eps*I)^-1 g from the log-map at the argmax (c) and its neighbours; (M, 2) float64.

    xp/xm = L[y, x+-1], yp/ym = L[y+-1, x], pp = L[y+1, x+1], mm = L[y-1, x-1] (edge-clamped).
    dxy is mmpose's non-standard 7-point form (spec §2.1), not the usual 4-corner one.
    """
    # Differences in the log-map's own dtype (mmpose: float32), the 2x2 solve in float64 (mmpose too).
    dx = 0.5 * (xp - xm)
    dy = 0.5 * (yp - ym)
    dxx = xp - 2 * c + xm
    dyy = yp - 2 * c + ym
    dxy = 0.5 * (pp - xp - yp + 2 * c - xm - ym + mm)
    dx, dy, dxx, dyy, dxy = (np.array(d, dtype=np.float64) for d in (dx, dy, dxx, dyy, dxy))
    for d in (dx, dy, dxx, dyy, dxy):
        d[np.abs(d) < flat] = 0.0
    dxx += _EPS
    dyy += _EPS
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        det = dxx * dyy - dxy * dxy
        sx = (dyy * dx - dxy * dy) / det
        sy = (dxx * dy - dxy * dx) / det
    shift = np.stack([sx, sy], axis=-1)
    # mmpose's np.linalg.inv would raise on an exactly singular matrix; no step is the sane reading of that.
    shift[~np.isfinite(shift).all(axis=-1)] = 0.0
    return shift


def _finish(x, y, scores, shift, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    coords = np.stack([x, y], axis=-1).astype(np.float32)
    coords -= shift.astype(np.float32)
    coords[~(scores > 0)] = -1.0
    return coords.reshape(n, k, 2), scores.astype(np.float32).reshape(n, k)


# ---------------------------------------------------------------------------------------------------- reference
def blurred_log_map(heatmap: np.ndarray, dtype=np.float64) -> np.ndarray:
    """mmpose's modulation of one (h, w) map: zero-pad 5, 11x11 Gaussian blur, rescale to the original max,
    clip to [1e-3, 50], log. In ``dtype`` (mmpose: float32)."""
    h, w = heatmap.shape
    heatmap = heatmap.astype(dtype, copy=False)
    padded = np.zeros((h + 2 * _RADIUS, w + 2 * _RADIUS), dtype)
    padded[_RADIUS:-_RADIUS, _RADIUS:-_RADIUS] = heatmap
    # The zero border is as wide as the kernel radius, so OpenCV's own border mode never reaches the map.
    blurred = cv2.GaussianBlur(padded, (BLUR_KERNEL, BLUR_KERNEL), 0)[_RADIUS:-_RADIUS, _RADIUS:-_RADIUS]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        blurred = blurred * (heatmap.max() / blurred.max())
    np.clip(blurred, _CLIP_LO, _CLIP_HI, out=blurred)
    return np.log(blurred, out=blurred)


def _neighbours_from_log_map(log_map: np.ndarray, x: int, y: int) -> tuple:
    """The 7 values _newton_shift needs, read from the 1-pixel edge-padded log-map as mmpose does."""
    p = np.pad(log_map, 1, mode="edge")
    x, y = x + 1, y + 1
    return p[y, x], p[y, x + 1], p[y, x - 1], p[y + 1, x], p[y - 1, x], p[y + 1, x + 1], p[y - 1, x - 1]


def decode_heatmaps_reference(heatmaps, precision: str = "float64") -> tuple[np.ndarray, np.ndarray]:
    """Argmax + DARK-UDP, the straightforward way: blur, clip and log each whole map.

    ``precision="float32"`` is mmpose's arithmetic exactly (no flatness rule); see the module docstring.
    """
    if precision not in ("float64", "float32"):
        raise ValueError(f"precision must be 'float64' or 'float32', got {precision!r}")
    dtype, flat = (np.float64, _FLAT) if precision == "float64" else (np.float32, 0.0)
    hm = _check(heatmaps)
    n, k, h, w = hm.shape
    maps = hm.reshape(n * k, h, w)
    idx, scores = _argmax(maps.reshape(n * k, h * w))
    x, y = idx % w, idx // w
    values = np.zeros((7, n * k), dtype)
    for m in np.flatnonzero(scores > 0):
        values[:, m] = _neighbours_from_log_map(blurred_log_map(maps[m], dtype), x[m], y[m])
    return _finish(x, y, scores, _newton_shift(*values, flat=flat), n, k)


# ---------------------------------------------------------------------------------------------------- fast
_WIN = 2 * (_RADIUS + 1) + 1  # 13: covers the 11x11 blur support of the argmax and its 8 neighbours


def _window_weights() -> np.ndarray:
    """(13, 3): column d+1 holds the 1-D kernel centred at window offset d (d = -1, 0, +1) of the argmax."""
    g = np.zeros((_WIN, 3))
    for d in (-1, 0, 1):
        start = _RADIUS + 1 + d - _RADIUS
        g[start : start + BLUR_KERNEL, d + 1] = _KERNEL_1D
    return g


_G = _window_weights()


def _local_blur(maps_flat: np.ndarray, x: np.ndarray, y: np.ndarray, h: int, w: int) -> np.ndarray:
    """Blurred (not rescaled) values at argmax + (dy, dx), dy, dx in {-1, 0, 1}: (M, 3, 3) float64.

    The reference blurs a map zero-padded by 5, so samples outside the map count as 0 here too.
    """
    m = maps_flat.shape[0]
    offs = np.arange(_WIN) - (_RADIUS + 1)
    rows, cols = y[:, None] + offs, x[:, None] + offs
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    flat_idx = np.clip(rows, 0, h - 1)[:, :, None] * w + np.clip(cols, 0, w - 1)[:, None, :]
    win = maps_flat[np.arange(m)[:, None, None], flat_idx].astype(np.float64)
    win[~inside] = 0.0
    # Separable: filter the 13 rows at three column offsets, then the columns at three row offsets.
    rowf = win @ _G  # (M, 13, 3): [row, dx]
    return np.einsum("ud,mue->mde", _G, rowf)  # (M, 3, 3): [dy, dx]


def decode_heatmaps(heatmaps) -> tuple[np.ndarray, np.ndarray]:
    """Same result as ``decode_heatmaps_reference`` (to ~1e-9 px), from windows around the argmax only."""
    hm = _check(heatmaps)
    n, k, h, w = hm.shape
    flat = hm.reshape(n * k, h * w)
    idx, scores = _argmax(flat)
    x, y = idx % w, idx // w
    blur = _local_blur(flat, x, y, h, w)
    # Edge padding of the log-map = clamping the neighbour index: at a border, the "outside" neighbour is the point.
    xm, xp = np.where(x > 0, 0, 1), np.where(x < w - 1, 2, 1)
    ym, yp = np.where(y > 0, 0, 1), np.where(y < h - 1, 2, 1)
    r = np.arange(n * k)
    vals = np.stack(
        [
            blur[r, 1, 1],
            blur[r, 1, xp],
            blur[r, 1, xm],
            blur[r, yp, 1],
            blur[r, ym, 1],
            blur[r, yp, xp],
            blur[r, ym, xm],
        ]
    )  # (7, M)
    valid = scores > 0
    peak = scores.astype(np.float64)
    lower = vals.max(axis=0)  # a lower bound of max(blurred): these are pixels of the blurred map
    with np.errstate(divide="ignore", invalid="ignore"):
        c_min = 1.0 / (1.0 + _SLACK)  # max(blurred) <= max(original)
        c_max = peak / lower * (1.0 + _SLACK)  # max(blurred) >= lower
        safe = (
            valid
            & (lower > 0)
            & (vals.min(axis=0) * c_min >= _CLIP_LO * (1 + _SLACK))
            & (vals.max(axis=0) * c_max <= _CLIP_HI * (1 - _SLACK))
        )
    logs = np.zeros_like(vals)
    logs[:, safe] = np.log(vals[:, safe])  # log(c) is left out: it cancels in every derivative
    maps = hm.reshape(n * k, h, w)
    for m in np.flatnonzero(valid & ~safe):  # clipping may matter: do exactly what the reference does
        logs[:, m] = _neighbours_from_log_map(blurred_log_map(maps[m]), x[m], y[m])
    return _finish(x, y, scores, _newton_shift(*logs), n, k)


# ---------------------------------------------------------------------------------------------------- to image
def keypoints_to_image(coords_hm, center, scale, heatmap_size=(192, 256), input_size=(768, 1024)) -> np.ndarray:
    """Heatmap pixels -> original image pixels (spec §2.1 steps 3-4), float64.

    Step 3 (mmpose's "crop pixels"): kp_hm / (hm_size - 1) * input_size; step 4: / input_size * s + c - 0.5 s.
    Net: kp_hm / (hm_size - 1) * s + c - 0.5 s, the exact inverse of the UDP warp followed by the UDP
    crop -> heatmap scaling ((input - 1) / (hm - 1)). ``coords_hm`` (..., K, 2); center/scale (..., 2).
    Sizes are (w, h).
    """
    kp = np.asarray(coords_hm, dtype=np.float64)
    hm_wh = np.asarray(heatmap_size, dtype=np.float64)
    in_wh = np.asarray(input_size, dtype=np.float64)
    c = np.asarray(center, dtype=np.float64)[..., None, :]
    s = np.asarray(scale, dtype=np.float64)[..., None, :]
    kp_crop = kp / (hm_wh - 1) * in_wh
    return kp_crop / in_wh * s + c - 0.5 * s
