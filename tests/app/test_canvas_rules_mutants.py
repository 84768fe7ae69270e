"""The canvas's skeleton drawing and picking, pinned where mutation testing of ``app/canvas/skeleton_item.py`` found
the rules tests blind: the colours and widths that are drawn, what hover and tooltips name, the pick distances.

Driven through the real main window (hover with real pointer moves, clicks of the editing tool, tooltip help events)
and read back from rendered pixels. Expected values come from the test's own document and the schema's data file
(a point's colour, a link's colour), and from hand computation of the dot radius: an image of W x H pixels gets dots
of radius max(1.5, hypot(W, H) / 400) scene px, links half as wide but at least 1 px, and hover picks within
2 radii.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QHelpEvent, QImage, QPainter
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolTip

from sapiens_core.annotation import Annotation, Person
from sapiens_core.schema import keypoint_schema

SCHEMA = keypoint_schema("goliath_308")
K = len(SCHEMA)
BACKGROUND = (40, 40, 40)


def _document(points: dict[str, tuple[float, float, float]], size=(400, 300), pid: int = 0) -> Annotation:
    kp = np.zeros((K, 3), np.float32)
    vis = np.zeros(K, np.uint8)
    for name, point in points.items():
        kp[SCHEMA.index(name)] = point
        vis[SCHEMA.index(name)] = 2
    person = Person(pid, kp, vis, np.zeros(K, np.uint8))
    return Annotation("mem.png", size, keypoint_schema="goliath_308", persons=[person])


def _show(window, doc: Annotation) -> None:
    w, h = doc.image_size
    window.scene.set_image(np.full((h, w, 3), BACKGROUND, np.uint8))
    window.set_annotation(doc)


def _render(window, x: float, y: float, size: float, scale: int) -> np.ndarray:
    """(n, n, 3) int: the scene square of ``size`` px centred on (x, y), rendered at ``scale`` pixels per scene px."""
    n = int(round(size * scale))
    image = QImage(n, n, QImage.Format.Format_RGB888)
    image.fill(QColor(0, 0, 0))
    painter = QPainter(image)
    window.scene.render(painter, QRectF(0, 0, n, n), QRectF(x - size / 2, y - size / 2, size, size))
    painter.end()
    return np.array([[image.pixelColor(i, j).getRgb()[:3] for i in range(n)] for j in range(n)], int)


def _covered(pixels: np.ndarray) -> np.ndarray:
    """Which pixels are not the image's background."""
    return np.abs(pixels - BACKGROUND).max(-1) > 30


# ------------------------------------------------------------------------------------------------ colours


def test_each_dot_and_link_is_drawn_in_its_schema_colour(main_window):
    # Dots of five colours, two of them past index 231 (the face's ears and eyes), and two links of two colours.
    # The leftmost point is 20 px further left than the topmost is high: the item's bounds must use each axis.
    dots = {"nose": (40, 60), "tip_of_chin": (80, 60), "l_border_of_iris_midpoint_2": (120, 60)}
    dots |= {"r_midpoint_1_of_antihelix": (160, 60), "r_border_of_pupil_3": (200, 60)}
    links = {("left_shoulder", "right_shoulder"): ((60, 150), (260, 150))}
    links |= {("right_ankle", "right_knee"): ((340, 100), (340, 280))}
    points = {name: (x, y, 0.9) for name, (x, y) in dots.items()}
    for (a, b), (pa, pb) in links.items():
        points[a], points[b] = (*pa, 0.9), (*pb, 0.9)
    _show(main_window, _document(points))
    assert len({tuple(SCHEMA.colors[SCHEMA.index(n)]) for n in dots}) == 5  # the test's own premise
    for name, (x, y) in dots.items():
        # 1 x 1 scene px around the centre of a dot of radius 1.5: fully covered, so the exact colour.
        centre = _render(main_window, x, y, 1, 8)
        assert (np.abs(centre - SCHEMA.colors[SCHEMA.index(name)]) <= 2).all(), name
    skeleton = [tuple(SCHEMA.names[i] for i in pair) for pair in np.asarray(SCHEMA.skeleton)]
    for (a, b), (pa, pb) in links.items():
        colour = SCHEMA.skeleton_colors[skeleton.index((a, b))]
        for t in (0.25, 0.5, 0.75):  # the line runs from one point to the other: a quarter, half, three quarters
            x, y = pa[0] + t * (pb[0] - pa[0]), pa[1] + t * (pb[1] - pa[1])
            on_line = _render(main_window, x, y, 0.25, 8)  # well inside the 1 px wide line
            assert (np.abs(on_line - colour) <= 2).all(), (a, b, t)


