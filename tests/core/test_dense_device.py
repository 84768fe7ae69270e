"""The device post-processing path (issue 12): the tensor stays where it is and only the reduced map is copied.

Run here on CPU tensors forced through that path (``on_device=True``); the expectations are the host path's outputs
and, independently, torch's one-shot F.interpolate followed by the plain reductions.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sapiens_core.tasks import dense

# (input h, w) -> (output H, W): upsampling, downsampling, odd sizes, one axis unchanged
SIZES = [((16, 12), (61, 47)), ((33, 25), (17, 11)), ((9, 7), (9, 30)), ((20, 15), (80, 60))]


def _raw(channels, hw, seed):
    return torch.randn(channels, *hw, generator=torch.Generator().manual_seed(seed))


def _one_shot(raw, out_hw):
    return F.interpolate(raw[None], size=out_hw, mode="bilinear", align_corners=False)[0]


def _mask(out_hw, seed):
    return np.random.default_rng(seed).random(out_hw) > 0.4


@pytest.mark.parametrize("in_hw, out_hw", SIZES)
def test_seg_classes_match_the_host_path_and_one_shot_argmax(in_hw, out_hw):
    raw = _raw(28, in_hw, 1)
    device = dense.logits_to_classes(raw, out_hw, on_device=True)
    assert device.dtype == np.uint8 and device.shape == out_hw
    np.testing.assert_array_equal(device, dense.logits_to_classes(raw.numpy(), out_hw, on_device=False))
    # independent: torch's own resize then argmax; ties are measure-zero for random logits
    np.testing.assert_array_equal(device, _one_shot(raw, out_hw).argmax(0).numpy().astype(np.uint8))


@pytest.mark.parametrize("in_hw, out_hw", SIZES)
def test_foreground_seg_uses_the_sigmoid_threshold_on_device(in_hw, out_hw):
    raw = _raw(1, in_hw, 2)
    device = dense.logits_to_classes(raw, out_hw, on_device=True)
    np.testing.assert_array_equal(device, dense.logits_to_classes(raw, out_hw, on_device=False))
    # sigmoid(x) > 0.3  <=>  x > log(0.3 / 0.7); away from the boundary the one-shot resize must agree
    up = _one_shot(raw, out_hw)[0].numpy()
    cut = np.log(0.3 / 0.7)
    clear = np.abs(up - cut) > 1e-5
    np.testing.assert_array_equal(device[clear], (up > cut)[clear].astype(np.uint8))
    assert set(np.unique(device)) <= {0, 1}


@pytest.mark.parametrize("in_hw, out_hw", SIZES)
def test_depth_on_device_equals_the_host_path_with_and_without_a_mask(in_hw, out_hw):
    raw = _raw(1, in_hw, 3)
    np.testing.assert_array_equal(
        dense.postprocess_depth(raw, out_hw, on_device=True), dense.postprocess_depth(raw, out_hw, on_device=False)
    )
    mask = _mask(out_hw, 4)
    device = dense.postprocess_depth(raw, out_hw, foreground=mask, on_device=True)
    np.testing.assert_array_equal(device, dense.postprocess_depth(raw, out_hw, foreground=mask, on_device=False))
    assert np.isnan(device[~mask]).all() and np.isfinite(device[mask]).all()
    np.testing.assert_allclose(device[mask], _one_shot(raw, out_hw)[0].numpy()[mask], rtol=0, atol=1e-6)


@pytest.mark.parametrize("in_hw, out_hw", SIZES)
def test_normals_on_device_equal_the_host_path_and_are_unit_length(in_hw, out_hw):
    raw = _raw(3, in_hw, 5)
    mask = _mask(out_hw, 6)
    for foreground in (None, mask):
        device = dense.postprocess_normal(raw, out_hw, foreground=foreground, on_device=True)
        host = dense.postprocess_normal(raw, out_hw, foreground=foreground, on_device=False)
        assert device.dtype == np.float32 and device.shape == (*out_hw, 3)
        np.testing.assert_array_equal(device, host)
    assert np.isnan(device[~mask]).all()
    up = _one_shot(raw, out_hw).permute(1, 2, 0).numpy().astype(np.float64)
    expected = up / (np.linalg.norm(up, axis=2, keepdims=True) + 1e-5)
    np.testing.assert_allclose(device[mask], expected[mask], rtol=0, atol=1e-5)


def test_small_device_strips_do_not_change_a_value(monkeypatch):
    """Strips on the device too: a budget of a few rows still gives the one-strip answer."""
    raw = _raw(28, (24, 18), 7)
    whole = dense.logits_to_classes(raw, (97, 70), on_device=True)
    monkeypatch.setattr(dense, "DEVICE_STRIP_BYTES", 28 * 70 * 16 * 3)
    monkeypatch.setattr(dense, "STRIP_BYTES", 28 * 70 * 16 * 3)
    np.testing.assert_array_equal(dense.logits_to_classes(raw, (97, 70), on_device=True), whole)


def test_cpu_tensors_default_to_the_host_path_and_the_switch_turns_the_device_path_off(monkeypatch):
    raw = _raw(3, (8, 6), 8)
    assert dense._StripUpsampler(raw, (16, 12)).on_device is False
    assert dense._StripUpsampler(raw.numpy(), (16, 12)).on_device is False
    assert dense._StripUpsampler(raw, (16, 12), on_device=True).on_device is True

    class OnCuda:  # only the device is read to decide; torch.device("cuda") needs no GPU
        device = torch.device("cuda", 0)

    assert dense.keeps_on_device(OnCuda()) is True
    monkeypatch.setattr(dense, "HOST_POSTPROCESS", True)
    assert dense.keeps_on_device(OnCuda()) is False


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_outputs_match_the_host_path():
    raw = _raw(28, (64, 48), 9)
    gpu = dense.logits_to_classes(raw.cuda(), (251, 190))
    host = dense.logits_to_classes(raw, (251, 190))
    assert (gpu != host).mean() < 1e-3  # CUDA's width kernel may round differently at exact ties only
    normal = _raw(3, (64, 48), 10)
    np.testing.assert_allclose(
        dense.postprocess_normal(normal.cuda(), (251, 190)), dense.postprocess_normal(normal, (251, 190)), atol=1e-5
    )
