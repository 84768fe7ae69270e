"""The detector's input, as mmdet's test pipeline builds it (spec §4): keep-ratio resize, pad 114, BGR mean/std.

cv2 on uint8 for the resize (bilinear), so pixels match mmcv's ``imrescale`` exactly; padding goes on the bottom
and right only. The per-axis scale factors (actual new size / old size, not the ratio used) map boxes back.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

INPUT_SIZE = 640
PAD_VALUE = 114
# ImageNet mean/std * 255 in B, G, R order: the detector was trained on BGR images (bgr_to_rgb=False).
BGR_MEAN = (103.53, 116.28, 123.675)
BGR_STD = (57.375, 57.12, 58.395)
# "bgr" is correct mmdet behaviour (and pose/demo); "rgb" would reproduce the lite demo, which feeds RGB pixels
# to this BGR-trained model (spec §6). Changing it is this one line.
CHANNEL_ORDER = "bgr"


@dataclass(frozen=True)
class Letterboxed:
    """One image ready for the network, and what is needed to map its boxes back."""

    tensor: np.ndarray  # (3, size_h, size_w) float32, normalised (or raw 0..255 when no mean/std)
    scale: tuple[float, float]  # (new_w / w, new_h / h)
    resized: tuple[int, int]  # (new_w, new_h): the content area, top-left aligned


def rescaled_size(width: int, height: int, size: tuple[int, int]) -> tuple[int, int]:
    """mmcv's imrescale size: one ratio so the image fits ``size`` (w, h), rounded half up per axis."""
    ratio = min(max(size) / max(width, height), min(size) / min(width, height))
    return int(width * ratio + 0.5), int(height * ratio + 0.5)


def letterbox(
    rgb: np.ndarray,
    size: tuple[int, int] = (INPUT_SIZE, INPUT_SIZE),
    mean: tuple[float, float, float] | None = BGR_MEAN,
    std: tuple[float, float, float] | None = BGR_STD,
    channel_order: str = CHANNEL_ORDER,
) -> Letterboxed:
    """``rgb`` (H, W, 3) uint8 -> the network input at ``size`` (w, h); mean/std None leaves raw 0..255 values."""
    image = np.asarray(rgb)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or 0 in image.shape:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
    height, width = image.shape[:2]
    new_w, new_h = rescaled_size(width, height, size)
    ordered = image[..., ::-1] if channel_order == "bgr" else image
    resized = cv2.resize(np.ascontiguousarray(ordered), (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((size[1], size[0], 3), PAD_VALUE, np.uint8)
    canvas[:new_h, :new_w] = resized
    x = canvas.astype(np.float32)
    if mean is not None and std is not None:
        x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return Letterboxed(np.ascontiguousarray(x.transpose(2, 0, 1)), (new_w / width, new_h / height), (new_w, new_h))
