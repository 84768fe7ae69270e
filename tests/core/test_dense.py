"""Seg / depth / normal post-processing (bilinear upsample in strips) and the shared input preparation."""

import subprocess
import sys
import textwrap
import warnings

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


# ----------------------------------------------------------------------------------------------- display, further
def test_normal_to_rgb_saturates_out_of_range_and_infinite_components():
    # An unnormalised or infinite component lands at the end of the colour range, never wraps around a uint8:
    # (n + 1) / 2 * 255 clipped to [0, 255], +inf as +1, -inf as -1.
    n = np.array([[[2.0, -2.0, 1.01], [np.inf, -np.inf, -1.01]]], np.float32)
    rgb = normal_to_rgb(n)
    assert rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb, [[[255, 0, 255], [255, 0, 0]]])


def test_display_images_are_uint8_and_the_same_in_many_strips(monkeypatch):
    # Wide maps drawn in one-row strips (a 1 kB strip budget) are the images drawn whole; expected values come
    # from OpenCV's colormap table and the demo's arithmetic by hand.
    rng = np.random.default_rng(7)
    depth = rng.uniform(1.0, 5.0, (9, 40)).astype(np.float32)
    depth[0, 0], depth[0, 1], depth[3, 5] = 1.0, 5.0, np.nan  # nearest, farthest, background
    normal = rng.normal(size=(9, 40, 3))
    normal = (normal / np.linalg.norm(normal, axis=-1, keepdims=True)).astype(np.float32)
    whole_depth, whole_normal = depth_to_colormap(depth), normal_to_rgb(normal)
    monkeypatch.setattr(dense, "STRIP_BYTES", 1024)
    for image, whole in ((depth_to_colormap(depth), whole_depth), (normal_to_rgb(normal), whole_normal)):
        assert image.dtype == np.uint8 and image.shape == (9, 40, 3)
        np.testing.assert_array_equal(image, whole)
    inferno = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_INFERNO)[:, 0, ::-1]
    level = ((1 - (depth[5, 7] - np.float32(1.0)) / np.float32(4.0)) * np.float32(255)).astype(np.uint8)
    np.testing.assert_array_equal(whole_depth[5, 7], inferno[level])
    np.testing.assert_array_equal(whole_depth[3, 5], [100, 100, 100])
    np.testing.assert_array_equal(whole_normal[2, 3], ((normal[2, 3] + 1) / 2 * 255).astype(np.uint8))


def test_depth_colormap_reads_a_float64_map_as_float32():
    # Two depths 1e-9 apart are one float32 value: one depth, drawn as nearest, as the demo's float32 map would be.
    depth = np.array([[1.0, 1.0 + 1e-9]], np.float64)
    inferno = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_INFERNO)[:, 0, ::-1]
    np.testing.assert_array_equal(depth_to_colormap(depth), [[inferno[255], inferno[255]]])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: postprocess_depth(np.zeros((2, 4, 4), np.float32), (8, 8)), "depth output must have 1 channel, got 2"),
        (lambda: postprocess_normal(np.zeros((2, 4, 4), np.float32), (8, 8)), "normal output must have 3 channels"),
        (lambda: depth_to_colormap(np.zeros((2, 4, 4), np.float32)), r"depth must be \(H, W\), got \(2, 4, 4\)"),
        (lambda: normal_to_rgb(np.zeros((4, 4, 4), np.float32)), r"normals must be \(H, W, 3\), got \(4, 4, 4\)"),
        (lambda: normal_to_rgb(np.zeros((4, 3), np.float32)), r"normals must be \(H, W, 3\), got \(4, 3\)"),
    ],
)
def test_wrong_shapes_are_refused_with_the_shape(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ----------------------------------------------------------------------------------------------- inputs, further
def test_one_row_or_one_column_maps_upsample_like_torch():
    # A single source row (or column) is every output row: ATen clamps the source index to the only row.
    x = np.random.default_rng(8).normal(size=(2, 1, 5)).astype(np.float32)
    for src, out_hw in ((x, (4, 9)), (x.transpose(0, 2, 1).copy(), (9, 4))):
        np.testing.assert_allclose(upsample_bilinear(src, out_hw), torch_up(src, out_hw), rtol=0, atol=5e-7)


def test_bfloat16_model_output_is_resampled_in_float32():
    # A bf16 head's output is upsampled as its float32 values: the interpolation itself must not round to bf16.
    x = torch.from_numpy(np.random.default_rng(9).normal(size=(2, 6, 5)).astype(np.float32)).to(torch.bfloat16)
    out = upsample_bilinear(x, (13, 11))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, torch_up(x.float().numpy(), (13, 11)), rtol=0, atol=5e-7)


