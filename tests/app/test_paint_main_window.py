"""Painting in the main window as a user does it: tool and size keys, the class picker (names and palette
colours, current class, lock, hiding through the layers panel's legend), a stroke on an image without labels,
undo and redo from the keyboard, and the canvas pixels."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

from app.qimage import qimage_to_rgb
from sapiens_core.schema import class_schema

LEFT = Qt.MouseButton.LeftButton
SCHEMA = class_schema("sapiens_28")


def _render(window) -> np.ndarray:
    rect = window.scene.sceneRect()
    image = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_RGB888)
    image.fill(Qt.GlobalColor.black)
    painter = QPainter(image)
    window.scene.render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
    painter.end()
    return qimage_to_rgb(image)


def _click_row(qtbot, widget, row: int, check_box: bool = False) -> None:
    item = widget.item(row)
    widget.scrollToItem(item)
    rect = widget.visualItemRect(item)
    if check_box:
        option = QStyleOptionViewItem()
        widget.initViewItemOption(option)
        option.rect = rect
        option.features |= QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
        rect = widget.style().subElementRect(QStyle.SubElement.SE_ItemViewItemCheckIndicator, option, widget)
        qtbot.mouseClick(widget.viewport(), LEFT, pos=rect.center())
    else:
        qtbot.mouseClick(widget.viewport(), LEFT, pos=rect.center() + QPoint(rect.width() // 4, 0))  # the name


def _covered(shape, path, radius) -> np.ndarray:
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    cx, cy = xx + 0.5, yy + 0.5
    out = np.zeros((h, w), bool)
    for (ax, ay), (bx, by) in zip(path, path[1:]):
        d = np.minimum(np.hypot(cx - ax, cy - ay), np.hypot(cx - bx, cy - by))
        length = np.hypot(bx - ax, by - ay)
        ux, uy = (bx - ax) / length, (by - ay) / length
        along = (cx - ax) * ux + (cy - ay) * uy
        across = np.abs((cx - ax) * uy - (cy - ay) * ux)
        out |= np.where((along >= 0) & (along <= length), np.minimum(d, across), d) <= radius + 1e-9
    return out


def test_paint_a_new_part_map_with_keys_picker_and_undo(qtbot, main_window, sample_image):
    window = main_window
    window.add_paths([sample_image])
    assert window.annotation is None  # no labels yet
    panel = window.painter.panel
    window.parts_dock.raise_()

    # The picker lists the 28 classes with their names and palette colours.
    assert panel.classes.count() == len(SCHEMA) == 28
    for i in (0, 5, 27):
        item = panel.classes.item(i)
        assert SCHEMA.names[i] in item.text()
        color = item.icon().pixmap(14, 14).toImage().pixelColor(7, 7)
        assert (color.red(), color.green(), color.blue()) == tuple(int(v) for v in SCHEMA.colors[i])

    qtbot.keyClick(window.view, Qt.Key.Key_B)
    assert window.actions["paint_brush"].isChecked()
    _click_row(qtbot, panel.classes, 14)
    settings = window.painter.controller.settings
    assert settings.current_class == 14 and SCHEMA.names[14] in panel.current.text()
    qtbot.keyClick(window.view, Qt.Key.Key_BracketLeft)  # 20 -> 16 px
    assert settings.size == 16 and panel.size.value() == 16

    settled = []
    window.painter.settled.connect(lambda: settled.append(1))
    viewport = window.view.viewport()
    points = [(150.2, 200.7), (260.0, 230.3), (330.5, 300.1)]
    pixels = [window.view.mapFromScene(QPointF(x, y)) for x, y in points]
    qtbot.mousePress(viewport, LEFT, pos=pixels[0])
    for p in pixels[1:]:
        qtbot.mouseMove(viewport, p)
    qtbot.mouseRelease(viewport, LEFT, pos=pixels[-1])
    path = [(q.x(), q.y()) for q in (window.view.mapToScene(p) for p in pixels)]

    doc = window.annotation
    assert doc is not None and doc.class_schema == "sapiens_28"
    qtbot.waitUntil(lambda: bool(settled), timeout=3000)  # a moment after the stroke, the 3D cloud is refreshed once
    assert len(settled) == 1
    covered = _covered(doc.part_map.shape, path, 8)
    for x, y in path:
        covered[int(y), int(x)] = True
    assert np.array_equal(doc.part_map, np.where(covered, 14, 0))
    assert window.layers.classes.count() == 28  # the legend appeared with the new map

    # The canvas shows the class colour (blended at the parts opacity) where the stroke went.
    y, x = np.argwhere(covered)[len(np.argwhere(covered)) // 2]
    before = _render(window)[y, x].astype(int)
    assert before.tolist() != [0, 0, 0]

    # Hide the class from the picker: the legend (the one style) hides it, and the canvas loses it.
    _click_row(qtbot, panel.classes, 14, check_box=True)
    assert window.scene.style.hidden_classes == {14}
    assert window.layers.classes.item(14).checkState() == Qt.CheckState.Unchecked
    assert not np.array_equal(_render(window)[y, x].astype(int), before)
    _click_row(qtbot, window.layers.classes, 14, check_box=True)  # shown again from the legend
    assert panel.classes.item(14).checkState() == Qt.CheckState.Checked and not window.scene.style.hidden_classes

    # Undo takes the whole stroke (and the map it created); redo brings it back.
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.annotation.part_map is None
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(window.annotation.part_map, np.where(covered, 14, 0))

    # The lock from the picker: paint 3 only over class 14.
    _click_row(qtbot, panel.classes, 3)
    panel.only_over.setCurrentIndex(panel.only_over.findData(14))
    assert settings.only_over == 14
    qtbot.keyClick(window.view, Qt.Key.Key_G)  # flood fill on the background: locked out
    qtbot.mouseClick(viewport, LEFT, pos=window.view.mapFromScene(QPointF(20.5, 20.5)))
    assert not (window.annotation.part_map == 3).any()
    # Esc cancels a polygon in progress (before the window's Esc = cancel jobs); Enter then fills nothing.
    before = window.annotation.part_map.copy()
    qtbot.keyClick(window.view, Qt.Key.Key_P)
    for x, y in ((100, 100), (300, 100), (300, 300)):
        qtbot.mouseClick(viewport, LEFT, pos=window.view.mapFromScene(QPointF(x, y)))
    assert len(window.painter.controller.tools["polygon"].points) == 3
    qtbot.keyClick(window.view, Qt.Key.Key_Escape)
    qtbot.keyClick(window.view, Qt.Key.Key_Return)
    assert np.array_equal(window.annotation.part_map, before)
    qtbot.keyClick(window.view, Qt.Key.Key_P)  # the same key again: back to navigating
    assert window.painter.controller.tool is None
