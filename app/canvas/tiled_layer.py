"""An indexed per-pixel layer (class ids, a boolean mask) drawn as a grid of tiles.

One 12 MP pixmap would be rebuilt whole for every brush dab; here a change of the labels marks only the tiles
its rectangle touches, and a tile's pixmap is rebuilt from the document's array the next time it is drawn.
Colours are a 256-entry table (class id -> ARGB), so per-class hiding swaps the table and drops the cached
pixmaps; tiles outside the viewport are only converted once they are scrolled into view.

Drawn with nearest-neighbour sampling and no antialiasing, like a QGraphicsPixmapItem in its default fast
mode: tile seams never show at any zoom, and at 1:1 the result is pixel for pixel what one big indexed image
gives.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsItem

TILE = 256


class TiledLayerItem(QGraphicsItem):
    def __init__(self, tile: int = TILE, parent=None):
        super().__init__(parent)
        self.tile = tile
        self.array: np.ndarray | None = None  # the document's own array; never written here
        self.table: list[int] = [0] * 256
        self._pixmaps: dict[tuple[int, int], QPixmap] = {}  # built tiles; missing = to build when drawn
        self.builds = 0  # tiles converted so far (tests and benchmarks count repaint work with it)
        self.last_invalidated: set[tuple[int, int]] = set()
        # exposedRect tells paint() which part of the item the view is repainting.
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    # ---------------------------------------------------------------------------------------------- content

    def set_array(self, array: np.ndarray | None, table: list[int] | None = None) -> None:
        """Show ``array`` (H, W) uint8 or bool; the item reads it when it draws, so keep it alive and call
        ``invalidate`` after writing into it."""
        if array is not None and (array.ndim != 2 or array.dtype not in (np.uint8, np.bool_)):
            raise ValueError(f"a tiled layer shows 2-D uint8 or bool arrays, not {array.dtype} {array.shape}")
        if table is not None:
            self.table = list(table)
        self.prepareGeometryChange()  # the size may change (or vanish) with the array
        self.array = array
        self._pixmaps.clear()
        self.update()

    def is_empty(self) -> bool:
        return self.array is None

    def set_table(self, table: list[int]) -> None:
        """New colours (a class hidden or shown): the ids stay; cached tiles are rebuilt when next drawn."""
        self.table = list(table)
        self._pixmaps.clear()
        self.update()

    def invalidate(self, rect: tuple[int, int, int, int]) -> set[tuple[int, int]]:
        """The labels in ``rect`` = (y0, x0, y1, x1) changed: drop the tiles it touches, repaint only them."""
        if self.array is None:
            return set()
        h, w = self.array.shape
        y0, x0 = max(0, rect[0]), max(0, rect[1])
        y1, x1 = min(h, rect[2]), min(w, rect[3])
        if y0 >= y1 or x0 >= x1:
            return set()
        t = self.tile
        keys = {(ty, tx) for ty in range(y0 // t, (y1 - 1) // t + 1) for tx in range(x0 // t, (x1 - 1) // t + 1)}
        for key in keys:
            self._pixmaps.pop(key, None)
        self.last_invalidated = keys
        self.update(QRectF(x0, y0, x1 - x0, y1 - y0))
        return keys

    # ---------------------------------------------------------------------------------------------- drawing

    def boundingRect(self) -> QRectF:
        if self.array is None:
            return QRectF()
        h, w = self.array.shape
        return QRectF(0, 0, w, h)

    def _pixmap(self, key: tuple[int, int]) -> QPixmap:
        pixmap = self._pixmaps.get(key)
        if pixmap is None:
            ty, tx = key
            t = self.tile
            part = np.ascontiguousarray(self.array[ty * t : (ty + 1) * t, tx * t : (tx + 1) * t]).view(np.uint8)
            h, w = part.shape
            image = QImage(part.data, w, h, part.strides[0], QImage.Format.Format_Indexed8)
            image.setColorTable(self.table)
            pixmap = QPixmap.fromImage(image)  # converts (copies) now, while ``part`` is alive
            self._pixmaps[key] = pixmap
            self.builds += 1
        return pixmap

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self.array is None:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        h, w = self.array.shape
        t = self.tile
        exposed = option.exposedRect.intersected(QRectF(0, 0, w, h))
        if exposed.isEmpty():
            return
        ty0, tx0 = int(exposed.top()) // t, int(exposed.left()) // t
        ty1, tx1 = min((h - 1) // t, int(exposed.bottom()) // t), min((w - 1) // t, int(exposed.right()) // t)
        for ty in range(ty0, ty1 + 1):
            for tx in range(tx0, tx1 + 1):
                painter.drawPixmap(QPointF(tx * t, ty * t), self._pixmap((ty, tx)))
