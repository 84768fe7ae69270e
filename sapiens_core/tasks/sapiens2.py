"""Sapiens2 network inputs per task (Sapiens2 spec §3, §4.2): every model takes 1024x768 (H x W), brought there
three ways.

* seg: the whole image stretched, aspect ignored; INTER_AREA when the width shrinks, else INTER_CUBIC;
* normal, pointmap: aspect kept (scale min(768/W, 1024/H), floor of each side, INTER_LINEAR), then centred zero
  padding (left = pad_w // 2, top = pad_h // 2, the odd pixel right/bottom), remembered for un-padding;
* pose: v1's per-person UDP crop (tasks.crop) with Sapiens2's interpolation: INTER_AREA below scale 1, else
  INTER_CUBIC. Decoding is v1's UDP + DARK (tasks.pose.decode_pose): same heatmap size, codec and 308 points.

Normalisation (ImageNet mean/std on 0-255 RGB) is v1's ``tasks.preprocess.normalize``. Images are RGB uint8.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .crop import CROP_SIZE, udp_warp_matrix

INPUT_HW = (1024, 768)  # (H, W)


def stretch_for_seg(image: np.ndarray, input_hw: tuple[int, int] = INPUT_HW) -> np.ndarray:
    """The whole image resized to ``input_hw``, aspect ignored (the seg demo's resize)."""
    h, w = input_hw
    interpolation = cv2.INTER_AREA if w < image.shape[1] else cv2.INTER_CUBIC
    return cv2.resize(image, (int(w), int(h)), interpolation=interpolation)


@dataclass(frozen=True)
class Padding:
    """Where the resized image sits inside the network input, and how it got there."""

    image_hw: tuple[int, int]  # the original image
    input_hw: tuple[int, int]  # the network input (1024, 768)
    scale: float  # r = min(W_in / W, H_in / H)
    top: int
    bottom: int
    left: int
    right: int

    @property
    def resized_hw(self) -> tuple[int, int]:
        return self.input_hw[0] - self.top - self.bottom, self.input_hw[1] - self.left - self.right

    @property
    def rows(self) -> slice:
        return slice(self.top, self.input_hw[0] - self.bottom)

    @property
    def cols(self) -> slice:
        return slice(self.left, self.input_hw[1] - self.right)


def padding_for(image_hw: tuple[int, int], input_hw: tuple[int, int] = INPUT_HW) -> Padding:
    h, w = (int(v) for v in image_hw)
    if h <= 0 or w <= 0:
        raise ValueError(f"image size must be positive, got {image_hw}")
    in_h, in_w = input_hw
    scale = min(in_w / w, in_h / h)
    # floor, and at least one pixel: a 1 x 5000 strip still becomes a (thin) image, never an empty one
    new_h, new_w = max(1, min(in_h, int(h * scale))), max(1, min(in_w, int(w * scale)))
    pad_h, pad_w = in_h - new_h, in_w - new_w
    return Padding((h, w), (in_h, in_w), scale, pad_h // 2, pad_h - pad_h // 2, pad_w // 2, pad_w - pad_w // 2)


def resize_and_pad(image: np.ndarray, input_hw: tuple[int, int] = INPUT_HW) -> tuple[np.ndarray, Padding]:
    """(H, W, 3) uint8 -> (1024, 768, 3) uint8 with the aspect kept and black bars, and the padding."""
    padding = padding_for(image.shape[:2], input_hw)
    new_h, new_w = padding.resized_hw
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    out = np.zeros((*padding.input_hw, *image.shape[2:]), dtype=image.dtype)
    out[padding.rows, padding.cols] = resized
    return out, padding


def unpad(array: np.ndarray, padding: Padding, channels_last: bool = False) -> np.ndarray:
    """Cut the padding off a network-resolution map: (C, H, W) or (H, W), or (H, W, C) with ``channels_last``."""
    array = np.asarray(array)
    hw_axes = (0, 1) if channels_last or array.ndim == 2 else (array.ndim - 2, array.ndim - 1)
    if tuple(array.shape[a] for a in hw_axes) != tuple(padding.input_hw):
        raise ValueError(f"map is {array.shape}, expected {padding.input_hw} on its height and width axes")
    index = [slice(None)] * array.ndim
    index[hw_axes[0]], index[hw_axes[1]] = padding.rows, padding.cols
    return array[tuple(index)]


def pose_interpolation(center, scale, output_size=CROP_SIZE) -> int:
    """INTER_AREA when the crop shrinks the box (scale (ow - 1) / box_w below 1), else INTER_CUBIC (spec §4.2)."""
    del center  # the matrix's scale depends on the box size only
    box_w = float(np.asarray(scale, dtype=np.float64).reshape(2)[0])
    return cv2.INTER_AREA if (output_size[0] - 1) / box_w < 1 else cv2.INTER_CUBIC


def crop_person_v2(image: np.ndarray, center, scale, output_size=CROP_SIZE) -> np.ndarray:
    """v1's UDP crop (same matrix, same box rule) with Sapiens2's interpolation; outside the image is black.

    OpenCV may treat INTER_AREA as linear inside warpAffine (UNVERIFIED in the spec); passing the same flag
    keeps us where the reference is either way.
    """
    matrix = udp_warp_matrix(center, scale, output_size)
    return cv2.warpAffine(
        image,
        matrix,
        (int(output_size[0]), int(output_size[1])),
        flags=pose_interpolation(center, scale, output_size),
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
