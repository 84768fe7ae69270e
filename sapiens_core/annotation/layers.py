"""Per-pixel layers on disk: class ids, masks and mattes as lossless PNG, depth and normals as float32 ``.npy``.

Files are encoded in memory and written with ``atomic_write_bytes`` / ``atomic_path``; OpenCV never opens
a path itself, so non-ASCII folder names work on Windows too (``cv2.imread``/``imwrite`` fail on them there).
Readers raise ValueError describing what is wrong; the caller adds the file name of the document.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ..io.atomic import atomic_path, atomic_write_bytes

__all__ = [
    "write_class_png",
    "read_class_png",
    "write_mask_png",
    "read_mask_png",
    "write_float_npy",
    "read_float_npy",
    "write_gray_png",
    "read_gray_png",
    "write_rgb_png",
    "read_rgb_png",
    "check_class_map",
    "check_float_layer",
]


def check_class_map(class_map: np.ndarray) -> np.ndarray:
    class_map = np.asarray(class_map)
    if class_map.ndim != 2 or class_map.dtype != np.uint8:
        raise ValueError(f"a class map must be a 2-D uint8 array of class ids, not {class_map.dtype} {class_map.shape}")
    return class_map


def check_float_layer(array: np.ndarray, channels: int | None, what: str) -> np.ndarray:
    """``channels`` None: (H, W); otherwise (H, W, channels). float32 only: float64 would double the file."""
    array = np.asarray(array)
    expected = "(H, W)" if channels is None else f"(H, W, {channels})"
    ok_shape = array.ndim == 2 if channels is None else (array.ndim == 3 and array.shape[2] == channels)
    if not ok_shape or array.dtype != np.float32:
        raise ValueError(f"{what} must be a float32 array of shape {expected}, not {array.dtype} {array.shape}")
    return array


def write_class_png(path: str | os.PathLike, class_map: np.ndarray) -> None:
    """Single-channel 8-bit PNG whose pixel values are the class ids."""
    atomic_write_bytes(path, _encode_png(check_class_map(class_map)))


def read_class_png(path: str | os.PathLike) -> np.ndarray:
    image = _decode_png(path)
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError(
            f"{Path(path).name} is not a single-channel 8-bit class-id PNG "
            f"({image.dtype}, {image.shape[2] if image.ndim == 3 else 1} channels)"
        )
    return image


def write_mask_png(path: str | os.PathLike, mask: np.ndarray) -> None:
    """A boolean mask as an 8-bit PNG of 0 and 255 (so it is visible in any viewer)."""
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.dtype != np.bool_:
        raise ValueError(f"a mask must be a 2-D bool array, not {mask.dtype} {mask.shape}")
    atomic_write_bytes(path, _encode_png(mask.view(np.uint8) * np.uint8(255)))


def read_mask_png(path: str | os.PathLike) -> np.ndarray:
    """True where the PNG is 128 or more (a mask touched up in a paint program may have soft edges)."""
    image = _decode_png(path)
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError(f"{Path(path).name} is not a single-channel 8-bit mask PNG")
    return image >= 128


def write_gray_png(path: str | os.PathLike, image: np.ndarray, what: str) -> None:
    """An (H, W) uint8 layer (a matte's alpha) as a single-channel 8-bit PNG of its values."""
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError(f"{what} must be a 2-D uint8 array, not {image.dtype} {image.shape}")
    atomic_write_bytes(path, _encode_png(image))


def read_gray_png(path: str | os.PathLike, what: str) -> np.ndarray:
    image = _decode_png(path)
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError(f"{Path(path).name} is not a single-channel 8-bit {what} PNG")
    return image


def write_rgb_png(path: str | os.PathLike, rgb: np.ndarray, what: str) -> None:
    """An (H, W, 3) uint8 RGB layer (a matte's foreground) as an 8-bit RGB PNG (OpenCV writes BGR, hence the flip)."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"{what} must be an (H, W, 3) uint8 array, not {rgb.dtype} {rgb.shape}")
    atomic_write_bytes(path, _encode_png(rgb[:, :, ::-1]))


def read_rgb_png(path: str | os.PathLike, what: str) -> np.ndarray:
    image = _decode_png(path)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"{Path(path).name} is not an 8-bit RGB {what} PNG")
    return np.ascontiguousarray(image[:, :, ::-1])


def write_float_npy(path: str | os.PathLike, array: np.ndarray, channels: int | None, what: str) -> None:
    array = np.ascontiguousarray(check_float_layer(array, channels, what))
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array, allow_pickle=False)


def read_float_npy(path: str | os.PathLike, channels: int | None, what: str) -> np.ndarray:
    with open(path, "rb") as f:  # FileNotFoundError propagates: the caller reports a missing file
        if f.read(6) != b"\x93NUMPY":
            raise ValueError(f"{Path(path).name} is not a .npy file")
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError) as exc:  # pickled objects, truncated or foreign files
        raise ValueError(f"{Path(path).name} is not a readable .npy array ({exc})") from None
    return check_float_layer(array, channels, what)


def _encode_png(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(image))
    if not ok:
        raise ValueError(f"OpenCV could not encode a {image.dtype} {image.shape} image as PNG")
    return encoded.tobytes()


def _decode_png(path: str | os.PathLike) -> np.ndarray:
    data = np.fromfile(path, dtype=np.uint8)  # FileNotFoundError propagates: the caller reports a missing file
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise ValueError(f"{Path(path).name} is not a readable PNG (empty, truncated or another format)")
    return image
