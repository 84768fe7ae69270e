"""Sapiens2 matting in and out (Sapiens2 spec §4.7): the network input, and its (4, 1024, 768) output -> an alpha
matte and a premultiplied foreground at the image's resolution.

What is known: the model gives premultiplied foreground RGB and alpha, sigmoid-activated in [0, 1], at 1024x768
(the HF docs). What is not: how the original code brings an image to 1024x768 for matting (the spec's snapshot
predates the release). transformers 5.23.0's image processor stretches unless padding is switched on, names only
normal, albedo and pointmap as padded tasks, and its matting post-processing resizes to the target size without
cutting any padding: a stretch. We follow it (UNVERIFIED), with the seg demo's AREA/CUBIC stretch (the original
code's interpolation; transformers notes it resamples bilinearly instead). Should matting turn out to be padded
like normal, ``MATTING_INPUT = "pad"`` is the whole change: both ways are implemented and tested.

Both layers are stored as 8-bit (the precision of a PNG matte and of transformers' composites): alpha as (H, W)
uint8, the foreground as (H, W, 3) uint8 RGB, each ``round(255 * value)``. The foreground is kept as the model
gives it (premultiplied: it is the person's colour times alpha, so it is black where alpha is 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..nn.sapiens2_heads import MATTING_ALPHA_CHANNEL, MATTING_FOREGROUND_CHANNELS
from .dense import _StripUpsampler  # the strip-wise bilinear resize every dense output shares (bounded memory)
from .sapiens2 import INPUT_HW, Padding, resize_and_pad, stretch_for_seg, unpad

MATTING_INPUT = "stretch"  # UNVERIFIED (see above): "stretch" as transformers does, or "pad" as normal/pointmap
MATTE_LEVELS = 255  # 8-bit layers


@dataclass(frozen=True)
class Matte:
    alpha: np.ndarray  # (H, W) uint8: 0 background, 255 the person
    foreground: np.ndarray  # (H, W, 3) uint8 premultiplied RGB


def matting_input(image: np.ndarray, input_hw: tuple[int, int] = INPUT_HW) -> tuple[np.ndarray, Padding | None]:
    """(H, W, 3) uint8 RGB -> the (1024, 768, 3) network image, and its padding when ``MATTING_INPUT`` pads."""
    if MATTING_INPUT == "pad":
        return resize_and_pad(image, input_hw)
    return stretch_for_seg(image, input_hw), None


def check_matting_output(raw) -> np.ndarray:
    """A (4, h, w) float array of values in [0, 1] (a little rounding past either end is allowed for bf16)."""
    raw = np.asarray(raw, dtype=np.float32)
    if raw.ndim != 3 or raw.shape[0] != 4:
        raise ValueError(f"matting output must be (4, H, W): foreground RGB and alpha; got {raw.shape}")
    if not np.isfinite(raw).all() or raw.min() < -0.01 or raw.max() > 1.01:
        raise ValueError("matting output must lie in [0, 1] (sigmoid-activated); is it a matting model?")
    return raw


def _to_levels(values) -> np.ndarray:
    return np.rint(np.clip(np.asarray(values), 0.0, 1.0) * MATTE_LEVELS).astype(np.uint8)


def matting_to_layers(raw, image_hw: tuple[int, int], padding: Padding | None = None) -> Matte:
    """(4, 1024, 768) output -> the matte at ``image_hw`` (H, W): padding cut off first when the input was padded,
    then a bilinear resize (align_corners off, as transformers' post-processing), clipped to [0, 1], 8-bit."""
    raw = check_matting_output(raw)
    if padding is not None:
        raw = np.ascontiguousarray(unpad(raw, padding))
    up = _StripUpsampler(raw, image_hw)
    alpha = np.empty((up.out_h, up.out_w), np.uint8)
    foreground = np.empty((up.out_h, up.out_w, 3), np.uint8)
    for r0, r1, strip in up.strips():  # strip by strip: a large photo never holds four float maps at once
        alpha[r0:r1] = _to_levels(strip[MATTING_ALPHA_CHANNEL].numpy())
        foreground[r0:r1] = _to_levels(strip[MATTING_FOREGROUND_CHANNELS].numpy().transpose(1, 2, 0))
    return Matte(alpha, foreground)