def test_read_only_input_is_resampled_without_a_warning():
    x = np.random.default_rng(10).normal(size=(1, 4, 4)).astype(np.float32)
    x.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns when it wraps read-only memory
        np.testing.assert_allclose(upsample_bilinear(x, (8, 8)), torch_up(x.copy(), (8, 8)), rtol=0, atol=5e-7)


def test_output_shape_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match=r"expected a \(C, h, w\) output, got shape \(4, 4\)"):
        upsample_bilinear(np.zeros((4, 4), np.float32), (8, 8))
    for out_hw in ((0, 5), (5, 0)):
        with pytest.raises(ValueError, match="output size must be positive"):
            upsample_bilinear(np.zeros((1, 4, 4), np.float32), out_hw)
    with pytest.raises(ValueError, match=r"foreground mask is \(3, 4\), output is \(4, 4\)"):
        postprocess_depth(np.zeros((1, 4, 4), np.float32), (4, 4), foreground=np.ones((3, 4), bool))


def test_a_uint8_foreground_mask_is_read_as_true_false():
    # A mask read from a PNG is 0/255 uint8: background is where it is 0, not a bitwise NOT used as indices.
    raw = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    fg = np.zeros((4, 4), np.uint8)
    fg[1:3, 1:3] = 255
    depth = postprocess_depth(raw, (4, 4), foreground=fg)
    np.testing.assert_array_equal(np.isnan(depth), fg == 0)
    np.testing.assert_array_equal(depth[1:3, 1:3], raw[0, 1:3, 1:3])
    normal = postprocess_normal(np.ones((3, 4, 4), np.float32), (4, 4), foreground=fg)
    np.testing.assert_array_equal(np.isnan(normal).all(axis=-1), fg == 0)


def test_256_classes_fit_a_uint8_map_257_do_not():
    logits = np.zeros((256, 2, 2), np.float32)
    logits[255, 0, 1] = 1.0
    np.testing.assert_array_equal(logits_to_classes(logits, (2, 2)), [[0, 255], [0, 0]])
    with pytest.raises(ValueError, match="257 classes do not fit a uint8 class map"):
        logits_to_classes(np.zeros((257, 2, 2), np.float32), (2, 2))


def test_foreground_probability_of_exactly_0_3_is_background():
    # The lite demo keeps sigmoid > 0.3, strictly. Find float32 logits whose sigmoid is 0.3 to the last bit
    # (torch's own sigmoid, near logit(0.3) = ln(3/7)), one float32 step below and above them.
    start = np.float32(np.log(3 / 7))
    xs = start + np.arange(-40, 40, dtype=np.float32) * np.spacing(start)
    probs = torch.sigmoid(torch.from_numpy(xs))
    exact = xs[(probs == 0.3).numpy()]
    assert exact.size  # the setup: such logits exist
    logits = np.array([[[exact[0], np.nextafter(exact.max(), np.float32(1))]]], np.float32)
    np.testing.assert_array_equal(logits_to_classes(logits, (1, 2)), [[0, 1]])


def test_one_pixel_high_or_wide_outputs_are_allowed():
    x = np.random.default_rng(11).normal(size=(2, 6, 5)).astype(np.float32)
    for out_hw in ((1, 7), (7, 1), (1, 1)):
        np.testing.assert_allclose(upsample_bilinear(x, out_hw), torch_up(x, out_hw), rtol=0, atol=5e-7)


@pytest.mark.parametrize(
    "images, message",
    [
        ([], r"^normalize\(\) needs at least one image$"),
        ([np.zeros((4, 4, 4), np.uint8)], r"must all be \(H, W, 3\) of one size; got \(4, 4, 4\) after \(4, 4, 4\)"),
        (
            [np.zeros((4, 4, 3), np.uint8), np.zeros((2, 4, 3), np.uint8)],
            r"must all be \(H, W, 3\) of one size; got \(2, 4, 3\) after \(4, 4, 3\)",
        ),
        ([np.zeros((4, 4, 3), np.float32)], "images must be uint8 RGB, got float32"),
    ],
    ids=["none", "rgba", "two-sizes", "float"],
)
def test_normalize_refuses_what_is_not_a_batch_of_uint8_rgb(images, message):
    with pytest.raises(ValueError, match=message):
        normalize(images)
