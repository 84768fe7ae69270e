"""One scene item per person: all its keypoints and links painted in one paint() call.

308 points as 308 items would cost a scene-graph update each; one item per skeleton keeps 10 people
x 308 points smooth to pan and zoom. Hover picks the nearest shown point for a tooltip.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from sapiens_core.schema import KeypointSchema


class SkeletonItem(QGraphicsItem):
    def __init__(self, keypoints: np.ndarray, visibility: np.ndarray, schema: KeypointSchema, radius: float,
                 person_id: int = 0):
        super().__init__()
        self.schema = schema
        self.person_id = person_id
        self.radius = float(radius)
        self.threshold = 0.3
        self.group_mask = np.ones(len(schema), bool)
        self._colors = [QColor(*map(int, c)) for c in schema.colors]
        self._link_pens = [QPen(QColor(*map(int, c)), max(1.0, radius * 0.5), Qt.PenStyle.SolidLine,
                                Qt.PenCapStyle.RoundCap) for c in schema.skeleton_colors]
        self.set_keypoints(keypoints, visibility)
        self.setAcceptHoverEvents(True)

    # ---- data
    def set_keypoints(self, keypoints: np.ndarray, visibility: np.ndarray) -> None:
        self.prepareGeometryChange()
        self.keypoints = np.asarray(keypoints, np.float32)  # (K, 3) x, y, score
        self.visibility = np.asarray(visibility, np.uint8)
        self._update_shown()

    def set_style(self, threshold: float, group_mask: np.ndarray) -> None:
        self.threshold = float(threshold)
        self.group_mask = np.asarray(group_mask, bool)
        self._update_shown()
        self.update()

    def _update_shown(self) -> None:
        self.shown = (self.visibility > 0) & (self.keypoints[:, 2] >= self.threshold) & self.group_mask
        pts = self.keypoints[self.shown, :2]
        pad = self.radius * 2
        if len(pts):
            lo, hi = pts.min(0) - pad, pts.max(0) + pad
            self._bounds = QRectF(float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1]))
        else:
            self._bounds = QRectF()

    # ---- painting
    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        kp, shown = self.keypoints, self.shown
        for (a, b), pen in zip(self.schema.skeleton, self._link_pens):
            if shown[a] and shown[b]:
                painter.setPen(pen)
                painter.drawLine(QPointF(kp[a, 0], kp[a, 1]), QPointF(kp[b, 0], kp[b, 1]))
        painter.setPen(Qt.PenStyle.NoPen)
        r = self.radius
        for i in np.flatnonzero(shown):
            painter.setBrush(QBrush(self._colors[i]))
            painter.drawEllipse(QPointF(kp[i, 0], kp[i, 1]), r, r)

    # ---- picking
    def nearest(self, x: float, y: float, max_distance: float | None = None) -> int | None:
        """Index of the nearest shown keypoint within ``max_distance`` (default 2 radii) of (x, y)."""
        idx = np.flatnonzero(self.shown)
        if not len(idx):
            return None
        d = np.hypot(self.keypoints[idx, 0] - x, self.keypoints[idx, 1] - y)
        j = int(np.argmin(d))
        limit = self.radius * 2 if max_distance is None else max_distance
        return int(idx[j]) if d[j] <= limit else None

    def describe(self, index: int) -> str:
        return f"person {self.person_id}: {self.schema.names[index]} (#{index}) score {self.keypoints[index, 2]:.2f}"

    def hoverMoveEvent(self, event) -> None:
        pos = event.pos()
        i = self.nearest(pos.x(), pos.y())
        self.setToolTip(self.describe(i) if i is not None else "")
        scene = self.scene()
        if scene is not None and hasattr(scene, "keypoint_hovered"):
            scene.keypoint_hovered.emit(self.describe(i) if i is not None else "")
        super().hoverMoveEvent(event)
