"""Every person's box on the canvas, in a colour per ID that the persons list shares; the *Person boxes* checkbox
and a hidden person hide them; an edited box is redrawn where it now is. "Drawn" is read from rendered pixels."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

from sapiens_core.annotation import Annotation, Person
from sapiens_core.annotation.edits import SetBox

W, H = 400, 300
BACKGROUND = (40, 40, 40)
K = 308
# Person ids and their boxes; the ids 0 and 3 get the palette's first and fourth colours (blue and red).
BOXES = {0: (20.0, 30.0, 150.0, 250.0), 3: (220.0, 40.0, 380.0, 280.0)}
BLUE, RED = (31, 119, 180), (214, 39, 40)


def _document() -> Annotation:
    persons = [
        Person(pid, np.zeros((K, 3), np.float32), np.zeros(K, np.uint8), np.zeros(K, np.uint8), box=box)
        for pid, box in BOXES.items()
    ]
    return Annotation("mem.png", (W, H), keypoint_schema="goliath_308", persons=persons)


@pytest.fixture
def canvas(main_window):
    window = main_window
    window.view.resize(W, H)
    window.scene.set_image(np.full((H, W, 3), BACKGROUND, np.uint8))
    window.set_annotation(_document())
    return window


def _pixel(window, x: float, y: float) -> tuple[int, int, int]:
    """The colour drawn on the scene around (x, y), 1:1 scale, the darkest-differing pixel of a 5x5 patch."""
    image = QImage(5, 5, QImage.Format.Format_RGB888)
    image.fill(QColor(*BACKGROUND))
    painter = QPainter(image)
    window.scene.render(painter, QRectF(0, 0, 5, 5), QRectF(x - 2.5, y - 2.5, 5, 5))
    painter.end()
    pixels = np.array([[image.pixelColor(i, j).getRgb()[:3] for i in range(5)] for j in range(5)]).reshape(-1, 3)
    distance = np.abs(pixels.astype(int) - BACKGROUND).sum(1)
    return tuple(int(v) for v in pixels[distance.argmax()])


def _near(color, expected, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(color, expected))


def test_every_persons_box_is_drawn_in_its_id_colour(canvas):
    assert _near(_pixel(canvas, 20.0, 150.0), BLUE)  # left edge of person 0's box
    assert _near(_pixel(canvas, 380.0, 150.0), RED)  # right edge of person 3's box
    assert _near(_pixel(canvas, 300.0, 280.0), RED)  # bottom edge
    assert _pixel(canvas, 85.0, 150.0) == BACKGROUND  # inside a box: nothing drawn


def test_the_persons_list_shows_each_id_in_its_box_colour(canvas):
    rows = canvas.layers.persons
    assert [rows.item(i).text() for i in range(rows.count())] == ["Person 0", "Person 3"]
    for row, expected in ((0, BLUE), (1, RED)):
        swatch = rows.item(row).icon().pixmap(12, 12).toImage().pixelColor(6, 6)
        assert (swatch.red(), swatch.green(), swatch.blue()) == expected


def test_a_tracked_person_is_coloured_and_labelled_by_its_track(canvas):
    doc = _document()
    doc.persons[0].track_id = 13  # 13 % 10 = 3: the track's colour, not the document id's
    canvas.set_annotation(doc)
    assert canvas.layers.persons.item(0).text() == "Person 0 · track 13"
    assert _near(_pixel(canvas, 20.0, 150.0), RED)


def test_the_boxes_checkbox_and_a_hidden_person_hide_boxes(qtbot, canvas):
    qtbot.mouseClick(canvas.layers.boxes, Qt.MouseButton.LeftButton)
    assert not canvas.scene.style.boxes
    assert _pixel(canvas, 20.0, 150.0) == BACKGROUND and _pixel(canvas, 380.0, 150.0) == BACKGROUND
    qtbot.mouseClick(canvas.layers.boxes, Qt.MouseButton.LeftButton)
    assert _near(_pixel(canvas, 20.0, 150.0), BLUE)

    # Unticking person 3 in the persons list hides its box (and only its box).
    rows = canvas.layers.persons
    option = QStyleOptionViewItem()
    rows.initViewItemOption(option)
    option.rect = rows.visualItemRect(rows.item(1))
    option.features |= QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
    check = rows.style().subElementRect(QStyle.SubElement.SE_ItemViewItemCheckIndicator, option, rows)
    qtbot.mouseClick(rows.viewport(), Qt.MouseButton.LeftButton, pos=check.center())
    assert canvas.scene.style.hidden_persons == {3}
    assert _pixel(canvas, 380.0, 150.0) == BACKGROUND and _near(_pixel(canvas, 20.0, 150.0), BLUE)


def test_an_edited_box_is_drawn_where_it_now_is(canvas):
    canvas.documents.push(SetBox(0, [60.0, 30.0, 150.0, 250.0]))
    assert _pixel(canvas, 20.0, 150.0) == BACKGROUND
    assert _near(_pixel(canvas, 60.0, 150.0), BLUE)
    canvas.actions["undo"].trigger()
    assert _near(_pixel(canvas, 20.0, 150.0), BLUE)
