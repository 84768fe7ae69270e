"""numpy <-> QImage conversions (copies, so the QImage never points at freed numpy memory)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888).copy()


def rgba_to_qimage(rgba: np.ndarray) -> QImage:
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, rgba.strides[0], QImage.Format.Format_RGBA8888).copy()


def indexed_qimage(class_map: np.ndarray, colors: np.ndarray, hidden: set[int] = frozenset()) -> QImage:
    """A class-id map as one Indexed8 image: colours (and per-class hiding) are a 256-entry table,
    so toggling a class rewrites 256 numbers, not the pixels."""
    class_map = np.ascontiguousarray(class_map, dtype=np.uint8)
    h, w = class_map.shape
    image = QImage(class_map.data, w, h, class_map.strides[0], QImage.Format.Format_Indexed8).copy()
    image.setColorTable(color_table(colors, hidden))
    return image


def color_table(colors: np.ndarray, hidden: set[int] = frozenset()) -> list[int]:
    table = []
    for i in range(256):
        if i < len(colors) and i not in hidden:
            r, g, b = (int(v) for v in colors[i])
            table.append(QColor(r, g, b, 255).rgba())
        else:
            table.append(QColor(0, 0, 0, 0).rgba())
    return table


def qimage_to_rgb(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    arr = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * h).reshape(h, image.bytesPerLine())
    return arr[:, : w * 3].reshape(h, w, 3).copy()
