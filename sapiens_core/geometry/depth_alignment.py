"""Metric depth for Sapiens v1: its depth is relative (an affine function of the true depth, larger = farther;
Sapiens spec §2.3), so it becomes metric once a scale and a shift are known. Two ways to get them:

* **from a pointmap** of the same image (Sapiens2): least squares of ``scale * d + shift`` against the pointmap's
  Z over the pixels where both are known (the foreground). Exact when the relative depth is exactly affine in the
  truth; the RMS residual says how far from that it is.
* **from a person's height** typed by the user: a pinhole camera sees a person of ``height_m`` spanning ``h_px``
  rows at distance ``f * height_m / h_px``, which fixes the shift (the foreground's median depth goes there). One
  number cannot fix the scale as well, so the front-to-back extent of the foreground is set to ``relief`` times
  the height: the same prior the 3D view uses for relative depth (a standing person seen whole is about 0.3 as
  deep as tall). The focal length must be known (recorded, or the image's larger side as a normal-lens guess).

Both return the metric depth with NaN where the input had none, and a provenance record for
``models["depth"]`` that says how it was made (``metric: True`` lets the measure tool use it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["AlignedDepth", "fit_scale_shift", "align_to_pointmap", "align_to_height", "DEFAULT_RELIEF"]

DEFAULT_RELIEF = 0.3
MIN_PIXELS = 2  # a line needs two points


@dataclass(frozen=True)
class AlignedDepth:
    depth: np.ndarray  # (H, W) float32 meters; NaN where unknown
    scale: float
    shift: float
    provenance: dict  # for models["depth"]


def _check(depth: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    depth = np.asarray(depth)
    if depth.ndim != 2 or not np.issubdtype(depth.dtype, np.floating):
        raise ValueError(f"depth must be a 2-D float array, not {depth.dtype} {depth.shape}")
    valid = np.isfinite(depth)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != depth.shape or mask.dtype != np.bool_:
            raise ValueError(f"mask must be a bool array of shape {depth.shape}, not {mask.dtype} {mask.shape}")
        valid &= mask
    return depth, valid


def fit_scale_shift(relative: np.ndarray, target: np.ndarray) -> tuple[float, float, float]:
    """Least-squares (scale, shift) with ``scale * relative + shift ~ target`` (1-D arrays), and the RMS residual."""
    x = np.asarray(relative, np.float64)
    y = np.asarray(target, np.float64)
    if len(x) < MIN_PIXELS:
        raise ValueError(f"need at least {MIN_PIXELS} pixels where both depths are known, got {len(x)}")
    # Centred normal equations: better conditioned than solving [x 1] directly for depths far from zero.
    mx, my = x.mean(), y.mean()
    var = float(np.dot(x - mx, x - mx))
    if var == 0:
        raise ValueError("the relative depth is flat over the pixels to fit: its scale cannot be found")
    scale = float(np.dot(x - mx, y - my) / var)
    shift = float(my - scale * mx)
    rms = float(np.sqrt(np.mean((scale * x + shift - y) ** 2)))
    return scale, shift, rms


def align_to_pointmap(depth: np.ndarray, pointmap: np.ndarray, mask: np.ndarray | None = None) -> AlignedDepth:
    """A v1 relative depth made metric by the Z of a pointmap of the same image (over ``mask`` where given)."""
    depth, valid = _check(depth, mask)
    pointmap = np.asarray(pointmap)
    if pointmap.shape != (*depth.shape, 3):
        raise ValueError(f"pointmap is {pointmap.shape}, the depth {depth.shape}: not the same image size")
    z = pointmap[..., 2]
    valid &= np.isfinite(z)
    scale, shift, rms = fit_scale_shift(depth[valid], z[valid])
    if scale <= 0:
        raise ValueError("the relative depth runs against the pointmap (larger is nearer): not the same image?")
    out = _apply(depth, scale, shift, mask)
    record = {"metric": True, "unit": "m", "aligned_to": "pointmap", "scale": scale, "shift": shift}
    record.update(rms_m=rms, pixels=int(valid.sum()))
    return AlignedDepth(out, scale, shift, record)


def align_to_height(
    depth: np.ndarray, mask: np.ndarray, height_m: float, focal_px: float, relief: float = DEFAULT_RELIEF
) -> AlignedDepth:
    """A v1 relative depth made metric by the height of the person ``mask`` shows (standing, seen whole)."""
    depth, valid = _check(depth, mask)
    if not (np.isfinite(height_m) and height_m > 0) or not (np.isfinite(focal_px) and focal_px > 0):
        raise ValueError(f"height and focal length must be positive, not {height_m!r} m and {focal_px!r} px")
    rows = np.flatnonzero(valid.any(axis=1))
    if len(rows) < MIN_PIXELS:
        raise ValueError("the person mask is empty (or one row): its height in pixels is unknown")
    height_px = float(rows[-1] - rows[0] + 1)
    distance = focal_px * height_m / height_px
    values = depth[valid].astype(np.float64)
    span = float(values.max() - values.min())
    scale = relief * height_m / span if span > 0 else 0.0
    shift = distance - scale * float(np.median(values))
    out = _apply(depth, scale, shift, mask)
    record = {"metric": True, "unit": "m", "aligned_to": "height", "height_m": float(height_m)}
    record.update(focal_length_px=float(focal_px), relief=float(relief), scale=scale, shift=shift)
    return AlignedDepth(out, scale, shift, record)


def _apply(depth: np.ndarray, scale: float, shift: float, mask: np.ndarray | None) -> np.ndarray:
    out = (depth.astype(np.float64) * scale + shift).astype(np.float32)
    if mask is not None:
        out[~mask] = np.nan
    return out