def test_dots_are_antialiased(main_window):
    # At 1:1 a dot of radius 1.5 covers some pixels partly: antialiased, their colour lies strictly between the
    # image's and the dot's; aliased, every pixel would be one or the other.
    _show(main_window, _document({"nose": (40.5, 40.5, 0.9)}))
    colour = np.array(SCHEMA.colors[SCHEMA.index("nose")], int)
    pixels = _render(main_window, 40.5, 40.5, 7, 1).reshape(-1, 3)
    pure = (np.abs(pixels - colour).max(-1) <= 2) | (np.abs(pixels - BACKGROUND).max(-1) <= 2)
    assert pure.sum() >= 9 and (~pure).sum() >= 4  # the centre pixels are the dot's, the rim is blended


def test_a_person_with_no_shown_point_draws_nothing_and_gives_qt_a_valid_rectangle(main_window):
    # Both points score below the default threshold 0.3: the item is empty. An invalid bounding rectangle would
    # only be reported by PySide as a RuntimeWarning while the scene is drawn.
    doc = _document({"nose": (100, 100, 0.1), "left_shoulder": (150, 150, 0.2)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _show(main_window, doc)
        drawn = _covered(_render(main_window, 125, 125, 80, 1)).any()
    assert not drawn
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]


# ------------------------------------------------------------------------------------------------ widths


def _link_width(window, x: float, y: float, scale: int, span: float) -> float:
    """Thickness (scene px) of the horizontal line through (x, y): covered rows of the middle column / scale."""
    pixels = _render(window, x, y, span, scale)
    return _covered(pixels)[:, pixels.shape[1] // 2].sum() / scale


def _dot_height(window, x: float, y: float, scale: int, span: float) -> float:
    """Height (scene px) of what is drawn on the vertical through (x, y): a dot whose links run horizontally."""
    pixels = _render(window, x, y, span, scale)
    return _covered(pixels)[:, pixels.shape[1] // 2].sum() / scale


@pytest.mark.parametrize(
    ("size", "radius"),
    [
        ((400, 300), 1.5),  # hypot = 500 -> 1.25, raised to the 1.5 minimum; links 0.75, raised to 1 px
        ((2000, 1500), 6.25),  # hypot = 2500 -> 6.25; links 3.125
    ],
)
def test_links_are_half_a_dot_radius_wide_and_at_least_one_pixel(main_window, size, radius):
    w, h = size
    a, b = (w * 0.25, h / 2), (w * 0.75, h / 2)
    _show(main_window, _document({"left_shoulder": (*a, 0.9), "right_shoulder": (*b, 0.9)}, size))
    width = max(1.0, radius / 2)
    assert _link_width(main_window, w / 2, h / 2, 8, 4 * width) == pytest.approx(width, abs=0.2)
    assert _dot_height(main_window, *a, 8, 4 * radius) == pytest.approx(2 * radius, abs=0.3)


# ------------------------------------------------------------------------------------------------ hover


def _hover(qtbot, window, x: float, y: float) -> str:
    """Move the real pointer over scene point (x, y), coming from elsewhere; return the status bar's text."""
    view = window.view
    view.resetTransform()
    view.scale(8, 8)  # 1 scene px = 8 screen px: positions a pointer can reach to 1/8 px
    view.centerOn(x, y)
    qtbot.wait(10)
    target = view.mapFromScene(QPointF(x, y))
    QTest.mouseMove(view.viewport(), target + QPoint(40, 40))
    QTest.mouseMove(view.viewport(), target)
    qtbot.wait(20)
    return window.hover_label.text()


@pytest.fixture
def thumb(main_window):
    """One labeled point, left_thumb4 of person 7 at (200, 60) scoring 0.75, on a 400 x 300 image (radius 1.5)."""
    _show(main_window, _document({"left_thumb4": (200.0, 60.0, 0.75)}, pid=7))
    return main_window


def test_hover_names_the_person_the_point_its_index_and_its_score(qtbot, thumb):
    index = SCHEMA.names.index("left_thumb4")
    assert _hover(qtbot, thumb, 200.5, 60.0) == f"person 7: left_thumb4 (#{index}) score 0.75"


def test_hover_picks_a_point_at_exactly_two_radii(qtbot, main_window):
    # 800 x 600: radius hypot / 400 = 2.5, so 2 radii = 5.0 = hypot(3, 4): a pointer 3 px right and 4 px below the
    # point is exactly at the limit (and inside the item's bounds, which the axis-aligned 5 px would only touch).
    _show(main_window, _document({"left_thumb4": (400.0, 300.0, 0.75)}, size=(800, 600)))
    view = main_window.view
    assert "left_thumb4" in _hover(qtbot, main_window, 403.0, 304.0)
    assert view.mapToScene(view.mapFromScene(QPointF(403.0, 304.0))) == QPointF(403.0, 304.0)  # reached exactly
    assert _hover(qtbot, main_window, 403.125, 304.0) == ""  # the next position on the 1/8 px grid is out


def _tooltip(qtbot, window, x: float, y: float) -> str:
    """Hover (x, y), then ask the view for its tooltip there as Qt does after a pause; "" when none is shown."""
    _hover(qtbot, window, x, y)
    viewport = window.view.viewport()
    local = window.view.mapFromScene(QPointF(x, y))
    QToolTip.hideText()
    qtbot.waitUntil(lambda: not QToolTip.isVisible(), timeout=3000)
    event = QHelpEvent(QEvent.Type.ToolTip, local, viewport.mapToGlobal(local))
    QApplication.sendEvent(viewport, event)
    return QToolTip.text() if QToolTip.isVisible() else ""


def test_tooltip_names_the_point_under_the_pointer_and_nothing_elsewhere(qtbot, thumb):
    index = SCHEMA.names.index("left_thumb4")
    # Inside the item (its bounds reach 2 radii around the point) but beyond 2 radii: no tooltip, not even empty.
    assert _tooltip(qtbot, thumb, 202.5, 62.5) == ""
    assert _tooltip(qtbot, thumb, 201.0, 60.0) == f"person 7: left_thumb4 (#{index}) score 0.75"
    assert _tooltip(qtbot, thumb, 197.5, 57.5) == ""


# ------------------------------------------------------------------------------------------------ picking


def test_the_editing_tool_grabs_a_point_within_its_screen_tolerance_beyond_two_radii(qtbot, thumb):
    # At 1:1 the tool grabs within 8 screen px = 8 scene px, wider than hover's 2 radii (3 px): a click 6 px right
    # of the point selects it.
    view = thumb.view
    view.resetTransform()
    view.centerOn(200, 60)
    qtbot.wait(10)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(QPointF(206, 60)))
    assert thumb.editor.selection.points == {7: {SCHEMA.index("left_thumb4")}}


# ---- two bugs this run found (both failed before the fix in skeleton_item.py)
def test_the_status_bar_forgets_a_point_the_pointer_left(qtbot, main_window):
    _show(main_window, _document({"left_thumb4": (200.0, 60.0, 0.75)}))
    view = main_window.view
    view.resetTransform()
    view.centerOn(200, 60)
    qtbot.wait(10)
    QTest.mouseMove(view.viewport(), view.mapFromScene(QPointF(150, 60)))
    QTest.mouseMove(view.viewport(), view.mapFromScene(QPointF(200, 60)))  # over the point
    qtbot.wait(20)
    assert "left_thumb4" in main_window.hover_label.text()
    QTest.mouseMove(view.viewport(), view.mapFromScene(QPointF(210, 60)))  # 10 px away, outside the item's bounds
    qtbot.wait(20)
    assert main_window.hover_label.text() == ""


def test_lowering_the_threshold_draws_a_person_that_had_no_shown_point(main_window):
    _show(main_window, _document({"left_thumb4": (200.0, 60.0, 0.1)}))  # 0.1 < the default threshold 0.3
    assert not _covered(_render(main_window, 200, 60, 4, 2)).any()
    main_window.layers.threshold.setValue(5)  # 0.05
    assert main_window.scene.skeletons[0].shown.any()
    assert _covered(_render(main_window, 200, 60, 4, 2)).any()
