"""The measure tool: click two places on the canvas, read the metric distance between what they show.

A click near a shown keypoint takes that keypoint's exact position (so shoulder width is two clicks on the
shoulders), anywhere else the pixel under the pointer (the top of the head, say). The 3-D points come from the
document's pointmap, or its metric depth and a focal length (``sapiens_core.geometry.measure``); without either the
tool says what to run. A third click starts a new measurement; Esc clears it.

Like the paint tools it filters the view's events while active, installed again on activation so it sees a press
before the keypoint tool could start a drag; inactive, every event passes through untouched.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QLineF, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsLineItem, QGraphicsSimpleTextItem

from sapiens_core.geometry.measure import metric_geometry

from ...actions import ActionRegistry, ActionSpec

PICK_PX = 8  # screen pixels: how near a keypoint a click snaps to it
COLOR = QColor(255, 64, 129)
MARK_PX = 4


def format_distance(meters: float) -> str:
    return f"{meters * 100:.1f} cm" if meters < 1 else f"{meters:.3f} m"


class MeasureTool(QObject):
    message = Signal(str)  # the result, or why there is none, for the status bar
    measured = Signal(float)  # meters between the last two picks

    def __init__(self, view, scene, documents, parent=None):
        super().__init__(parent)
        self.view, self.scene, self.documents = view, scene, documents
        self._viewport = view.viewport()  # compared by identity: see PaintController
        self.active = False
        self.picks: list[tuple[float, float, str]] = []  # (x, y, what) in image pixels
        self.distance: float | None = None
        self._items: list[QGraphicsItem] = []
        self._action = None
        view.viewport().installEventFilter(self)
        view.installEventFilter(self)
        documents.opened.connect(lambda *_: self.clear())

    def register(self, registry: ActionRegistry) -> None:
        self._action = registry.add(
            ActionSpec("measure", "&Measure distance", "&View", "M", toolbar=True, checkable=True), self.set_active
        )

    def set_active(self, active: bool) -> None:
        self.active = bool(active)
        if self._action is not None and self._action.isChecked() != self.active:
            self._action.setChecked(self.active)
        if self.active:
            self._viewport.installEventFilter(self)  # first in line again, ahead of the editing tools
            self.view.installEventFilter(self)
            self._viewport.setCursor(Qt.CursorShape.CrossCursor)
            self.message.emit("Measure: click two points (a keypoint, or any pixel of the person)")
        else:
            self._viewport.unsetCursor()
            self.clear()

    # ------------------------------------------------------------------------------------------ picking
    def _snap(self, pos: QPointF) -> tuple[float, float, str]:
        tolerance = PICK_PX / max(self.view.transform().m11(), 1e-6)
        best = None
        for item in self.scene.skeletons:
            if not item.isVisible():
                continue
            i = item.nearest(pos.x(), pos.y(), tolerance)
            if i is not None:
                x, y = (float(v) for v in item.keypoints[i, :2])
                d = math.hypot(x - pos.x(), y - pos.y())
                if best is None or d < best[0]:
                    best = (d, x, y, item.schema.names[i])
        if best is not None:
            return best[1], best[2], best[3]
        return pos.x(), pos.y(), f"pixel ({math.floor(pos.x())}, {math.floor(pos.y())})"

    def pick(self, pos: QPointF) -> None:
        entry = self.documents.current
        if entry is None:
            self.message.emit("Measure: open an image first")
            return
        try:
            geometry = metric_geometry(entry.doc)
        except ValueError as exc:
            self.message.emit(f"Measure: {exc}")
            return
        x, y, what = self._snap(pos)
        try:
            geometry.point(x, y)
        except ValueError as exc:  # a refused pick leaves the measurement shown as it was
            self.message.emit(f"Measure: {exc}")
            return
        if len(self.picks) == 2:
            self.clear()
        self.picks.append((x, y, what))
        if len(self.picks) == 1:
            self.message.emit(f"Measure: from {what}; click the second point")
        else:
            (x0, y0, a), (x1, y1, b) = self.picks
            self.distance = geometry.distance((x0, y0), (x1, y1))
            self.message.emit(f"{a} to {b}: {format_distance(self.distance)} ({geometry.source})")
            self.measured.emit(self.distance)
        self._draw()

    def clear(self) -> None:
        self.picks, self.distance = [], None
        self._draw()

    # ------------------------------------------------------------------------------------------ drawing
    def _draw(self) -> None:
        for item in self._items:
            if item.scene() is not None:
                item.scene().removeItem(item)
        self._items = []
        pen = QPen(COLOR, 2)
        pen.setCosmetic(True)
        for x, y, _ in self.picks:
            mark = QGraphicsEllipseItem(-MARK_PX, -MARK_PX, 2 * MARK_PX, 2 * MARK_PX)
            mark.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)  # same size at any zoom
            mark.setPos(x, y)
            mark.setPen(pen)
            self._items.append(mark)
        if len(self.picks) == 2:
            (x0, y0, _), (x1, y1, _) = self.picks
            self._items.append(QGraphicsLineItem(QLineF(x0, y0, x1, y1)))
            self._items[-1].setPen(pen)
            label = QGraphicsSimpleTextItem(format_distance(self.distance))
            label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            label.setBrush(QBrush(COLOR))
            label.setPos((x0 + x1) / 2, (y0 + y1) / 2)
            self._items.append(label)
        for item in self._items:
            item.setZValue(30)
            self.scene.addItem(item)

    # ------------------------------------------------------------------------------------------ events
    def eventFilter(self, watched, event) -> bool:
        if not self.active:
            return False
        kind = event.type()
        if watched is self._viewport and kind == QEvent.Type.MouseButtonPress:
            if event.button() == Qt.MouseButton.LeftButton:
                self.pick(self.view.mapToScene(event.position().toPoint()))
                return True
        elif watched is self._viewport and kind == QEvent.Type.MouseMove:
            return bool(event.buttons() & Qt.MouseButton.LeftButton)  # no panning while measuring
        elif watched is self._viewport and kind == QEvent.Type.MouseButtonRelease:
            return event.button() == Qt.MouseButton.LeftButton
        elif watched is self.view and kind in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            # Esc clears the measurement (then leaves the tool) before the window's Esc cancels jobs.
            if event.key() != Qt.Key.Key_Escape:
                return False
            if kind == QEvent.Type.KeyPress:
                if self.picks:
                    self.clear()
                else:
                    self.set_active(False)
            event.accept()
            return True
        return False
