"""Layer files refused for the right reason, with a message naming the file or the layer: survivors of layers'
mutation run (tests/mutate.py).

The foreign files are written with PIL (16-bit greyscale, RGB, RGBA PNGs) or as raw bytes, never with the module
under test, and each refusal is checked by its message, which is what the user reads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sapiens_core.annotation import layers


def _png(path: Path, array: np.ndarray) -> Path:
    Image.fromarray(array).save(path)
    return path


def _grey16(tmp_path: Path) -> Path:
    return _png(tmp_path / "grey16.png", np.full((2, 3), 40000, np.uint16))


def _rgb(tmp_path: Path) -> Path:
    return _png(tmp_path / "rgb.png", np.zeros((2, 3, 3), np.uint8))


def _rgba(tmp_path: Path) -> Path:
    return _png(tmp_path / "rgba.png", np.zeros((2, 3, 4), np.uint8))


# ------------------------------------------------------------------------------------------------ readers


def test_a_class_png_of_another_kind_says_its_depth_and_channel_count(tmp_path):
    with pytest.raises(
        ValueError, match=r"^rgb\.png is not a single-channel 8-bit class-id PNG \(uint8, 3 channels\)$"
    ):
        layers.read_class_png(_rgb(tmp_path))
    with pytest.raises(ValueError, match=r"^grey16\.png is not .* class-id PNG \(uint16, 1 channels\)$"):
        layers.read_class_png(_grey16(tmp_path))


def test_a_16_bit_png_is_neither_a_mask_nor_a_grey_layer(tmp_path):
    path = _grey16(tmp_path)
    with pytest.raises(ValueError, match=r"^grey16\.png is not a single-channel 8-bit mask PNG$"):
        layers.read_mask_png(path)
    with pytest.raises(ValueError, match=r"^grey16\.png is not a single-channel 8-bit alpha PNG$"):
        layers.read_gray_png(path, "alpha")


def test_an_rgba_png_is_not_an_rgb_layer(tmp_path):
    with pytest.raises(ValueError, match=r"^rgba\.png is not an 8-bit RGB foreground PNG$"):
        layers.read_rgb_png(_rgba(tmp_path), "foreground")


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n truncated"], ids=["empty", "truncated"])
def test_an_empty_or_broken_png_is_refused_by_name(tmp_path, content):
    path = tmp_path / "layer.png"
    path.write_bytes(content)
    for read in (layers.read_class_png, layers.read_mask_png):
        with pytest.raises(ValueError, match=r"^layer\.png is not a readable PNG \(empty, truncated or another"):
            read(path)


def test_a_float_array_of_the_wrong_kind_names_the_layer(tmp_path):
    path = tmp_path / "n.npy"
    np.save(path, np.zeros((2, 3, 3), np.float64))
    with pytest.raises(
        ValueError, match=r"^normal must be a float32 array of shape \(H, W, 3\), not float64 \(2, 3, 3\)$"
    ):
        layers.read_float_npy(path, 3, "normal")
    with pytest.raises(ValueError, match=r"^depth must be a float32 array of shape \(H, W\), not float64 \(2, 3, 3\)$"):
        layers.read_float_npy(path, None, "depth")


# ------------------------------------------------------------------------------------------------ writers


def test_writers_refuse_arrays_of_the_wrong_kind_and_write_nothing(tmp_path):
    out = tmp_path / "out.png"
    cases = [
        (
            lambda: layers.write_mask_png(out, np.zeros((2, 3), np.uint8)),
            r"^a mask must be a 2-D bool array, not uint8",
        ),
        (
            lambda: layers.write_gray_png(out, np.zeros((2, 3), np.float32), "alpha"),
            r"^alpha must be a 2-D uint8 array",
        ),
        (
            lambda: layers.write_rgb_png(out, np.zeros((2, 3, 3), np.float32), "foreground"),
            r"^foreground must be an \(H, W, 3\) uint8 array, not float32 \(2, 3, 3\)$",
        ),
        (
            lambda: layers.write_rgb_png(out, np.zeros((2, 3, 4), np.uint8), "foreground"),
            r"^foreground must be an \(H, W, 3\) uint8 array, not uint8 \(2, 3, 4\)$",
        ),
        (
            lambda: layers.write_float_npy(tmp_path / "d.npy", np.zeros((2, 3), np.float64), None, "depth"),
            r"^depth must be a float32 array of shape \(H, W\), not float64 \(2, 3\)$",
        ),
    ]
    for write, message in cases:
        with pytest.raises(ValueError, match=message):
            write()
    assert list(tmp_path.iterdir()) == []


def test_check_float_layer_names_the_expected_shape():
    with pytest.raises(ValueError, match=r"^depth must be a float32 array of shape \(H, W\), not float32 \(2, 3, 1\)$"):
        layers.check_float_layer(np.zeros((2, 3, 1), np.float32), None, "depth")
    with pytest.raises(
        ValueError, match=r"^pointmap must be a float32 array of shape \(H, W, 3\), not float32 \(2, 3\)$"
    ):
        layers.check_float_layer(np.zeros((2, 3), np.float32), 3, "pointmap")
