"""Matting at its boundaries: the network input of another size in either fitting mode, the [0, 1] check exactly at
its bf16 slack and for a NaN among valid values, and values just past 0 or 1 that must clip to 0 / 255 rather
than wrap around in uint8. Survivors of sapiens2_matting's mutation run."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sapiens_core.tasks import sapiens2_matting
from sapiens_core.tasks.sapiens2_matting import check_matting_output, matting_input, matting_to_layers

RNG = np.random.default_rng(11)
NET_HW = (16, 12)


def _image(h: int = 30, w: int = 20) -> np.ndarray:
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_a_stretched_input_of_another_size():
    image = _image()  # 20 wide into 12: shrinks, so INTER_AREA (the seg demo's rule)
    net, padding = matting_input(image, NET_HW)
    assert padding is None and net.shape == (16, 12, 3)
    assert np.array_equal(net, cv2.resize(image, (12, 16), interpolation=cv2.INTER_AREA))


def test_a_padded_input_of_another_size(monkeypatch):
    monkeypatch.setattr(sapiens2_matting, "MATTING_INPUT", "pad")
    image = _image()  # r = min(12/20, 16/30): 16 rows, 10 columns, one column of black on either side
    net, padding = matting_input(image, NET_HW)
    assert net.shape == (16, 12, 3) and padding.input_hw == NET_HW
    assert (padding.left, padding.right, padding.top, padding.bottom) == (1, 1, 0, 0)
    assert np.array_equal(net[:, 1:11], cv2.resize(image, (10, 16), interpolation=cv2.INTER_LINEAR))


def _raw(value: float) -> np.ndarray:
    raw = np.full((4, *NET_HW), 0.5, np.float32)
    raw[3, 0, 0] = value
    return raw


@pytest.mark.parametrize("value", [-0.01, 1.01, 0.0, 1.0])
def test_values_within_the_bf16_slack_are_accepted(value):
    assert check_matting_output(_raw(value))[3, 0, 0] == np.float32(value)


@pytest.mark.parametrize("value", [np.nan, np.inf, -0.5, -0.0101, 1.0101])
def test_a_value_outside_zero_one_or_not_finite_is_refused(value):
    with pytest.raises(ValueError, match=r"^matting output must lie in \[0, 1\] \(sigmoid-activated\)"):
        check_matting_output(_raw(value))


def test_values_just_past_zero_or_one_clip_to_the_ends_not_around():
    """-0.005 * 255 rounds to -1, which uint8 would store as 255; 1.005 * 255 rounds to 256, stored as 0."""
    raw = np.full((4, *NET_HW), 0.5, np.float32)
    raw[:, :, :6] = -0.005
    raw[:, :, 6:] = 1.005
    matte = matting_to_layers(raw, NET_HW)
    assert (matte.alpha[:, :6] == 0).all() and (matte.alpha[:, 6:] == 255).all()
    assert (matte.foreground[:, :6] == 0).all() and (matte.foreground[:, 6:] == 255).all()
