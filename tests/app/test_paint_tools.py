"""Painting the body-part map and the person mask with the mouse: brush, eraser, flood fill, polygon fill, the
"paint only over" lock, brush size by Ctrl+wheel and [ ], one undo step per stroke, a part map created by
the first stroke, and a stroke redrawing only the tiles it touched.

Real events go to the canvas viewport; expected pixels come from the test's own geometry (pixel centres within
the brush radius of the mouse path, the crossing-number point-in-polygon test, the rectangles the test drew)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QMainWindow

from app.actions import ActionRegistry
from app.canvas import CanvasScene, CanvasView
from app.canvas.tiled_layer import TILE
from app.canvas.tools.paint_controller import PaintController
from app.editing.document_model import DocumentModel
from sapiens_core.annotation import Annotation

W, H = 160, 120
LEFT = Qt.MouseButton.LeftButton


class Canvas:
    """A canvas as the app builds it (scene, view, document model, paint controller) inside a window."""

    def __init__(self, qtbot, tmp_path, doc: Annotation, view_size=(500, 400), zoom=2.0):
        self.window = QMainWindow()
        self.model = DocumentModel(parent=self.window)
        self.scene = CanvasScene(self.window)
        self.view = CanvasView(self.scene)
        self.window.setCentralWidget(self.view)
        self.paint = PaintController(self.view, self.scene, self.model, self.window)
        self.actions = ActionRegistry(self.window)
        self.paint.register(self.actions)
        self.model.opened.connect(lambda e: self.scene.set_annotation(e.doc if e else None))
        self.model.changed.connect(lambda change: self.scene.refresh_layers(change.layers))
        qtbot.addWidget(self.window)
        self.window.resize(*view_size)
        self.window.show()
        qtbot.waitExposed(self.window)
        self.scene.set_image(np.zeros((doc.height, doc.width, 3), np.uint8))
        self.model.open("img.png", tmp_path / "img.json", doc)
        self.view.zoom_by(zoom)
        self.view.centerOn(doc.width / 2, doc.height / 2)
        self.doc = doc
        self.qtbot = qtbot

    @property
    def viewport(self):
        return self.view.viewport()

    def at(self, x: float, y: float) -> QPoint:
        return self.view.mapFromScene(QPointF(x, y))

    def scene_pos(self, point: QPoint) -> tuple[float, float]:
        """Where the canvas maps a viewport pixel: the position a tool receives."""
        p = self.view.mapToScene(point)
        return p.x(), p.y()

    def stroke(self, points) -> list[tuple[float, float]]:
        """Press at the first point, move through the rest, release; returns the image positions used."""
        pixels = [self.at(x, y) for x, y in points]
        self.qtbot.mousePress(self.viewport, LEFT, pos=pixels[0])
        for p in pixels[1:]:
            self.qtbot.mouseMove(self.viewport, p)
        self.qtbot.mouseRelease(self.viewport, LEFT, pos=pixels[-1])
        return [self.scene_pos(p) for p in pixels]

    def click(self, x, y):
        self.qtbot.mouseClick(self.viewport, LEFT, pos=self.at(x, y))
        return self.scene_pos(self.at(x, y))

    def wheel(self, notches: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
        pos = QPointF(self.viewport.rect().center())
        event = QWheelEvent(
            pos,
            QPointF(self.viewport.mapToGlobal(pos.toPoint())),
            QPoint(0, 0),
            QPoint(0, 120 * notches),
            Qt.MouseButton.NoButton,
            modifiers,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(self.viewport, event)

    @property
    def history(self):
        return self.model.current.history


def _doc(part_map=True) -> Annotation:
    pm = np.zeros((H, W), np.uint8)
    pm[20:60, 30:90] = 5
    pm[80:110, 100:150] = 5  # a second, separate region of class 5
    pm[70:100, 10:60] = 11
    fg = pm > 0
    return Annotation(
        "img.png", (W, H), None, "sapiens_28" if part_map else None, part_map=pm if part_map else None, foreground=fg
    )


def _covered(path, radius) -> np.ndarray:
    """Pixels whose centre lies within ``radius`` of the polyline through ``path`` (or under one of its points)."""
    yy, xx = np.mgrid[0:H, 0:W]
    cx, cy = xx + 0.5, yy + 0.5
    out = np.zeros((H, W), bool)
    segments = list(zip(path, path[1:])) or [(path[0], path[0])]
    for (ax, ay), (bx, by) in segments:
        d = np.minimum(np.hypot(cx - ax, cy - ay), np.hypot(cx - bx, cy - by))
        length = np.hypot(bx - ax, by - ay)
        if length > 0:
            ux, uy = (bx - ax) / length, (by - ay) / length
            along = (cx - ax) * ux + (cy - ay) * uy
            across = np.abs((cx - ax) * uy - (cy - ay) * ux)
            d = np.where((along >= 0) & (along <= length), np.minimum(d, across), d)
        out |= d <= radius + 1e-9
    for x, y in path:
        if 0 <= x < W and 0 <= y < H:
            out[int(y), int(x)] = True
    return out & True


def _inside(polygon, x, y) -> np.ndarray:
    """Point in polygon by the classic crossing test (W. R. Franklin's PNPOLY), one pixel centre at a time."""
    inside = np.zeros(np.shape(x), bool)
    pts = [tuple(map(float, p)) for p in polygon]
    for (xi, yi), (xj, yj) in zip(pts, pts[-1:] + pts[:-1]):
        with np.errstate(divide="ignore", invalid="ignore"):
            crosses = ((yi > y) != (yj > y)) & (x < (xj - xi) * (y - yi) / (yj - yi) + xi)
        inside ^= crosses
    return inside


def test_a_brush_stroke_paints_the_discs_along_the_mouse_path_as_one_undo_step(qtbot, tmp_path):
    canvas = Canvas(qtbot, tmp_path, _doc())
    original = canvas.doc.part_map.copy()
    canvas.paint.set_tool("brush")
    canvas.paint.settings.set_class(7)
    canvas.paint.settings.set_size(9)
    path = canvas.stroke([(20.3, 15.2), (45, 30), (70.6, 33), (95, 64)])

    expected = original.copy()
    expected[_covered(path, 4.5)] = 7
    assert np.array_equal(canvas.doc.part_map, expected)
    assert (canvas.doc.part_map != original).sum() > 300
    assert canvas.history.labels == ["paint"]  # the whole stroke, one step

    canvas.stroke([(10, 100), (12, 110)])
    assert len(canvas.history.labels) == 2  # a new press, a new step
    canvas.model.undo()
    canvas.model.undo()
    assert np.array_equal(canvas.doc.part_map, original)
    canvas.model.redo()
    assert np.array_equal(canvas.doc.part_map, expected)


def test_the_eraser_paints_background_and_the_lock_limits_painting_to_one_class(qtbot, tmp_path):
    canvas = Canvas(qtbot, tmp_path, _doc())
    original = canvas.doc.part_map.copy()
    settings = canvas.paint.settings
    settings.set_size(12)
    canvas.paint.set_tool("eraser")
    path = canvas.stroke([(40, 40), (80, 42)])
    covered = _covered(path, 6)
    assert np.array_equal(canvas.doc.part_map, np.where(covered, 0, original))

    canvas.model.undo()
    canvas.paint.set_tool("brush")
    settings.set_class(14)
    settings.set_only_over(5)  # "paint only over Left_Hand ..." whatever class 5 is
    path = canvas.stroke([(20, 50), (70, 90)])  # crosses class 5, background and class 11
    covered = _covered(path, 6)
    assert np.array_equal(canvas.doc.part_map, np.where(covered & (original == 5), 14, original))
    assert ((canvas.doc.part_map == 14) & (original != 5)).sum() == 0


def test_flood_fill_replaces_the_clicked_region_only(qtbot, tmp_path):
    canvas = Canvas(qtbot, tmp_path, _doc())
    original = canvas.doc.part_map.copy()
    canvas.paint.set_tool("fill")
    canvas.paint.settings.set_class(3)
    canvas.click(50.5, 30.5)
    expected = original.copy()
    expected[20:60, 30:90] = 3  # the clicked region; the other class-5 region is not connected to it
    assert np.array_equal(canvas.doc.part_map, expected)
    assert canvas.history.labels == ["flood fill"]


def test_polygon_fill_closes_with_enter_or_a_double_click_and_esc_cancels(qtbot, tmp_path):
    canvas = Canvas(qtbot, tmp_path, _doc())
    original = canvas.doc.part_map.copy()
    canvas.paint.set_tool("polygon")
    canvas.paint.settings.set_class(20)
    vertices = [canvas.click(x, y) for x, y in ((15.2, 10.7), (120.4, 18.1), (140.8, 95.3), (30.6, 70.2))]
    assert np.array_equal(canvas.doc.part_map, original)  # nothing until the polygon is closed
    qtbot.keyClick(canvas.view, Qt.Key.Key_Return)
    yy, xx = np.mgrid[0:H, 0:W]
    inside = _inside(vertices, xx + 0.5, yy + 0.5)
    assert np.array_equal(canvas.doc.part_map, np.where(inside, 20, original))
    assert canvas.history.labels == ["polygon fill"]

    canvas.paint.settings.set_class(21)
    # (No pixel centre lies on this triangle's outline, where the point-in-polygon test could go either way.)
    triangle = [canvas.click(x, y) for x, y in ((5, 5), (60.5, 5))]
    qtbot.mouseDClick(canvas.viewport, LEFT, pos=canvas.at(5, 61))
    triangle.append(canvas.scene_pos(canvas.at(5, 61)))
    tri = _inside(triangle, xx + 0.5, yy + 0.5)
    assert (canvas.doc.part_map == 21).sum() == tri.sum() > 100
    assert len(canvas.history.labels) == 2

    before = canvas.doc.part_map.copy()
    for x, y in ((100, 100), (150, 100), (150, 115)):
        canvas.click(x, y)
    qtbot.keyClick(canvas.view, Qt.Key.Key_Escape)
    qtbot.keyClick(canvas.view, Qt.Key.Key_Return)
    assert np.array_equal(canvas.doc.part_map, before) and len(canvas.history.labels) == 2


def test_brush_size_by_ctrl_wheel_while_the_plain_wheel_still_zooms(qtbot, tmp_path):
    canvas = Canvas(qtbot, tmp_path, _doc())
    settings = canvas.paint.settings
    canvas.paint.set_tool("brush")
    settings.set_size(20)
    zoom = canvas.view.zoom
    canvas.wheel(1, Qt.KeyboardModifier.ControlModifier)
    assert settings.size == pytest.approx(25) and canvas.view.zoom == pytest.approx(zoom)
    canvas.wheel(-2, Qt.KeyboardModifier.ControlModifier)
    assert settings.size == pytest.approx(16)
    assert canvas.paint.tools["brush"].outline.rect().width() == pytest.approx(16)
    canvas.wheel(1)
    assert canvas.view.zoom == pytest.approx(zoom * 1.25) and settings.size == pytest.approx(16)


def test_without_a_tool_a_drag_paints_nothing(qtbot, tmp_path):
    canvas = Canvas(qtbot, tmp_path, _doc())
    canvas.paint.set_tool("brush")
    canvas.paint.set_tool(None)
    original = canvas.doc.part_map.copy()
    canvas.stroke([(20, 20), (60, 60)])
    assert np.array_equal(canvas.doc.part_map, original) and not canvas.history.can_undo


def test_the_first_stroke_creates_the_part_map_and_its_undo_removes_it(qtbot, tmp_path):
    canvas = Canvas(qtbot, tmp_path, _doc(part_map=False))
    canvas.paint.set_tool("eraser")
    canvas.stroke([(30, 30), (40, 40)])
    assert canvas.doc.part_map is None  # nothing to erase
    canvas.paint.set_tool("brush")
    canvas.paint.settings.set_class(9)
    canvas.paint.settings.set_size(6)
    path = canvas.stroke([(30, 30), (60, 50)])
    assert canvas.doc.class_schema == "sapiens_28"
    assert np.array_equal(canvas.doc.part_map, np.where(_covered(path, 3), 9, 0))
    assert canvas.scene.layer_items["parts"].isVisible()
    assert len(canvas.history.labels) == 1
    canvas.model.undo()
    assert canvas.doc.part_map is None and canvas.doc.class_schema is None
    assert not canvas.scene.layer_items["parts"].isVisible()


def test_painting_the_person_mask(qtbot, tmp_path):
    canvas = Canvas(qtbot, tmp_path, _doc())
    original = canvas.doc.foreground.copy()
    mask_item = canvas.scene.layer_items["person_mask"]
    assert not mask_item.isVisible()  # under a part map the mask shows only while it is painted
    canvas.paint.settings.set_layer("foreground")
    canvas.paint.set_tool("brush")
    assert mask_item.isVisible()
    canvas.paint.settings.set_size(8)
    path = canvas.stroke([(5, 5), (25, 10)])
    assert np.array_equal(canvas.doc.foreground, original | _covered(path, 4))
    canvas.paint.set_tool("eraser")
    path2 = canvas.stroke([(40, 40), (50, 40)])
    assert np.array_equal(canvas.doc.foreground, (original | _covered(path, 4)) & ~_covered(path2, 4))
    canvas.paint.set_tool(None)
    assert not mask_item.isVisible()


def test_a_stroke_redraws_only_the_tiles_it_touches(qtbot, tmp_path):
    w, h = 1024, 768  # 4 x 3 tiles
    pm = np.zeros((h, w), np.uint8)
    doc = Annotation("img.png", (w, h), None, "sapiens_28", part_map=pm)
    canvas = Canvas(qtbot, tmp_path, doc, view_size=(700, 560), zoom=1.0)
    canvas.view.fit()
    item = canvas.scene.layer_items["parts"]
    canvas.viewport.grab()  # the whole map on screen: every tile built once
    assert item.builds == 12
    canvas.paint.set_tool("brush")
    canvas.paint.settings.set_size(30)
    canvas.stroke([(230, 300), (290, 310), (300, 330)])
    canvas.viewport.grab()
    painted = np.argwhere(doc.part_map != 0)
    touched = {(int(y) // TILE, int(x) // TILE) for y, x in painted}
    assert touched == {(1, 0), (1, 1)}
    assert item.builds - 12 == len(touched)
