"""Flood fill and polygon fill with the current class, each one undoable step."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from sapiens_core.annotation.shapes import flood_mask, polygon_mask

from .paint import PaintTool


class FloodFillTool(PaintTool):
    """A click replaces the 4-connected region of the clicked pixel's class (within the lock's class)."""

    name = "fill"

    def press(self, pos: QPointF) -> None:
        c = self.controller
        gesture = object()
        doc = c.document(gesture)
        if doc is None:
            return
        patch = flood_mask(c.layer(doc), pos.x(), pos.y())
        if patch is not None:
            c.paint(doc, *patch, c.settings.value(False), gesture, "flood fill")
        c.model.seal()


class PolygonFillTool(PaintTool):
    """Click the vertices; Enter or a double click fills the polygon, Backspace drops the last vertex, Esc
    cancels. Pixels whose centre lies inside are painted."""

    name = "polygon"

    def __init__(self, controller):
        super().__init__(controller)
        self.points: list[tuple[float, float]] = []
        self._hover: tuple[float, float] | None = None
        self.preview = QGraphicsPathItem()
        pen = QPen(QColor(255, 255, 255), 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self.preview.setPen(pen)
        self.preview.setZValue(30)
        self.preview.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        controller.scene.addItem(self.preview)

    def deactivate(self) -> None:
        self.cancel()

    def press(self, pos: QPointF) -> None:
        point = (pos.x(), pos.y())
        if not self.points or self.points[-1] != point:
            self.points.append(point)
        self._draw()

    def hover(self, pos: QPointF) -> None:
        self._hover = (pos.x(), pos.y())
        self._draw()

    def double_click(self, pos: QPointF) -> None:
        # A real double click's first press already placed this vertex (press skips a repeated one).
        self.press(pos)
        self.finish()

    def handles_key(self, key: int) -> bool:
        return bool(self.points) and key in (
            Qt.Key.Key_Return,
            Qt.Key.Key_Enter,
            Qt.Key.Key_Escape,
            Qt.Key.Key_Backspace,
        )

    def key(self, key: int) -> None:
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.finish()
        elif key == Qt.Key.Key_Escape:
            self.cancel()
        elif key == Qt.Key.Key_Backspace and self.points:
            self.points.pop()
            self._draw()

    def finish(self) -> None:
        points, self.points = self.points, []
        self._draw()
        if len(points) < 3:
            return
        c = self.controller
        gesture = object()
        doc = c.document(gesture)
        if doc is None:
            return
        patch = polygon_mask(c.layer_shape(doc), points)
        if patch is not None:
            c.paint(doc, *patch, c.settings.value(False), gesture, "polygon fill")
        c.model.seal()

    def cancel(self) -> None:
        self.points = []
        self._draw()

    def _draw(self) -> None:
        path = QPainterPath()
        if self.points:
            path.moveTo(*self.points[0])
            for p in self.points[1:]:
                path.lineTo(*p)
            if self._hover is not None:
                path.lineTo(*self._hover)
            path.lineTo(*self.points[0])
        self.preview.setPath(path)
