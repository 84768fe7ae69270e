"""Top-down person crops with the UDP warp, official/training variant (spec §2.1 "Crop", §0.6).

Not the lite demo's crop (aspect fixed to the image's, warp to image size, then a non-uniform resize): here the
box aspect is fixed to 768/1024 = 0.75 and the warp goes straight to 768x1024, as mmpose's
``GetBBoxCenterScale(padding=1.25)`` + ``TopdownAffine(use_udp=True)``.

UDP ("unbiased data processing") maps the box's edges to pixel *centres* 0 and size-1 of the crop:
x' = (ow - 1) / s_w * (x - c_x + s_w / 2). That makes the inverse exact and a horizontal flip of the crop equal to
the crop of the flipped image. Geometry is float64: a 0.001 px error is irrelevant, but float32 centres of
an 8000-pixel image already lose that much.

Sizes are (w, h) as in mmpose, points are (x, y).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

CROP_SIZE = (768, 1024)  # (w, h) network input of the pose models
BOX_PADDING = 1.25


def box_to_center_scale(
    box_xyxy, aspect: float = CROP_SIZE[0] / CROP_SIZE[1], padding: float = BOX_PADDING
) -> tuple[np.ndarray, np.ndarray]:
    """(..., 4+) xyxy boxes -> center (..., 2), scale (..., 2) = padded box size with w/h fixed to ``aspect``.

    The short side grows (never shrinks), so the crop always contains the padded box. Extra columns (a score)
    are ignored.
    """
    box = np.asarray(box_xyxy, dtype=np.float64)[..., :4]
    if box.shape[-1] != 4:
        raise ValueError(f"boxes must be (..., 4) xyxy, got shape {np.shape(box_xyxy)}")
    center = 0.5 * (box[..., :2] + box[..., 2:])
    w = (box[..., 2] - box[..., 0]) * padding
    h = (box[..., 3] - box[..., 1]) * padding
    wider = w > h * aspect
    scale = np.stack([np.where(wider, w, h * aspect), np.where(wider, w / aspect, h)], axis=-1)
    return center, scale


def udp_warp_matrix(center, scale, output_size=CROP_SIZE, rotation_deg: float = 0.0) -> np.ndarray:
    """(2, 3) float64 affine matrix image -> crop (spec §2.1 general form; rotation used by the trainer).

    Rotation is about the box centre; sx = (ow-1)/s_w, sy = (oh-1)/s_h scale after rotating.
    """
    cx, cy = (float(v) for v in np.asarray(center, dtype=np.float64).reshape(2))
    sw, sh = (float(v) for v in np.asarray(scale, dtype=np.float64).reshape(2))
    if not (sw > 0 and sh > 0):
        raise ValueError(f"box scale must be positive, got {(sw, sh)}")
    sx = (output_size[0] - 1) / sw
    sy = (output_size[1] - 1) / sh
    t = math.radians(rotation_deg)
    cos, sin = math.cos(t), math.sin(t)
    return np.array(
        [
            [sx * cos, -sx * sin, sx * (-cx * cos + cy * sin + 0.5 * sw)],
            [sy * sin, sy * cos, sy * (-cx * sin - cy * cos + 0.5 * sh)],
        ]
    )


def _apply(matrix: np.ndarray, points) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    return p @ matrix[:, :2].T + matrix[:, 2]


def image_to_crop(points_img, center, scale, output_size=CROP_SIZE, rotation_deg: float = 0.0) -> np.ndarray:
    """(..., 2) image points -> crop pixels, through the same matrix the crop is warped with."""
    return _apply(udp_warp_matrix(center, scale, output_size, rotation_deg), points_img)


def crop_to_image(points_crop, center, scale, input_size=CROP_SIZE, rotation_deg: float = 0.0) -> np.ndarray:
    """(..., 2) crop pixels -> image points: the exact inverse of ``udp_warp_matrix``.

    (For decoded heatmaps use ``heatmap.keypoints_to_image``: mmpose's intermediate "crop pixel" of a heatmap
    point is kp_hm / (hm-1) * input, which differs from a true UDP crop pixel by input / (input-1).)
    """
    inverse = cv2.invertAffineTransform(udp_warp_matrix(center, scale, input_size, rotation_deg))
    return _apply(inverse, points_crop)


def crop_person(image: np.ndarray, center, scale, output_size=CROP_SIZE, rotation_deg: float = 0.0) -> np.ndarray:
    """Warp the box region to an ``output_size`` (w, h) crop, bilinear, outside the image = 0.

    Works for any box, also one partly or wholly outside the image.
    """
    matrix = udp_warp_matrix(center, scale, output_size, rotation_deg)
    return cv2.warpAffine(
        image,
        matrix,
        (int(output_size[0]), int(output_size[1])),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
