"""Every person's box with its ID, in a colour per ID: which skeleton is which person at a glance, and which
persons a detector found (the selected person's box with its drag handles is the edit overlay's).

A person tracked through a video carries a ``track_id``: the colour and the label follow it, so the same person
keeps one colour from frame to frame; otherwise the person's id in the document is used."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem

from sapiens_core.annotation import Annotation, Person

# Ten colours far apart in hue and lightness (a categorical palette), cycled by ID.
ID_COLORS = [
    QColor(31, 119, 180),
    QColor(255, 127, 14),
    QColor(44, 160, 44),
    QColor(214, 39, 40),
    QColor(148, 103, 189),
    QColor(140, 86, 75),
    QColor(227, 119, 194),
    QColor(127, 127, 127),
    QColor(188, 189, 34),
    QColor(23, 190, 207),
]
LABEL_PX = 12  # label font size on screen


def display_id(person: Person) -> int:
    """The ID a person is shown and coloured by: the track's across a video, else the document's."""
    track = getattr(person, "track_id", None)
    return int(track) if track is not None else int(person.id)


def id_color(person: Person) -> QColor:
    return ID_COLORS[display_id(person) % len(ID_COLORS)]


def id_label(person: Person) -> str:
    track = getattr(person, "track_id", None)
    return f"{person.id}" if track is None else f"{person.id} · track {track}"


class PersonBoxesItem(QGraphicsItem):
    """One light item for all boxes: persons are few, and one item keeps the scene's item count flat."""

    def __init__(self):
        super().__init__()
        self.setZValue(9)  # under the skeletons, over the dense layers
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # clicks go to the points and tools beneath
        self.persons: list[Person] = []
        self._bounds = QRectF()

    def set_persons(self, doc: Annotation | None, hidden: set[int]) -> None:
        self.prepareGeometryChange()
        self.persons = [p for p in (doc.persons if doc else []) if p.box is not None and p.id not in hidden]
        rect = QRectF()
        for person in self.persons:
            x1, y1, x2, y2 = map(float, person.box)
            rect = rect.united(QRectF(x1, y1, x2 - x1, y2 - y1))
        # The labels sit above the boxes, a few screen pixels tall at any zoom: pad generously.
        self._bounds = rect.adjusted(-4, -200, 200, 4) if not rect.isNull() else rect
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option, widget=None) -> None:
        scale = painter.worldTransform().m11() or 1.0
        font = QFont(painter.font())
        font.setPointSizeF(max(0.1, LABEL_PX * 0.75 / scale))  # about LABEL_PX screen pixels at any zoom
        painter.setFont(font)
        metrics = QFontMetricsF(font)
        for person in self.persons:
            color = id_color(person)
            x1, y1, x2, y2 = map(float, person.box)
            pen = QPen(color, 1.5)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(x1, y1, x2 - x1, y2 - y1))
            text = id_label(person)
            tag = QRectF(x1, y1 - metrics.height(), metrics.horizontalAdvance(text) + 6 / scale, metrics.height())
            painter.fillRect(tag, color)
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(tag.adjusted(3 / scale, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, text)
