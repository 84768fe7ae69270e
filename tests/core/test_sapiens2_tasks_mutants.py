"""Sapiens2 pre-processing at its boundaries (spec §3-4.2): the seg stretch's interpolation when the width is kept,
the pose crop's interpolation at a scale of exactly 1 and on either side of it, images one pixel thin, a network
input of another size, and sizes that are refused. Survivors of sapiens2's mutation run."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sapiens_core.tasks.crop import udp_warp_matrix
from sapiens_core.tasks.sapiens2 import crop_person_v2, padding_for, pose_interpolation, resize_and_pad, stretch_for_seg

RNG = np.random.default_rng(7)


def _image(h: int, w: int) -> np.ndarray:
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_the_seg_stretch_of_an_image_exactly_768_wide_is_cubic():
    """Spec §3: INTER_AREA when the new width is smaller than the original, INTER_CUBIC otherwise: equal widths
    (the height still grows from 500 to 1024 here) are cubic."""
    image = _image(500, 768)
    got = stretch_for_seg(image)
    assert np.array_equal(got, cv2.resize(image, (768, 1024), interpolation=cv2.INTER_CUBIC))
    assert not np.array_equal(got, cv2.resize(image, (768, 1024), interpolation=cv2.INTER_AREA))


@pytest.mark.parametrize(
    "box_w, box_h, expected",
    [
        (767.0, 1022.7, cv2.INTER_CUBIC),  # (768 - 1) / 767 = 1 exactly: not below 1
        (767.1, 1022.8, cv2.INTER_AREA),  # just below 1
        (766.5, 1022.0, cv2.INTER_CUBIC),  # just above 1
        (767.1, 500.0, cv2.INTER_AREA),  # the width decides, not the height
        (500.0, 666.7, cv2.INTER_CUBIC),  # enlarged by 1.53
    ],
)
def test_the_pose_crop_shrinks_with_area_only_below_a_scale_of_one(box_w, box_h, expected):
    assert pose_interpolation(np.zeros(2), np.array([box_w, box_h])) == expected


def test_the_pose_crop_of_another_output_size_uses_that_size_for_matrix_and_interpolation():
    """A 48 x 64 crop of a 100-wide box: (48 - 1) / 100 < 1 shrinks (AREA), where the default 768-wide crop would
    enlarge (CUBIC); the matrix maps the box onto 48 x 64."""
    image = _image(300, 200)
    center, scale = np.array([100.0, 150.0]), np.array([100.0, 133.3])
    assert pose_interpolation(center, scale, (48, 64)) == cv2.INTER_AREA
    got = crop_person_v2(image, center, scale, (48, 64))
    matrix = udp_warp_matrix(center, scale, (48, 64))
    assert got.shape == (64, 48, 3)
    assert np.array_equal(got, cv2.warpAffine(image, matrix, (48, 64), flags=cv2.INTER_AREA))
    assert not np.array_equal(got, cv2.warpAffine(image, matrix, (48, 64), flags=cv2.INTER_CUBIC))


@pytest.mark.parametrize(
    "image_hw, resized_hw, padding",
    [
        ((1, 4096), (1, 768), (511, 512, 0, 0)),  # scale 0.1875: 0.19 rows, still one
        ((4096, 1), (1024, 1), (0, 0, 383, 384)),  # scale 0.25: 0.25 columns, still one
    ],
)
def test_an_image_one_pixel_thin_keeps_one_row_or_column(image_hw, resized_hw, padding):
    p = padding_for(image_hw)
    assert p.image_hw == image_hw and p.resized_hw == resized_hw
    assert (p.top, p.bottom, p.left, p.right) == padding


@pytest.mark.parametrize("image_hw", [(0, 5), (5, 0), (-3, 5), (5, -3), (0, 0)])
def test_an_empty_image_is_refused_naming_its_size(image_hw):
    with pytest.raises(ValueError, match=rf"^image size must be positive, got \({image_hw[0]}, {image_hw[1]}\)$"):
        padding_for(image_hw)


def test_resize_and_pad_to_another_network_size():
    """A 30 x 20 image into a 16 x 12 input: r = min(12/20, 16/30) = 0.5333; 16 rows (30r) by 10 columns
    (int(10.67)), one column of padding on either side."""
    image = _image(30, 20)
    out, padding = resize_and_pad(image, (16, 12))
    assert out.shape == (16, 12, 3) and padding.input_hw == (16, 12) and padding.image_hw == (30, 20)
    assert (padding.top, padding.bottom, padding.left, padding.right) == (0, 0, 1, 1)
    assert np.array_equal(out[:, 1:11], cv2.resize(image, (10, 16), interpolation=cv2.INTER_LINEAR))
    assert not out[:, [0, 11]].any()
