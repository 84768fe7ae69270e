"""Brush and eraser: a stroke paints discs along the mouse path, one undoable step per stroke.

Each mouse move paints the segment from the previous position (a capsule), so a fast stroke leaves no gaps
however far apart the move events arrive. Every dab is a small tile edit pushed with the stroke's gesture
token; the history merges them and the release seals the step."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGraphicsEllipseItem

from sapiens_core.annotation.shapes import segment_mask


class PaintTool:
    """A canvas tool driven by the paint controller with positions in image coordinates."""

    name = ""
    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, controller):
        self.controller = controller

    def activate(self) -> None:
        pass

    def deactivate(self) -> None:
        pass

    def press(self, pos: QPointF) -> None:
        pass

    def move(self, pos: QPointF) -> None:
        """The mouse moved with the left button held."""

    def release(self, pos: QPointF) -> None:
        pass

    def hover(self, pos: QPointF) -> None:
        """The mouse moved (any buttons): update the tool's outline."""

    def double_click(self, pos: QPointF) -> None:
        pass

    def handles_key(self, key: int) -> bool:
        """Whether the tool takes ``key`` now (before window shortcuts such as Esc = cancel jobs)."""
        return False

    def key(self, key: int) -> None:
        pass


class BrushTool(PaintTool):
    name = "brush"
    erase = False
    label = "paint"

    def __init__(self, controller):
        super().__init__(controller)
        self._gesture: object | None = None
        self._last: tuple[float, float] | None = None
        # The brush outline, in image units so it shows the real footprint at any zoom; a hairline pen.
        self.outline = QGraphicsEllipseItem()
        pen = QPen(Qt.GlobalColor.white, 1)
        pen.setCosmetic(True)
        self.outline.setPen(pen)
        self.outline.setZValue(30)
        self.outline.setVisible(False)
        self.outline.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        controller.scene.addItem(self.outline)
        controller.settings.changed.connect(self._resize_outline)

    def activate(self) -> None:
        self._resize_outline()

    def deactivate(self) -> None:
        self.release(None)
        self.outline.setVisible(False)

    def _resize_outline(self) -> None:
        r = self.controller.settings.size / 2
        self.outline.setRect(QRectF(-r, -r, 2 * r, 2 * r))

    def hover(self, pos: QPointF) -> None:
        self.outline.setPos(pos)
        self.outline.setVisible(True)

    def press(self, pos: QPointF) -> None:
        self._gesture = object()
        self._last = (pos.x(), pos.y())
        self._dab(self._last, self._last)

    def move(self, pos: QPointF) -> None:
        if self._gesture is None:
            return
        here = (pos.x(), pos.y())
        self._dab(self._last, here)
        self._last = here

    def release(self, pos: QPointF | None) -> None:
        if self._gesture is not None:
            self._gesture, self._last = None, None
            self.controller.model.seal()  # the stroke is one step; the next press starts another

    def _dab(self, p0, p1) -> None:
        c = self.controller
        doc = c.document(self._gesture, create=not self.erase)
        if doc is None:
            return
        patch = segment_mask(c.layer_shape(doc), p0, p1, c.settings.size / 2)
        if patch is not None:
            c.paint(doc, *patch, c.settings.value(self.erase), self._gesture, self.label)


class EraserTool(BrushTool):
    """The brush painting background (class 0; off on the person mask)."""

    name = "eraser"
    erase = True
    label = "erase"
