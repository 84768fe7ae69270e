"""Flip test with the real Goliath flip table, and decode_pose end to end."""

import numpy as np
import pytest
import torch

from sapiens_core.schema import keypoint_schema
from sapiens_core.tasks import (
    box_to_center_scale,
    crop_person,
    decode_pose,
    flip_back_heatmaps,
    flip_images,
    image_to_crop,
    merge_flip_test,
    normalize,
)

from .test_heatmap_decode import HM_H, HM_W, udp_gaussian_heatmaps

FLIP = keypoint_schema("goliath_308").flip_index


def test_goliath_flip_table_swaps_left_and_right():
    schema = keypoint_schema("goliath_308")
    assert schema.names[FLIP[schema.index("left_wrist")]] == "right_wrist"
    assert FLIP[schema.index("nose")] == schema.index("nose")


def test_flip_images_mirrors_columns():
    batch = np.random.default_rng(0).normal(size=(2, 3, 8, 6)).astype(np.float32)
    flipped = flip_images(batch)
    np.testing.assert_array_equal(flipped[..., 0], batch[..., -1])
    np.testing.assert_array_equal(flip_images(flipped), batch)
    assert torch.equal(flip_images(torch.from_numpy(batch)), torch.from_numpy(flipped))


def test_flip_back_takes_the_partner_channel_mirrored():
    hm = np.arange(3 * 2 * 4, dtype=np.float32).reshape(1, 3, 2, 4)
    back = flip_back_heatmaps(hm, [0, 2, 1])
    np.testing.assert_array_equal(back[0, 1], hm[0, 2, :, ::-1])
    np.testing.assert_array_equal(back[0, 0], hm[0, 0, :, ::-1])
    with pytest.raises(ValueError):
        flip_back_heatmaps(hm, [0, 1])


def mirrored_person(rng):
    """Heatmaps of a person and of its mirror image, as a perfect network would give them."""
    pts = rng.uniform([8, 8], [HM_W - 9, HM_H - 9], size=(len(FLIP), 2))
    original = udp_gaussian_heatmaps(pts)
    # In the mirrored crop, channel k (say left_wrist) sits where the original's partner (right_wrist) was, mirrored.
    mirrored_pts = np.stack([HM_W - 1 - pts[FLIP, 0], pts[FLIP, 1]], axis=1)
    return pts, original[None], udp_gaussian_heatmaps(mirrored_pts)[None]


def test_flip_back_of_mirrored_output_equals_original():
    pts, original, mirrored = mirrored_person(np.random.default_rng(1))
    np.testing.assert_allclose(flip_back_heatmaps(mirrored, FLIP), original, atol=1e-6)
    merged = merge_flip_test(original, mirrored, FLIP)
    assert merged.dtype == np.float32
    np.testing.assert_allclose(merged, original, atol=1e-6)  # no 1-pixel shift (shift_heatmap=False)
    # Without the channel swap (the lite demo's mistake) left and right points would be averaged together.
    assert np.abs(merge_flip_test(original, mirrored, np.arange(len(FLIP))) - original).max() > 0.45  # peak halved
    t = merge_flip_test(torch.from_numpy(original), torch.from_numpy(mirrored), FLIP)
    np.testing.assert_allclose(t.numpy(), merged, atol=1e-6)


def test_decode_pose_puts_flip_merged_keypoints_back_in_the_image():
    pts, original, mirrored = mirrored_person(np.random.default_rng(2))
    centers, scales = np.array([[400.0, 520.0]]), np.array([[300.0, 400.0]])
    keypoints, scores = decode_pose(merge_flip_test(original, mirrored, FLIP), centers, scales)
    expected = pts / [HM_W - 1, HM_H - 1] * scales + centers - scales / 2
    assert keypoints.shape == (1, len(FLIP), 2) and scores.shape == (1, len(FLIP))
    np.testing.assert_allclose(keypoints[0], expected, atol=1e-3)  # 1e-5 heatmap px, times scale / 191
    np.testing.assert_allclose(scores, 1.0, atol=0.01)
    kp_t, _ = decode_pose(torch.from_numpy(original), centers, scales)
    np.testing.assert_allclose(kp_t, keypoints, atol=1e-3)


