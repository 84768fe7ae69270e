"""Network input preparation (spec §2.0): whole-image resize for seg/depth/normal and ImageNet normalisation.

The exact training statistics are used (task_specs.MEAN_RGB / STD_RGB), not the lite demos' rounded ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..task_specs import INPUT_SIZE, MEAN_RGB, STD_RGB

# A uint8 has 256 values, so (v - mean) / std is a 256-entry table per channel: normalising becomes one gather
# pass that writes each float once. The table is computed in float32 exactly as torch's (x.float() - m) / s,
# so the result is bit-identical to the mmengine data preprocessor.
_LUT = (
    (np.arange(256, dtype=np.float32)[None, :] - np.asarray(MEAN_RGB, np.float32)[:, None])
    / np.asarray(STD_RGB, np.float32)[:, None]
).astype(np.float32)


def normalize(images: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB images (a list, a (B, H, W, 3) array, or one image) -> (B, 3, H, W) float32."""
    if isinstance(images, np.ndarray) and images.ndim == 3:
        images = images[None]
    if len(images) == 0:
        raise ValueError("normalize() needs at least one image")
    shape = np.shape(images[0])
    out = np.empty((len(images), 3, shape[0], shape[1]), dtype=np.float32)
    for b, image in enumerate(images):
        image = np.asarray(image)
        if image.shape != shape or image.ndim != 3 or shape[2] != 3:
            raise ValueError(f"images must all be (H, W, 3) of one size; got {image.shape} after {shape}")
        if image.dtype != np.uint8:
            raise ValueError(f"images must be uint8 RGB, got {image.dtype}")
        for c in range(3):
            # mode="clip" lets numpy write straight into ``out`` (indices are < 256 by construction anyway).
            np.take(_LUT[c], image[:, :, c], out=out[b, c], mode="clip")
    return out


def resize_for_model(image_rgb: np.ndarray, size: tuple[int, int] = INPUT_SIZE) -> np.ndarray:
    """Whole image -> ``size`` (H, W), bilinear, aspect NOT preserved (the official seg/depth/normal test pipeline)."""
    h, w = size
    if image_rgb.shape[:2] == (h, w):
        return image_rgb
    return cv2.resize(image_rgb, (int(w), int(h)), interpolation=cv2.INTER_LINEAR)
