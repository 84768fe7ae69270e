"""Seg / depth / normal post-processing (bilinear upsample in strips) and the shared input preparation."""

import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sapiens_core.task_specs import MEAN_RGB, STD_RGB
from sapiens_core.tasks import (
    dense,
    depth_to_colormap,
    logits_to_classes,
    normal_to_rgb,
    normalize,
    postprocess_depth,
    postprocess_normal,
    resize_for_model,
    upsample_bilinear,
)


def torch_up(x: np.ndarray, hw) -> np.ndarray:
    return F.interpolate(torch.from_numpy(x)[None], size=tuple(hw), mode="bilinear", align_corners=False)[0].numpy()


# ----------------------------------------------------------------------------------------------- resampling
def test_tiny_upsample_by_hand():
    # 2x2 -> 4x4, align_corners=False: source coordinate (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25, clamped
    # to [0, 1] -> weights 0, 0.25, 0.75, 1 along each axis. The input x + 2y gives a[j] + 2 a[i].
    a = np.array([0.0, 0.25, 0.75, 1.0])
    out = upsample_bilinear(np.array([[[0.0, 1.0], [2.0, 3.0]]], np.float32), (4, 4))
    np.testing.assert_array_equal(out[0], a[None, :] + 2 * a[:, None])


@pytest.mark.parametrize(
    "shape, out_hw",
    [
        ((3, 5, 4), (11, 7)),
        ((2, 7, 9), (3, 4)),
        ((1, 6, 6), (9, 16)),
        ((2, 37, 53), (1000, 999)),
        ((4, 64, 48), (130, 77)),
        ((3, 10, 10), (10, 10)),
    ],
)
def test_upsample_matches_torch_interpolate(shape, out_hw):
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    # Measured: bit-identical except on tiny outputs, where ATen's scalar loop rounds differently (1 ulp).
    np.testing.assert_allclose(upsample_bilinear(x, out_hw), torch_up(x, out_hw), rtol=0, atol=5e-7)


def test_strip_size_changes_no_value(monkeypatch):
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(5, 32, 24)).astype(np.float32)
    depth = rng.normal(size=(1, 32, 24)).astype(np.float32)
    normal = rng.normal(size=(3, 32, 24)).astype(np.float32)
    fg = rng.random((150, 101)) > 0.3
    one_shot = (
        logits_to_classes(logits, (150, 101)),
        postprocess_depth(depth, (150, 101), fg),
        postprocess_normal(normal, (150, 101), fg),
        upsample_bilinear(logits, (150, 101)),
    )
    for strip_bytes in (1, 5 * 101 * 16 * 7):  # 1 row per strip; 7 rows per strip
        monkeypatch.setattr(dense, "STRIP_BYTES", strip_bytes)
        stripped = (
            logits_to_classes(logits, (150, 101)),
            postprocess_depth(depth, (150, 101), fg),
            postprocess_normal(normal, (150, 101), fg),
            upsample_bilinear(logits, (150, 101)),
        )
        for a, b in zip(one_shot, stripped):
            np.testing.assert_array_equal(a, b)


def test_strips_bound_memory_for_huge_images():
    # 28 classes at 8000x6000 would be 5.4 GB as one float32 tensor; one strip must stay near STRIP_BYTES.
    up = dense._StripUpsampler(np.zeros((28, 512, 384), np.float32), (8000, 6000))
    assert up.strip_rows * 28 * 6000 * 4 * 4 <= dense.STRIP_BYTES
    assert up.strip(0, up.strip_rows).shape == (28, up.strip_rows, 6000)


