"""The part map and the person mask drawn as tiles: the same pixels as one whole indexed image (how the canvas
drew them before), and an edit redraws only the tiles its rectangle touches."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene

from app.canvas import CanvasScene
from app.canvas.tiled_layer import TILE
from sapiens_core.annotation import Annotation
from sapiens_core.annotation.shapes import segment_mask
from sapiens_core.annotation.tile_edits import paint_region
from sapiens_core.schema import class_schema

# 5 x 4 tiles, the last ones partial. The map ends on a whole screen pixel at every scale tested: where it ends
# inside one, the old item's antialiased outer edge blended a partial row, which the tiles (drawn without
# antialiasing so their seams never show) leave out.
W, H = 1200, 800
PALETTE = class_schema("sapiens_28").colors


def _part_map(seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pm = rng.integers(0, 28, (H // 10 + 1, W // 10 + 1)).repeat(10, 0).repeat(10, 1)[:H, :W].astype(np.uint8)
    pm[::7, ::3] = 4  # single-pixel detail, so a shifted tile would show
    return pm


def _doc(part_map=True, foreground=True) -> Annotation:
    pm = _part_map()
    return Annotation(
        "img.png",
        (W, H),
        None,
        "sapiens_28" if part_map else None,
        part_map=pm if part_map else None,
        foreground=(pm % 3 == 0) if foreground else None,
    )


def _whole_image_scene(rgba: np.ndarray, opacity: float) -> QGraphicsScene:
    """How the canvas drew a layer before the tiles: one QGraphicsPixmapItem of the whole map."""
    rgba = np.ascontiguousarray(rgba)
    image = QImage(rgba.data, W, H, rgba.strides[0], QImage.Format.Format_RGBA8888).copy()
    scene = QGraphicsScene()
    item = QGraphicsPixmapItem(QPixmap.fromImage(image))
    item.setOpacity(opacity)
    scene.addItem(item)
    scene.setSceneRect(0, 0, W, H)
    return scene


def _rgba_of_parts(pm: np.ndarray, hidden=frozenset()) -> np.ndarray:
    rgba = np.zeros((H, W, 4), np.uint8)
    for c, rgb in enumerate(PALETTE):
        if c not in hidden:
            rgba[pm == c] = (*rgb, 255)
    return rgba


def _render(scene, scale: float) -> np.ndarray:
    w, h = round(W * scale), round(H * scale)
    image = QImage(w, h, QImage.Format.Format_ARGB32)
    image.fill(QColor(40, 40, 40))
    painter = QPainter(image)
    # The canvas view's own render hints.
    painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
    scene.render(painter, QRectF(0, 0, w, h), QRectF(0, 0, W, H))
    painter.end()
    return np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())[:, : w * 4].copy()


def _canvas(doc) -> CanvasScene:
    scene = CanvasScene()
    scene.setSceneRect(0, 0, W, H)
    scene.set_annotation(doc)
    return scene


# At 1:1 and at the canvas's zoom steps up to 1.25^2 the tiles give exactly the whole image's pixels. (Above
# about 2x, Qt's nearest-neighbour scaler starts each tile at its own rounded device column, which can move an
# image pixel's edge by one screen pixel inside a tile: the same picture, not the same bytes.)
SCALES = [1.0, 0.5, 0.8, 0.64, 1.25, 1.5625]


@pytest.mark.parametrize("scale", SCALES)
def test_tiled_part_map_renders_the_pixels_of_the_whole_indexed_image(qapp, scale):
    doc = _doc(foreground=False)
    scene = _canvas(doc)
    old = _whole_image_scene(_rgba_of_parts(doc.part_map), scene.style.parts_opacity)
    assert np.array_equal(_render(scene, scale), _render(old, scale))


def test_hidden_classes_and_the_person_mask_render_as_before(qapp):
    doc = _doc(part_map=False)
    scene = _canvas(doc)
    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[doc.foreground] = (0, 200, 255, 255)
    assert np.array_equal(_render(scene, 1), _render(_whole_image_scene(rgba, scene.style.person_mask_opacity), 1))

    doc = _doc(foreground=False)
    scene = _canvas(doc)
    style = scene.style
    style.hidden_classes = {0, 4, 11}
    scene.apply_style(style)
    old = _whole_image_scene(_rgba_of_parts(doc.part_map, style.hidden_classes), style.parts_opacity)
    assert np.array_equal(_render(scene, 1), _render(old, 1))


def test_an_edit_redraws_only_the_tiles_it_touches(qapp):
    doc = _doc(foreground=False)
    scene = _canvas(doc)
    item = scene.layer_items["parts"]
    _render(scene, 1)  # every tile built once
    built = item.builds
    assert built == 5 * 4

    y0, x0, mask = segment_mask((H, W), (250, 300), (270, 300), 12)  # straddles the tile column at 256
    edit = paint_region(doc, "part_map", y0, x0, mask, 21)
    change = edit.apply(doc)
    scene.refresh_layers(change.layers)
    ys, xs = np.nonzero(doc.part_map != _part_map())
    touched = {(int(y) // TILE, int(x) // TILE) for y, x in zip(ys, xs)}
    assert touched == {(1, 0), (1, 1)}
    assert item.last_invalidated == touched

    after = _render(scene, 1)
    assert item.builds - built == len(touched)
    old = _whole_image_scene(_rgba_of_parts(doc.part_map), scene.style.parts_opacity)
    assert np.array_equal(after, _render(old, 1))


def test_hiding_a_class_rewrites_colours_not_labels(qapp):
    doc = _doc(foreground=False)
    before = doc.part_map.copy()
    scene = _canvas(doc)
    item = scene.layer_items["parts"]
    array = item.array
    style = scene.style
    style.hidden_classes = {7}
    scene.apply_style(style)
    assert item.array is array and np.array_equal(doc.part_map, before)  # the same array, untouched
    assert QColor.fromRgba(item.table[7]).alpha() == 0 and QColor.fromRgba(item.table[8]).alpha() == 255
