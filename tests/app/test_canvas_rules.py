"""What the canvas shows and what the pointer picks, driven through the real layers panel and view.

Expected values come from the test's own document (where each point is, which group the schema file puts it in,
its score), and "shown" is read from the rendered pixels, not only from the item's own bookkeeping.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtTest import QTest

from sapiens_core.annotation import SOURCE_HUMAN, Annotation, Person
from sapiens_core.schema import keypoint_schema

W, H = 400, 300
BACKGROUND = (40, 40, 40)
SCHEMA = keypoint_schema("goliath_308")
# One labeled point per display group, far apart and not linked to each other (their partners stay unlabeled).
POINTS = {
    "nose": (60.0, 60.0),
    "left_thumb4": (200.0, 60.0),
    "left_big_toe": (300.0, 200.0),
    "tip_of_chin": (100.0, 220.0),
}
GROUP_OF = {"nose": "body", "left_thumb4": "hands", "left_big_toe": "feet", "tip_of_chin": "face"}


def _document(scores: dict[str, float] | None = None) -> Annotation:
    k = len(SCHEMA)
    kp = np.zeros((k, 3), np.float32)
    vis = np.zeros(k, np.uint8)
    for name, (x, y) in POINTS.items():
        i = SCHEMA.index(name)
        kp[i] = (x, y, (scores or {}).get(name, 0.9))
        vis[i] = 2
    person = Person(0, kp, vis, np.zeros(k, np.uint8))
    return Annotation("mem.png", (W, H), keypoint_schema="goliath_308", persons=[person])


@pytest.fixture
def canvas(main_window):
    window = main_window
    window.scene.set_image(np.full((H, W, 3), BACKGROUND, np.uint8))
    window.set_annotation(_document())
    return window


def _painted(window, x: float, y: float) -> bool:
    """Whether anything but the image is drawn on the scene pixel around (x, y)."""
    image = QImage(7, 7, QImage.Format.Format_RGB888)
    image.fill(QColor(0, 0, 0))
    painter = QPainter(image)
    window.scene.render(painter, QRectF(0, 0, 7, 7), QRectF(x - 3.5, y - 3.5, 7, 7))
    painter.end()
    pixels = np.array([[image.pixelColor(i, j).getRgb()[:3] for i in range(7)] for j in range(7)])
    return bool(np.any(np.abs(pixels[2:5, 2:5].astype(int) - BACKGROUND) > 30))


def test_the_groups_points_are_drawn_by_default(canvas):
    # The pixel check itself: every labeled point is visible, empty image areas are not painted.
    for name, (x, y) in POINTS.items():
        assert _painted(canvas, x, y), name
    assert not _painted(canvas, 350.0, 30.0)


@pytest.mark.parametrize("group", ["body", "hands", "feet", "face"])
def test_unchecking_a_group_hides_exactly_its_points(qtbot, canvas, group):
    box = canvas.layers.group_boxes[group]
    assert SCHEMA.display_groups[SCHEMA.index(next(n for n, g in GROUP_OF.items() if g == group))] == group
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    assert not box.isChecked()
    for name, (x, y) in POINTS.items():
        assert _painted(canvas, x, y) == (GROUP_OF[name] != group), name
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)  # and checking it again brings them back
    assert all(_painted(canvas, x, y) for x, y in POINTS.values())


def test_show_keypoints_off_hides_every_point(qtbot, canvas):
    canvas.layers.keypoints.click()  # click(): the widget is wider than its clickable text
    assert not canvas.layers.keypoints.isChecked()
    assert not any(_painted(canvas, x, y) for x, y in POINTS.values())


def test_threshold_slider_shows_points_at_exactly_the_threshold(canvas):
    # 0.25 is exact in float32; the point one float32 step below it must go, the one at it must stay.
    below = float(np.nextafter(np.float32(0.25), np.float32(0)))
    canvas.set_annotation(_document({"nose": 0.25, "left_thumb4": below, "left_big_toe": 0.9, "tip_of_chin": 0.26}))
    canvas.layers.threshold.setValue(25)
    assert canvas.scene.style.threshold == 0.25 and "0.25" in canvas.layers.threshold_label.text()
    shown = {name: _painted(canvas, *xy) for name, xy in POINTS.items()}
    assert shown == {"nose": True, "left_thumb4": False, "left_big_toe": True, "tip_of_chin": True}
    canvas.layers.threshold.setValue(26)
    assert not _painted(canvas, *POINTS["nose"]) and _painted(canvas, *POINTS["tip_of_chin"])
    canvas.layers.threshold.setValue(0)
    assert all(_painted(canvas, *xy) for xy in POINTS.values())


def _hover(qtbot, window, x: float, y: float) -> str:
    """Move the real pointer over scene point (x, y) and return what the status bar says."""
    view = window.view
    view.resetTransform()
    view.scale(8, 8)  # 1 scene px = 8 screen px: positions a pointer can reach to 1/8 px
    view.centerOn(x, y)
    qtbot.wait(10)
    target = view.mapFromScene(QPointF(x, y))
    QTest.mouseMove(view.viewport(), target)
    qtbot.wait(20)
    return window.hover_label.text()


def test_hover_picks_the_nearest_point_within_its_radius(qtbot, canvas):
    # Dots of a 400x300 image have radius 1.5 scene px (diagonal / 400, at least 1.5); hover picks within 2 radii.
    x, y = POINTS["left_thumb4"]
    assert "left_thumb4" in _hover(qtbot, canvas, x + 2.5, y)
    assert _hover(qtbot, canvas, x + 3.5, y) == ""
    assert "left_thumb4" in _hover(qtbot, canvas, x, y - 2.75)
    assert _hover(qtbot, canvas, x + 2.5, y + 2.5) == ""  # 3.54 px away diagonally
    # A hidden point cannot be picked, even under the pointer.
    qtbot.mouseClick(canvas.layers.group_boxes["hands"], Qt.MouseButton.LeftButton)
    assert _hover(qtbot, canvas, x, y) == ""


def test_canvas_follows_the_overlay_rule_for_links_and_human_points(canvas):
    # The shared rule (sapiens_core.annotation.display): a link needs both ends strictly above the threshold,
    # a human-made point shows whatever its score, and a human-made point with visibility 0 (deleted) is hidden.
    k = len(SCHEMA)
    a, b = SCHEMA.index("left_shoulder"), SCHEMA.index("right_shoulder")
    h1, h2 = SCHEMA.index("nose"), SCHEMA.index("left_big_toe")
    above = float(np.nextafter(np.float32(0.25), np.float32(1)))

    def document(score: float) -> Annotation:
        kp = np.zeros((k, 3), np.float32)
        vis = np.zeros(k, np.uint8)
        source = np.zeros(k, np.uint8)
        placed = {a: (100, 150, score), b: (300, 150, score), h1: (60, 60, 0.0), h2: (300, 250, 0.9)}
        for i, point in placed.items():
            kp[i], vis[i] = point, 2
        source[[h1, h2]] = SOURCE_HUMAN
        vis[h2] = 0
        return Annotation("mem.png", (W, H), keypoint_schema="goliath_308", persons=[Person(0, kp, vis, source)])

    canvas.layers.threshold.setValue(25)
    canvas.set_annotation(document(0.25))
    assert _painted(canvas, 100, 150) and _painted(canvas, 300, 150)  # dots at exactly the threshold
    assert not _painted(canvas, 200, 150)  # but no link between them
    assert _painted(canvas, 60, 60) and not _painted(canvas, 300, 250)
    canvas.set_annotation(document(above))
    assert _painted(canvas, 200, 150)


def test_a_moved_point_is_redrawn_on_the_view_and_the_other_persons_stay(qtbot, canvas):
    # Read from the viewport's own pixels, where each skeleton is drawn from its cached pixmap.
    from sapiens_core.annotation.edits import move_keypoints

    doc = _document()
    lower = _document().persons[0]  # a second person with the same points, 30 px lower
    lower.id = 1
    lower.keypoints[:, 1] += 30.0
    doc.persons.append(lower)
    canvas.set_annotation(doc)
    view = canvas.view
    view.resetTransform()
    view.scale(2, 2)
    view.centerOn(150, 90)
    qtbot.wait(20)

    def painted(x: float, y: float) -> bool:
        image = view.viewport().grab().toImage()
        p = view.mapFromScene(QPointF(x, y))
        return any(
            max(abs(c - b) for c, b in zip(image.pixelColor(p.x() + dx, p.y() + dy).getRgb()[:3], BACKGROUND)) > 30
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
        )

    x, y = POINTS["left_thumb4"]
    assert painted(x, y) and painted(x, y + 30) and not painted(x + 40, y)
    documents = canvas.documents
    documents.push(move_keypoints(documents.current.doc, 0, [SCHEMA.index("left_thumb4")], [(x + 40, y)]))
    qtbot.wait(20)
    assert painted(x + 40, y) and not painted(x, y)
    assert painted(x, y + 30)  # the other person's copy of the point is still drawn
    assert painted(*POINTS["nose"])  # and the edited person's other points
