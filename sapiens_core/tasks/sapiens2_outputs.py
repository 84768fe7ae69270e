"""Sapiens2 outputs -> image-space results (Sapiens2 spec §4.3-4.5): seg-29 classes, unit normals, metric 3-D.

Pointmap: the network predicts canonical points, the metric points times s = 768 / f_net (f_net: focal length in
pixels at the 768-wide network input), and s itself. Metric XYZ (OpenCV camera frame: x right, y down, z forward;
meters, inferred by the spec) = canonical / s. The map is un-padded, optionally resized to the image, and masked
with the seg foreground. No intrinsics are needed for a point cloud; the focal length it implies is
f_net = 768 / s at the network input and f_net / r at the original resolution (r: the resize factor).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..nn.sapiens2_heads import POINTMAP_SCALE_CHANNEL
from .dense import logits_to_classes, postprocess_normal, upsample_bilinear
from .sapiens2 import Padding, unpad

SEG_CLASS_SCHEMA = "sapiens2_29"
CANONICAL_FOCAL = 768.0  # the training code's canonical_focal_length, in network-input pixels
NORMAL_CLAMP = 1e-8
# The demo blurs before upsampling a pointmap (4 passes of a 3x3 Gaussian, sigma 0.8) so bilinear steps smooth.
UPSAMPLE_BLUR_PASSES = 4
UPSAMPLE_BLUR_SIGMA = 0.8


def seg_to_classes(logits, image_hw) -> np.ndarray:
    """(29, 1024, 768) logits of a stretched image -> (H, W) uint8 ids of ``sapiens2_29``: bilinear back to the
    image (the stretch is undone by the same resize), then argmax. Foreground = id > 0, as in v1."""
    return logits_to_classes(logits, image_hw)


def split_pointmap(raw) -> tuple[np.ndarray, float]:
    """A pointmap model's (4, H, W) output -> canonical XYZ (3, H, W) float32 and the scale s."""
    raw = np.asarray(raw, dtype=np.float32)
    if raw.ndim != 3 or raw.shape[0] != POINTMAP_SCALE_CHANNEL + 1:
        raise ValueError(f"pointmap output must be (4, H, W): XYZ and the scale; got {raw.shape}")
    scale = float(raw[POINTMAP_SCALE_CHANNEL, 0, 0])
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"pointmap scale must be positive, got {scale}")
    return raw[:POINTMAP_SCALE_CHANNEL], scale


def focal_lengths(scale: float, padding: Padding) -> tuple[float, float]:
    """(f at the network input, f at the original image) in pixels, from the predicted scale s."""
    f_net = CANONICAL_FOCAL / float(scale)
    return f_net, f_net / padding.scale


def _resize_points(points: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """(3, h, w) -> (3, H, W) bilinear (align_corners off); blurred first when enlarging, as the demo does."""
    if tuple(points.shape[1:]) == tuple(out_hw):
        return points
    if out_hw[0] > points.shape[1] or out_hw[1] > points.shape[2]:
        hwc = np.ascontiguousarray(points.transpose(1, 2, 0))
        for _ in range(UPSAMPLE_BLUR_PASSES):
            hwc = cv2.GaussianBlur(hwc, (3, 3), UPSAMPLE_BLUR_SIGMA)
        points = hwc.transpose(2, 0, 1)
    return upsample_bilinear(points, out_hw)


def pointmap_to_metric(raw, padding: Padding, out_hw=None, foreground=None) -> np.ndarray:
    """(4, 1024, 768) pointmap output -> (H, W, 3) float32 metric XYZ per pixel; NaN outside ``foreground``.

    ``out_hw`` None keeps the un-padded network resolution; give the image's (H, W) for one point per pixel.
    """
    canonical, scale = split_pointmap(raw)
    points = unpad(canonical / np.float32(scale), padding)
    points = _resize_points(points, tuple(out_hw) if out_hw is not None else tuple(points.shape[1:]))
    out = np.ascontiguousarray(points.transpose(1, 2, 0), dtype=np.float32)
    if foreground is not None:
        mask = np.asarray(foreground, dtype=bool)
        if mask.shape != out.shape[:2]:
            raise ValueError(f"foreground mask is {mask.shape}, the pointmap is {out.shape[:2]}")
        out[~mask] = np.nan
    return out


def metric_depth(points: np.ndarray) -> np.ndarray:
    """(H, W, 3) metric points -> (H, W) depth: the Z channel (v2 has no separate depth model)."""
    return np.asarray(points)[..., 2]


def normal_to_unit(raw, padding: Padding, image_hw, foreground=None) -> np.ndarray:
    """(3, 1024, 768) raw normals -> (H, W, 3) unit normals at the image size; NaN outside ``foreground``.

    The demo's order: L2-normalise (norm clamped at 1e-8), cut the padding, resize bilinearly. The resize is
    v1's, which normalises again after it, so every pixel stays a unit vector (the demo leaves them slightly short).
    """
    raw = np.asarray(raw, dtype=np.float32)
    if raw.ndim != 3 or raw.shape[0] != 3:
        raise ValueError(f"normal output must be (3, H, W), got {raw.shape}")
    unit = raw / np.maximum(np.linalg.norm(raw, axis=0, keepdims=True), NORMAL_CLAMP)
    return postprocess_normal(np.ascontiguousarray(unpad(unit, padding)), image_hw, foreground=foreground)