def test_peak_memory_stays_bounded_in_a_real_run():
    # Separate process: ru_maxrss is per process. One-shot would need 28 x 3000 x 4000 x 4 B = 1.3 GB.
    code = textwrap.dedent("""
        import resource, numpy as np
        from sapiens_core.tasks import logits_to_classes
        logits = np.random.default_rng(0).normal(size=(28, 64, 48)).astype(np.float32)
        logits_to_classes(logits, (40, 30))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out = logits_to_classes(logits, (4000, 3000))
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024, out.shape)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    grown_mb = int(result.stdout.split()[0])
    assert grown_mb < 250, result.stdout  # measured ~40 MB: the 12 MB class map + one strip


# ----------------------------------------------------------------------------------------------- seg
def test_classes_match_torch_argmax_at_model_size():
    logits = np.random.default_rng(2).normal(size=(28, 512, 384)).astype(np.float32)
    ours = logits_to_classes(logits, (700, 530))
    ref = torch_up(logits, (700, 530))
    assert ours.dtype == np.uint8 and ours.shape == (700, 530)
    top2 = np.sort(ref, axis=0)[-2:]
    undecided = (top2[1] - top2[0]) < 1e-5  # ties within float rounding may go either way
    np.testing.assert_array_equal(ours[~undecided], ref.argmax(0)[~undecided])
    assert undecided.mean() < 1e-3


def test_classes_by_hand_and_first_maximum_wins():
    logits = np.zeros((3, 2, 2), np.float32)
    logits[2, 0, 0] = 5.0  # class 2 top-left, elsewhere classes tie at 0 -> class 0 (first maximum)
    logits[1, 1, 1] = 5.0
    out = logits_to_classes(logits, (2, 2))
    np.testing.assert_array_equal(out, [[2, 0], [0, 1]])


def test_one_channel_foreground_thresholds_sigmoid_at_0_3():
    # logit(0.3) = -0.8473; up-sampling 2x2 -> 2x2 keeps values, so the threshold is visible directly.
    logits = np.array([[[-0.84, -0.86], [3.0, -5.0]]], np.float32)
    np.testing.assert_array_equal(logits_to_classes(logits, (2, 2)), [[1, 0], [1, 0]])
    x = np.random.default_rng(3).normal(size=(1, 40, 30)).astype(np.float32)
    expected = (torch.sigmoid(torch.from_numpy(torch_up(x, (97, 61)))) > 0.3).numpy()[0]
    np.testing.assert_array_equal(logits_to_classes(x, (97, 61)), expected)


# ----------------------------------------------------------------------------------------------- depth / normal
def test_depth_upsampled_with_background_nan():
    raw = np.random.default_rng(4).normal(size=(1, 64, 48)).astype(np.float32)
    fg = np.zeros((130, 90), bool)
    fg[20:100, 10:70] = True
    out = postprocess_depth(raw, (130, 90), foreground=fg)
    assert out.dtype == np.float32 and out.shape == (130, 90)
    assert np.isnan(out[~fg]).all()
    np.testing.assert_allclose(out[fg], torch_up(raw, (130, 90))[0][fg], atol=5e-7)
    np.testing.assert_array_equal(postprocess_depth(raw[0], (130, 90)), postprocess_depth(raw, (130, 90)))
    with pytest.raises(ValueError):
        postprocess_depth(raw, (130, 90), foreground=fg[:-1])


def test_normals_unit_length_direction_and_background():
    rng = np.random.default_rng(5)
    raw = rng.normal(size=(3, 32, 24)).astype(np.float32)
    raw[2] = np.abs(raw[2]) + 2.0  # keep |n| far from 0 so n / (|n| + 1e-5) is unit to 1e-5
    fg = rng.random((80, 50)) > 0.2
    out = postprocess_normal(raw, (80, 50), foreground=fg)
    assert out.shape == (80, 50, 3) and out.dtype == np.float32
    assert np.isnan(out[~fg]).all()
    np.testing.assert_allclose(np.linalg.norm(out[fg], axis=-1), 1.0, atol=1e-5)
    up = torch_up(raw, (80, 50)).transpose(1, 2, 0)
    expected = up / (np.linalg.norm(up, axis=-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(out[fg], expected[fg], atol=1e-6)


# ----------------------------------------------------------------------------------------------- display
def test_depth_colormap_near_is_bright_background_gray():
    depth = np.array([[1.0, 2.0], [3.0, np.nan]], np.float32)
    rgb = depth_to_colormap(depth)
    inferno = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_INFERNO)[:, 0, ::-1]
    np.testing.assert_array_equal(rgb[0, 0], inferno[255])  # nearest -> top of the map (bright)
    np.testing.assert_array_equal(rgb[1, 0], inferno[0])  # farthest -> black end
    np.testing.assert_array_equal(rgb[0, 1], inferno[127])  # 1 - 0.5 = 0.5 -> 127.5 -> 127
    np.testing.assert_array_equal(rgb[1, 1], [100, 100, 100])
    assert (depth_to_colormap(np.full((3, 3), np.nan, np.float32)) == 100).all()
    np.testing.assert_array_equal(depth_to_colormap(np.full((2, 2), 4.0, np.float32))[0, 0], inferno[255])


def test_normal_to_rgb_maps_axes_and_nan_to_black():
    n = np.array([[[0, 0, 1], [-1, 0, 0]], [[0, 1, 0], [np.nan] * 3]], np.float32)
    rgb = normal_to_rgb(n)
    np.testing.assert_array_equal(rgb, [[[127, 127, 255], [0, 127, 127]], [[127, 255, 127], [0, 0, 0]]])


# ----------------------------------------------------------------------------------------------- input
def test_normalize_is_the_float32_imagenet_pipeline():
    images = [np.random.default_rng(i).integers(0, 256, (16, 12, 3), dtype=np.uint8) for i in range(2)]
    out = normalize(images)
    assert out.shape == (2, 3, 16, 12) and out.dtype == np.float32
    mean = torch.tensor(MEAN_RGB, dtype=torch.float32)[:, None, None]
    std = torch.tensor(STD_RGB, dtype=torch.float32)[:, None, None]
    expected = (torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() - mean) / std
    np.testing.assert_array_equal(out, expected.numpy())  # bit-identical
    np.testing.assert_array_equal(normalize(images[0]), out[:1])
    with pytest.raises(ValueError):
        normalize([images[0], images[0][:8]])


def test_resize_for_model_is_plain_bilinear_without_aspect():
    image = np.random.default_rng(6).integers(0, 256, (300, 500, 3), dtype=np.uint8)
    out = resize_for_model(image)
    assert out.shape == (1024, 768, 3)
    np.testing.assert_array_equal(out, cv2.resize(image, (768, 1024), interpolation=cv2.INTER_LINEAR))
    assert resize_for_model(out) is out
