"""What the editing tools draw over the skeletons: the selected points with their skeleton links, the selected
person's box with its corner handles, and the rubber band. One light item, repainted only where it lies."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem

from sapiens_core.annotation import Annotation
from sapiens_core.schema import keypoint_schema

HIGHLIGHT = QColor(255, 235, 59)
BOX = QColor(0, 229, 255)
HANDLE_PX = 5  # half size of a corner handle on screen


def _pen(color: QColor, width: float, style=Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCosmetic(True)  # the same on screen at any zoom
    return pen


class EditOverlay(QGraphicsItem):
    def __init__(self):
        super().__init__()
        self.setZValue(15)
        self.doc: Annotation | None = None
        self.points: dict[int, set[int]] = {}
        self.person: int | None = None
        self.band: QRectF | None = None
        self.radius = 2.0
        self._bounds = QRectF()

    def set_content(self, doc, points, person, radius: float) -> None:
        self.prepareGeometryChange()
        self.doc, self.points, self.person, self.radius = doc, points, person, radius
        self._bounds = self._compute_bounds()
        self.update()

    def set_band(self, rect: QRectF | None) -> None:
        self.prepareGeometryChange()
        self.band = rect
        self._bounds = self._compute_bounds()
        self.update()

    def _persons(self):
        return {p.id: p for p in self.doc.persons} if self.doc is not None else {}

    def _compute_bounds(self) -> QRectF:
        rect = QRectF() if self.band is None else QRectF(self.band)
        persons = self._persons()
        for pid, idx in self.points.items():
            if pid in persons and idx:
                xy = persons[pid].keypoints[sorted(idx), :2]
                rect = rect.united(QRectF(*map(float, xy.min(0)), *map(float, np.ptp(xy, 0))))
                # the links reach the partner points
                rect = rect.united(self._links_rect(persons[pid], idx))
        if self.person in persons and persons[self.person].box is not None:
            x1, y1, x2, y2 = map(float, persons[self.person].box)
            rect = rect.united(QRectF(x1, y1, x2 - x1, y2 - y1))
        pad = self.radius * 4 + 20  # rings and handles are a few screen pixels outside
        return rect.adjusted(-pad, -pad, pad, pad) if not rect.isNull() else rect

    def _links(self, person, idx):
        schema = keypoint_schema(self.doc.keypoint_schema)
        return [(a, b) for a, b in schema.skeleton if (a in idx or b in idx) and person.visibility[[a, b]].all()]

    def _links_rect(self, person, idx) -> QRectF:
        ends = sorted({i for link in self._links(person, idx) for i in link})
        if not ends:
            return QRectF()
        xy = person.keypoints[ends, :2]
        return QRectF(*map(float, xy.min(0)), *map(float, np.ptp(xy, 0)))

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        persons = self._persons()
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for pid, idx in self.points.items():
            person = persons.get(pid)
            if person is None:
                continue
            kp = person.keypoints
            painter.setPen(_pen(HIGHLIGHT, 3))
            painter.drawLines([QLineF(kp[a, 0], kp[a, 1], kp[b, 0], kp[b, 1]) for a, b in self._links(person, idx)])
            painter.setPen(_pen(HIGHLIGHT, 2))
            r = self.radius * 1.8
            for i in idx:
                painter.drawEllipse(QPointF(float(kp[i, 0]), float(kp[i, 1])), r, r)
        person = persons.get(self.person)
        if person is not None and person.box is not None:
            x1, y1, x2, y2 = map(float, person.box)
            painter.setPen(_pen(BOX, 1.5))
            painter.drawRect(QRectF(x1, y1, x2 - x1, y2 - y1))
            scale = painter.worldTransform().m11() or 1.0
            h = HANDLE_PX / scale
            painter.setBrush(BOX)
            for cx, cy in ((x1, y1), (x2, y1), (x1, y2), (x2, y2)):
                painter.drawRect(QRectF(cx - h, cy - h, 2 * h, 2 * h))
        if self.band is not None:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(_pen(HIGHLIGHT, 1, Qt.PenStyle.DashLine))
            painter.drawRect(self.band)