def test_flip_test_on_a_mirrored_image_end_to_end():
    # The network input of a mirrored image, cropped at the mirrored box, is the mirrored network input.
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (500, 400, 3), dtype=np.uint8)
    center, scale = box_to_center_scale([120, 60, 300, 460])
    batch = normalize([crop_person(image, center, scale)])
    mirror_center = [400 - 1 - center[0], center[1]]
    batch_of_mirror = normalize([crop_person(image[:, ::-1].copy(), mirror_center, scale)])
    assert np.abs(flip_images(batch) - batch_of_mirror).max() < 0.1  # warp rounding: < 1 grey level
    # ...and an image point maps to mirrored crop columns.
    p = np.array([200.25, 300.5])
    a = image_to_crop(p, center, scale)
    b = image_to_crop([400 - 1 - p[0], p[1]], mirror_center, scale)
    np.testing.assert_allclose(b, [767 - a[0], a[1]], atol=1e-9)


def test_decode_pose_for_two_crops_of_another_heatmap_size():
    # Heatmaps of 48x64 (not the default 192x256) for two crops with their own boxes; the expected image point
    # is computed by hand: crop pixel = hm * (input - 1) / (hm - 1) inverted through the UDP warp, i.e.
    # image = hm / (hm_size - 1) * scale + center - scale / 2.
    hm_w, hm_h = 48, 64
    points = np.array([[[10.25, 20.5]], [[30.0, 40.75]]])
    heatmaps = np.stack([udp_gaussian_heatmaps(p, size=(hm_w, hm_h), sigma=2.0) for p in points])
    centers = np.array([[100.0, 200.0], [400.0, 300.0]])
    scales = np.array([[75.0, 100.0], [150.0, 200.0]])
    keypoints, scores = decode_pose(heatmaps, centers, scales)
    assert keypoints.shape == (2, 1, 2) and keypoints.dtype == np.float32 and scores.dtype == np.float32
    expected = points / [hm_w - 1, hm_h - 1] * scales[:, None] + centers[:, None] - scales[:, None] / 2
    np.testing.assert_allclose(keypoints, expected, atol=1e-3)
    # The same from torch tensors.
    from_torch, _ = decode_pose(torch.from_numpy(heatmaps), centers, scales)
    np.testing.assert_allclose(from_torch, keypoints, atol=1e-6)


def test_flip_back_refuses_a_table_of_the_wrong_length():
    with pytest.raises(ValueError, match="3 heatmap channels but a flip table of 2 points"):
        flip_back_heatmaps(np.zeros((1, 3, 4, 4), np.float32), [1, 0])


def test_flip_back_of_a_tensor_is_a_tensor_of_the_same_values():
    # Functions take numpy or torch and return the same kind: the flip test runs on the model's device.
    hm = np.arange(3 * 2 * 4, dtype=np.float32).reshape(1, 3, 2, 4)
    back = flip_back_heatmaps(torch.from_numpy(hm), [0, 2, 1])
    assert isinstance(back, torch.Tensor)
    np.testing.assert_array_equal(back[0, 1].numpy(), hm[0, 2, :, ::-1])  # the partner channel, mirrored


def test_decode_pose_takes_a_model_output_as_it_comes():
    # A head's output can still require grad and be bfloat16 (autocast); numpy can read neither directly. The
    # answer is the one for the same values as a float32 array.
    heatmaps = udp_gaussian_heatmaps([(10.25, 20.5), (30.0, 40.75)], size=(48, 64), sigma=2.0)[None]
    tensor = torch.from_numpy(heatmaps).to(torch.bfloat16).requires_grad_()
    centers, scales = np.array([[100.0, 200.0]]), np.array([[75.0, 100.0]])
    keypoints, scores = decode_pose(tensor, centers, scales)
    as_float32 = tensor.detach().float().numpy()
    expected_kp, expected_scores = decode_pose(as_float32, centers, scales)
    np.testing.assert_array_equal(keypoints, expected_kp)
    np.testing.assert_array_equal(scores, expected_scores)
    # bfloat16 keeps 8 bits of the Gaussian: still within a tenth of a heatmap pixel of the true point.
    truth = np.array([[10.25, 20.5], [30.0, 40.75]]) / [47, 63] * scales + centers - scales / 2
    np.testing.assert_allclose(keypoints[0], truth, atol=0.1 * 75 / 47)
