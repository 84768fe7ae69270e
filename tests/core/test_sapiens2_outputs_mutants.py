"""Sapiens2 pointmap and normal post-processing where the other tests never go: a pointmap enlarged to a larger
image (the demo blurs before it upsamples), in one direction only and at exactly the same size, and normals whose
lengths differ from pixel to pixel (normalised before the resize, as the demo does). Expected values come from
scipy and torch, or from a hand computation; survivors of sapiens2_outputs' mutation run.

Small network inputs (16 x 12 instead of 1024 x 768) keep the arithmetic readable; the functions take any size.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage

from sapiens_core.tasks.sapiens2 import padding_for
from sapiens_core.tasks.sapiens2_outputs import normal_to_unit, pointmap_to_metric, split_pointmap

NET_HW = (16, 12)


def _raw_pointmap(seed: int = 0, scale: float = 2.0) -> np.ndarray:
    """Rough XYZ (a depth edge and noise, so a blur changes it) times ``scale``, and the scale channel."""
    rng = np.random.default_rng(seed)
    xyz = rng.normal(0.0, 1.0, (3, *NET_HW)).astype(np.float32)
    xyz[2, :, 6:] += 5.0  # a step in depth
    return np.concatenate([xyz * scale, np.full((1, *NET_HW), scale, np.float32)])


def _gaussian_3x3(sigma: float) -> np.ndarray:
    g = np.exp(-np.array([1.0, 0.0, 1.0]) / (2 * sigma * sigma))
    g /= g.sum()
    return np.outer(g, g)


def _blurred(points: np.ndarray, passes: int = 4, sigma: float = 0.8) -> np.ndarray:
    """The demo's smoothing, by scipy: a 3x3 Gaussian (sigma 0.8) four times, edges mirrored without repeating
    the edge pixel (OpenCV's default border, scipy's "mirror")."""
    kernel = _gaussian_3x3(sigma)
    out = points.astype(np.float64)
    for _ in range(passes):
        out = np.stack([ndimage.convolve(channel, kernel, mode="mirror") for channel in out])
    return out


def _bilinear(points: np.ndarray, out_hw) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32))[None]
    return F.interpolate(t, size=tuple(out_hw), mode="bilinear", align_corners=False)[0].numpy()


def _metric(out_hw) -> np.ndarray:
    padding = padding_for(NET_HW, NET_HW)  # the image already has the network's shape: no padding
    return pointmap_to_metric(_raw_pointmap(), padding, out_hw=out_hw)


@pytest.mark.parametrize("out_hw", [(32, 24), (32, 6), (8, 24)])
def test_a_pointmap_enlarged_in_either_direction_is_blurred_then_upsampled(out_hw):
    expected = _bilinear(_blurred(_raw_pointmap()[:3] / 2.0), out_hw).transpose(1, 2, 0)
    got = _metric(out_hw)
    assert got.shape == (*out_hw, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=2e-5)
    # the blur is real: without it the step in depth stays sharper
    assert np.abs(got - _bilinear(_raw_pointmap()[:3] / 2.0, out_hw).transpose(1, 2, 0)).max() > 0.05


@pytest.mark.parametrize("out_hw", [(16, 6), (8, 12), (8, 6)])
def test_a_pointmap_shrunk_or_kept_in_each_direction_is_not_blurred(out_hw):
    expected = _bilinear(_raw_pointmap()[:3] / 2.0, out_hw).transpose(1, 2, 0)
    np.testing.assert_allclose(_metric(out_hw), expected, atol=1e-6)


def test_a_pointmap_at_its_own_size_is_the_points_divided_by_the_scale():
    raw = _raw_pointmap(scale=4.0)
    got = pointmap_to_metric(raw, padding_for(NET_HW, NET_HW), out_hw=NET_HW)
    assert np.array_equal(got, (raw[:3] / np.float32(4.0)).transpose(1, 2, 0))


def test_the_scale_is_the_fourth_channel():
    raw = _raw_pointmap(scale=2.5)
    points, scale = split_pointmap(raw)
    assert scale == 2.5 and np.array_equal(points, raw[:3])


# ---------------------------------------------------------------------------------------------- normals
def test_normals_are_made_unit_before_they_are_resized():
    """Left half of the network map points along x with length 10, right half along y with length 1. Enlarged
    2x in width, output column 11's centre lies at network column 5.25: a quarter of the way to column 6. Unit
    vectors first: 0.75 x + 0.25 y, normalised. Resizing the raw vectors would give 7.5 x + 0.25 y, almost x."""
    raw = np.zeros((3, *NET_HW), np.float32)
    raw[0, :, :6] = 10.0
    raw[1, :, 6:] = 1.0
    padding = padding_for((16, 24), NET_HW)  # a 16 x 24 image: r = 0.5, 8 rows of network image, 4 of padding each
    assert (padding.top, padding.bottom, padding.left, padding.right) == (4, 4, 0, 0)
    out = normal_to_unit(raw, padding, (16, 24))
    expected = np.array([0.75, 0.25, 0.0]) / np.hypot(0.75, 0.25)
    np.testing.assert_allclose(out[:, 11], np.tile(expected, (16, 1)), atol=1e-4)
    np.testing.assert_allclose(out[:, 12], np.tile(expected[[1, 0, 2]], (16, 1)), atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(out, axis=2), 1.0, atol=1e-4)


@pytest.mark.parametrize("shape", [(3, 16), (4, *NET_HW), (16, 12, 3)])
def test_a_normal_output_of_the_wrong_shape_is_refused_with_its_shape(shape):
    with pytest.raises(ValueError, match=r"normal output must be \(3, H, W\), got"):
        normal_to_unit(np.zeros(shape, np.float32), padding_for(NET_HW, NET_HW), NET_HW)


# ---------------------------------------------------------------------------------------------- foreground
def test_a_zero_one_mask_of_any_dtype_blanks_the_background():
    raw = _raw_pointmap()
    mask = np.zeros(NET_HW, np.uint8)
    mask[4:12, 3:9] = 1  # a uint8 0/1 mask, as a PNG reader gives it: 0 is background whatever the dtype
    got = pointmap_to_metric(raw, padding_for(NET_HW, NET_HW), foreground=mask)
    inside = mask.astype(bool)
    assert np.isnan(got[~inside]).all() and np.isfinite(got[inside]).all()
    np.testing.assert_array_equal(got[inside], (raw[:3] / np.float32(2.0)).transpose(1, 2, 0)[inside])


def test_a_mask_of_another_size_is_refused_naming_both_sizes():
    with pytest.raises(ValueError, match=r"^foreground mask is \(8, 6\), the pointmap is \(16, 12\)$"):
        pointmap_to_metric(_raw_pointmap(), padding_for(NET_HW, NET_HW), foreground=np.ones((8, 6), bool))
