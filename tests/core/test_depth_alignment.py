"""Metric depth for v1 on synthetic data: a relative depth that is an affine function of a known metric scene is
brought back exactly by a pointmap of it, and to the distance a typed height implies (pinhole by hand)."""

from __future__ import annotations

import numpy as np
import pytest

from sapiens_core.annotation import Annotation
from sapiens_core.geometry.depth_alignment import align_to_height, align_to_pointmap, fit_scale_shift
from sapiens_core.geometry.measure import metric_geometry

H, W, F = 60, 40, 300.0


def scene():
    """A tilted plane from 2.0 m (top) to 2.59 m (bottom), the left quarter background."""
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    z = 2.0 + 0.01 * ys
    points = np.stack([(xs - (W - 1) / 2) * z / F, (ys - (H - 1) / 2) * z / F, z], axis=2).astype(np.float32)
    mask = xs >= W // 4
    points[~mask] = np.nan
    return points, mask


def test_the_least_squares_line_by_hand():
    scale, shift, rms = fit_scale_shift([0.0, 1.0, 2.0], [1.0, 3.0, 5.0])  # y = 2x + 1 exactly
    assert (scale, shift, rms) == pytest.approx((2.0, 1.0, 0.0))
    # y = [0, 0, 3]: means 1 and 1, slope ((-1)(-1) + 0 + (1)(2)) / 2 = 1.5, shift 1 - 1.5 = -0.5; predictions
    # -0.5, 1, 2.5 leave residuals -0.5, 1, -0.5: mean square 1.5 / 3 = 0.5
    scale, shift, rms = fit_scale_shift([0.0, 1.0, 2.0], [0.0, 0.0, 3.0])
    assert (scale, shift, rms) == pytest.approx((1.5, -0.5, np.sqrt(0.5)))
    with pytest.raises(ValueError, match="flat"):
        fit_scale_shift([1.0, 1.0], [2.0, 3.0])


def test_a_relative_depth_is_aligned_to_the_pointmap_exactly():
    points, mask = scene()
    truth = points[..., 2]
    relative = ((truth - 2.0) / 0.59).astype(np.float32)  # v1 style: min-max normalised, larger = farther
    relative[~mask] = np.nan
    aligned = align_to_pointmap(relative, points, mask)
    assert aligned.scale == pytest.approx(0.59, rel=1e-5) and aligned.shift == pytest.approx(2.0, abs=1e-5)
    np.testing.assert_allclose(aligned.depth[mask], truth[mask], atol=1e-5)
    assert np.isnan(aligned.depth[~mask]).all()
    assert aligned.provenance["rms_m"] < 1e-5 and aligned.provenance["pixels"] == int(mask.sum())
    assert aligned.provenance["metric"] is True and aligned.provenance["aligned_to"] == "pointmap"

    # The aligned depth with the pointmap's focal length measures like the pointmap itself.
    doc = Annotation(
        "p.png", (W, H), depth=aligned.depth, models={"depth": {**aligned.provenance, "focal_length_px": F}}
    )
    geometry = metric_geometry(doc)
    np.testing.assert_allclose(geometry.point(20, 30), points[30, 20], atol=1e-5)
    with pytest.raises(ValueError, match="runs against the pointmap"):
        align_to_pointmap(-relative, points, mask)


def test_a_typed_height_fixes_the_distance():
    # A standing person 300 px tall (rows 50..349) of 1.8 m seen with f = 500 px: 500 * 1.8 / 300 = 3.0 m away.
    depth = np.full((400, 200), np.nan, np.float32)
    mask = np.zeros((400, 200), bool)
    mask[50:350, 80:120] = True
    depth[mask] = np.tile(np.linspace(0.0, 1.0, 40, dtype=np.float32), (300, 1)).ravel()
    aligned = align_to_height(depth, mask, height_m=1.8, focal_px=500.0)
    assert float(np.median(aligned.depth[mask])) == pytest.approx(3.0, abs=1e-6)
    # The front-to-back extent is relief (0.3) times the height: 0.54 m.
    assert float(np.nanmax(aligned.depth) - np.nanmin(aligned.depth)) == pytest.approx(0.54, abs=1e-6)
    assert aligned.provenance == {
        "metric": True,
        "unit": "m",
        "aligned_to": "height",
        "height_m": 1.8,
        "focal_length_px": 500.0,
        "relief": 0.3,
        "scale": pytest.approx(0.54),
        "shift": pytest.approx(3.0 - 0.54 * float(np.median(depth[mask]))),
    }
    with pytest.raises(ValueError, match="must be positive"):
        align_to_height(depth, mask, height_m=0.0, focal_px=500.0)
