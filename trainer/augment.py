"""Training augmentations of spec §6 as plain functions of a numpy ``Generator``: every switch in ``AugmentConfig``.

Geometry never resamples twice: flip, half-body and the random box transform only change the crop's centre,
scale and rotation (and the label arrays' order), and the one UDP warp at the end applies them to the image and,
through the same matrix, to every label. Photometric changes act on the warped uint8 crop.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    flip: float = 0.5  # probability of a horizontal flip (labels swapped by the schema's flip table)
    half_body: float = 0.3  # pose: probability of cropping to the upper or lower body
    half_body_min_points: int = 9
    half_body_padding: float = 1.5
    upper_priority: float = 0.7
    shift: float = 0.16  # pose: box shift as a fraction of its size ...
    shift_prob: float = 0.3  # ... applied with this probability
    scale: tuple[float, float] = (0.5, 1.5)  # pose box scale factor (always applied); dense: zoom range
    rotate: float = 80.0  # degrees, +- (pose 80, seg 45, depth 60 in the official configs)
    rotate_prob: float = 0.6
    photometric: bool = True

    @classmethod
    def off(cls) -> AugmentConfig:
        return cls(flip=0, half_body=0, shift_prob=0, scale=(1.0, 1.0), rotate=0, rotate_prob=0, photometric=False)


def flip_points(points: np.ndarray, width: int, flip_index: np.ndarray) -> np.ndarray:
    """(K, C>=2) image points of a mirrored image: x -> w-1-x (pixel centres), left/right rows swapped."""
    out = np.array(points, dtype=np.float64, copy=True)[flip_index]
    out[:, 0] = (width - 1) - out[:, 0]
    return out


def half_body_box(points: np.ndarray, labeled: np.ndarray, halves, rng: np.random.Generator, cfg: AugmentConfig):
    """xyxy box around the upper or lower labeled points (mmpose RandomHalfBody), or None when it does not apply."""
    halves = np.asarray(halves)
    if labeled.sum() < cfg.half_body_min_points or rng.random() >= cfg.half_body:
        return None
    upper, lower = labeled & (halves == "upper"), labeled & (halves == "lower")
    if rng.random() < cfg.upper_priority:
        chosen = upper if upper.sum() >= 2 else lower
    else:
        chosen = lower if lower.sum() >= 3 else upper
    if chosen.sum() < 2:
        return None
    xy = points[chosen, :2]
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    centre, size = (lo + hi) / 2, (hi - lo) * cfg.half_body_padding / 1.25  # box_to_center_scale pads 1.25 again
    return np.concatenate([centre - size / 2, centre + size / 2])


def random_box_transform(
    center: np.ndarray, scale: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig
) -> tuple[np.ndarray, np.ndarray, float]:
    """Shift (p ``shift_prob``), scale (uniform in ``scale``), rotate (p ``rotate_prob``) the crop box."""
    center, scale = np.array(center, np.float64), np.array(scale, np.float64)
    if rng.random() < cfg.shift_prob:
        center = center + rng.uniform(-1, 1, 2) * cfg.shift * scale
    scale = scale * rng.uniform(*cfg.scale)
    rotation = float(rng.uniform(-cfg.rotate, cfg.rotate)) if rng.random() < cfg.rotate_prob else 0.0
    return center, scale, rotation


def photometric(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """mmcv PhotoMetricDistortion on an RGB uint8 image: brightness +-32, contrast and saturation 0.5-1.5, hue +-18,
    each with probability 0.5 (contrast before or after the colour changes, at random)."""
    img = image.astype(np.float32)
    if rng.random() < 0.5:
        img += rng.uniform(-32, 32)
    contrast_first = rng.random() < 0.5
    contrast = rng.uniform(0.5, 1.5) if rng.random() < 0.5 else None
    if contrast is not None and contrast_first:
        img *= contrast
    saturation = rng.uniform(0.5, 1.5) if rng.random() < 0.5 else None
    hue = rng.uniform(-18, 18) if rng.random() < 0.5 else None
    if saturation is not None or hue is not None:
        hsv = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
        if saturation is not None:
            hsv[..., 1] = np.clip(hsv[..., 1] * saturation, 0, 255)
        if hue is not None:
            hsv[..., 0] = (hsv[..., 0] + hue / 2) % 180  # OpenCV's 8-bit hue is degrees / 2
        img = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    if contrast is not None and not contrast_first:
        img *= contrast
    return np.clip(img, 0, 255).astype(np.uint8)


def dense_matrix(
    image_size: tuple[int, int], output_size: tuple[int, int], zoom: float = 1.0, rotation_deg: float = 0.0
) -> np.ndarray:
    """(2, 3) image -> network input for seg/depth/normal: the official whole-image resize (aspect not kept),
    then a zoom and rotation about the output's centre (RandomResize/RandomRotate of the mmseg configs)."""
    (iw, ih), (ow, oh) = image_size, output_size
    resize = np.array([[ow / iw, 0, 0.5 * ow / iw - 0.5], [0, oh / ih, 0.5 * oh / ih - 0.5], [0, 0, 1]])
    centre = np.array([(ow - 1) / 2, (oh - 1) / 2])
    turn = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), -rotation_deg, zoom)
    return (np.vstack([turn, [0, 0, 1]]) @ resize)[:2]


def rotate_vectors(normal: np.ndarray, rotation_deg: float) -> np.ndarray:
    """Rotate the in-plane (x, y) components of (..., 3) normals with the image (y points down in both)."""
    t = np.radians(rotation_deg)
    cos, sin = np.cos(t), np.sin(t)
    out = normal.copy()
    out[..., 0] = cos * normal[..., 0] - sin * normal[..., 1]
    out[..., 1] = sin * normal[..., 0] + cos * normal[..., 1]
    return out
