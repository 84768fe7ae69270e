"""Sapiens2 pre/post-processing against hand computations: a plane at a known distance comes back metric, padding
round-trips exactly, seg-29 ids decode and map down, normals come back unit length."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sapiens_core.schema.class_maps import convert_class_map
from sapiens_core.tasks.crop import box_to_center_scale, image_to_crop
from sapiens_core.tasks.sapiens2 import (
    crop_person_v2,
    padding_for,
    pose_interpolation,
    resize_and_pad,
    stretch_for_seg,
    unpad,
)
from sapiens_core.tasks.sapiens2_outputs import (
    focal_lengths,
    metric_depth,
    normal_to_unit,
    pointmap_to_metric,
    seg_to_classes,
)

RNG = np.random.default_rng(0)


# ---------------------------------------------------------------------------------------------- padding
def test_padding_numbers_by_hand():
    # 900 wide, 501 high: r = min(768/900, 1024/501) = 0.8533..; 900r = 768, 501r = 427.5 -> 427 rows;
    # 1024 - 427 = 597 rows of padding: 298 on top, the odd one at the bottom.
    p = padding_for((501, 900))
    assert (p.top, p.bottom, p.left, p.right) == (298, 299, 0, 0)
    assert p.resized_hw == (427, 768) and p.scale == pytest.approx(768 / 900)
    # A portrait 600 x 1000 (W x H): r = 1.024, 614.4 -> 614 columns, 154 of padding split 77 / 77.
    p = padding_for((1000, 600))
    assert (p.top, p.bottom, p.left, p.right) == (0, 0, 77, 77) and p.resized_hw == (1024, 614)


def test_pad_then_unpad_gives_back_the_resized_image_exactly():
    image = RNG.integers(1, 256, size=(501, 900, 3), dtype=np.uint8)
    padded, p = resize_and_pad(image)
    assert padded.shape == (1024, 768, 3)
    assert np.array_equal(unpad(padded, p, channels_last=True), cv2.resize(image, (768, 427), cv2.INTER_LINEAR))
    bars = np.ones((1024, 768), bool)
    bars[p.rows, p.cols] = False
    assert not padded[bars].any() and padded[~bars].all()  # black bars; the image (values >= 1) fills the rest
    chw = np.arange(2 * 1024 * 768, dtype=np.float32).reshape(2, 1024, 768)
    assert np.array_equal(unpad(chw, p), chw[:, 298:725, :])
    with pytest.raises(ValueError, match="expected"):
        unpad(chw[:, :-1], p)


def test_seg_input_is_stretched_with_area_or_cubic():
    wide = RNG.integers(0, 256, size=(700, 2000, 3), dtype=np.uint8)
    assert np.array_equal(stretch_for_seg(wide), cv2.resize(wide, (768, 1024), interpolation=cv2.INTER_AREA))
    small = wide[:300, :300]
    assert np.array_equal(stretch_for_seg(small), cv2.resize(small, (768, 1024), interpolation=cv2.INTER_CUBIC))


def test_pose_crop_interpolation_follows_the_box_scale():
    center, big = box_to_center_scale([0, 0, 1600, 2000])
    assert pose_interpolation(center, big) == cv2.INTER_AREA
    center, small = box_to_center_scale([10, 10, 110, 210])
    assert pose_interpolation(center, small) == cv2.INTER_CUBIC
    # The crop is v1's UDP geometry: a bright pixel lands where image_to_crop says.
    image = np.zeros((300, 200, 3), np.uint8)
    image[100, 60] = 255
    crop = crop_person_v2(image, center, small)
    y, x = np.unravel_index(np.argmax(crop[..., 0]), crop.shape[:2])
    assert np.allclose((x, y), image_to_crop([60, 100], center, small), atol=1.5)


# ---------------------------------------------------------------------------------------------- pointmap
Z0 = 2.5  # meters: a wall facing the camera
F_ORIG = 800.0  # its focal length in pixels at the original 600 x 1000 image


def _plane_output(padding):
    """What a perfect model outputs for the wall: canonical points (metric * s) and s, garbage in the padding."""
    f_net = F_ORIG * padding.scale  # the focal length at the network input
    s = 768.0 / f_net
    v, u = np.mgrid[0:1024, 0:768].astype(np.float64)
    cx, cy = padding.left + padding.resized_hw[1] / 2, padding.top + padding.resized_hw[0] / 2
    metric = np.stack([(u - cx) * Z0 / f_net, (v - cy) * Z0 / f_net, np.full_like(u, Z0)])
    raw = np.concatenate([metric * s, np.full((1, 1024, 768), s)]).astype(np.float32)
    bars = np.ones((1024, 768), bool)
    bars[padding.rows, padding.cols] = False
    raw[:3, bars] = 1e3
    return raw, f_net


def test_pointmap_recovers_metric_distances_of_a_plane():
    p = padding_for((1000, 600))
    raw, f_net = _plane_output(p)
    points = pointmap_to_metric(raw, p)
    assert points.shape == (1024, 614, 3)
    assert np.allclose(metric_depth(points), Z0, rtol=1e-6)
    # Two pixels 614 - 1 columns apart on the wall are (613 px) * Z0 / f_net meters apart.
    width = np.linalg.norm(points[500, -1] - points[500, 0])
    assert width == pytest.approx(613 * Z0 / f_net, rel=1e-5)
    assert width == pytest.approx(613 * 2.5 / (800 * 1.024), rel=1e-5)  # the same, from the numbers chosen
    assert focal_lengths(raw[3, 0, 0], p) == pytest.approx((f_net, F_ORIG), rel=1e-5)


def test_pointmap_at_the_image_size_keeps_the_plane_and_masks_the_background():
    p = padding_for((1000, 600))
    raw, _ = _plane_output(p)
    foreground = np.zeros((1000, 600), bool)
    foreground[100:900, 50:550] = True
    points = pointmap_to_metric(raw, p, out_hw=(1000, 600), foreground=foreground)
    assert points.shape == (1000, 600, 3)
    assert np.isnan(points[~foreground]).all() and np.allclose(points[foreground][:, 2], Z0, rtol=1e-6)
    # Away from the border the blur and the resize keep X linear: slope Z0 / f per original pixel.
    slope = np.diff(points[500, 100:500, 0])
    assert np.allclose(slope, Z0 / F_ORIG, rtol=2e-3)


def test_bad_pointmap_outputs_are_refused():
    p = padding_for((1000, 600))
    with pytest.raises(ValueError, match="XYZ and the scale"):
        pointmap_to_metric(np.zeros((3, 1024, 768), np.float32), p)
    with pytest.raises(ValueError, match="scale must be positive"):
        pointmap_to_metric(np.zeros((4, 1024, 768), np.float32), p)


# ---------------------------------------------------------------------------------------------- seg, normal
def test_seg29_logits_decode_to_the_29_ids_and_map_down():
    logits = np.zeros((29, 1024, 768), np.float32)
    logits[0] = 1.0
    logits[2, 100:300, 200:500] = 5.0  # eyeglasses
    logits[24, 600:800, 100:300] = 5.0  # lower lip
    classes = seg_to_classes(logits, (512, 384))  # the image was 384 x 512: half the input size
    assert classes.dtype == np.uint8 and classes.shape == (512, 384)
    assert (classes[100, 150], classes[350, 100], classes[10, 10]) == (2, 24, 0)
    v1 = convert_class_map(classes, "sapiens2_29", "sapiens_28")
    assert (v1[100, 150], v1[350, 100], v1[10, 10]) == (2, 23, 0)  # Face_Neck, Lower_Lip, Background in v1


def test_normals_come_back_unit_length_at_the_image_size():
    p = padding_for((501, 900))
    raw = np.zeros((3, 1024, 768), np.float32)
    raw[1], raw[2] = 3.0, -4.0  # length 5
    raw[:, :298] = 0.0  # padding rows: zero vectors must not divide by zero
    foreground = np.ones((501, 900), bool)
    foreground[0] = False
    normals = normal_to_unit(raw, p, (501, 900), foreground=foreground)
    assert normals.shape == (501, 900, 3) and np.isnan(normals[0]).all()
    assert np.allclose(normals[1:], [0.0, 0.6, -0.8], atol=1e-5)
