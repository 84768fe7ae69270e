"""Painting a 4000x3000 part map: brush-stroke latency, repainted area and the memory of one undo step.

Ours: each dab is a rectangle-local capsule mask, a tile edit merged into the stroke's step, and the canvas
rebuilds only the 256x256 tiles it touched. Baseline in the same run, the whole-map path the tiles replace:
each dab a full-size boolean mask painted by an undo step that keeps a snapshot of the whole map, and the part
map converted again as one indexed image and pixmap. Both paint the same stroke (checked)
on the same canvas at 1280x800, fitted, and each dab ends with the event loop repainting what changed.

Memory: the undo step of one brush stroke against a full-map snapshot (12 MB for 4000x3000 uint8).
No assertions: figures only. Ratios are baseline / ours: above 1 means the app is faster or smaller.
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

W, H = 4000, 3000
DABS = 60  # mouse moves in one stroke
RADIUS = 12.0  # brush radius in image pixels


def _part_map() -> np.ndarray:
    rng = np.random.default_rng(0)
    blocks = rng.integers(0, 28, (H // 100, W // 100), dtype=np.uint8)
    return np.ascontiguousarray(blocks.repeat(100, 0).repeat(100, 1))


def _path(k: int) -> list[tuple[float, float]]:
    """A diagonal stroke with a wiggle, one point per mouse move."""
    t = np.linspace(0, 1, k)
    return [(300 + 3200 * a, 400 + 2000 * a + 80 * np.sin(12 * a)) for a in t]


def _doc():
    from sapiens_core.annotation import Annotation

    return Annotation("bench.png", (W, H), None, "sapiens_28", part_map=_part_map())


def _canvas(doc):
    from app.canvas import CanvasScene, CanvasView
    from app.editing.document_model import DocumentModel

    model = DocumentModel()
    scene = CanvasScene()
    scene.set_image(np.full((H, W, 3), 120, np.uint8))
    view = CanvasView(scene)
    view.resize(1280, 800)
    view.show()
    model.open("bench.png", "bench.json", doc)
    scene.set_annotation(doc)
    view.fit()
    view.viewport().grab()
    return model, scene, view


def _ours(path) -> tuple[list[float], float, object, np.ndarray]:
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication

    from app.canvas.tools.paint_controller import PaintController

    doc = _doc()
    model, scene, view = _canvas(doc)
    model.changed.connect(lambda change: scene.refresh_layers(change.layers))
    paint = PaintController(view, scene, model)
    paint.settings.set_class(27)
    paint.settings.set_size(2 * RADIUS)
    paint.set_tool("brush")
    brush = paint.tools["brush"]
    item = scene.layer_items["parts"]
    QApplication.processEvents()
    builds = item.builds
    times = []
    for i, (x, y) in enumerate(path):
        t0 = time.perf_counter()
        (brush.press if i == 0 else brush.move)(QPointF(x, y))
        QApplication.processEvents()  # the view repaints the dirty region
        times.append((time.perf_counter() - t0) * 1000)
    brush.release(None)
    area = (item.builds - builds) * item.tile * item.tile / len(path)
    step = model.current.history._done[-1]
    view.close()
    return times, area, step, doc.part_map


def _snapshot_paint_class():
    from sapiens_core.annotation.edits import Change, Edit

    class SnapshotPaint(Edit):
        """The simple undo step: the whole map as it was before the stroke, and as it is after it."""

        label = "paint"

        def __init__(self, mask: np.ndarray, value: int, gesture: object):
            self.mask, self.value, self.gesture = mask, value, gesture
            self.before: np.ndarray | None = None
            self.after: np.ndarray | None = None

        def apply(self, doc) -> Change:
            if self.after is None:
                self.before = doc.part_map.copy()
                doc.part_map[self.mask] = self.value
                self.after = doc.part_map.copy()
                self.mask = None
            else:
                doc.part_map[...] = self.after
            return Change(layers={"part_map": (0, 0, H, W)})

        def revert(self, doc) -> Change:
            doc.part_map[...] = self.before
            return Change(layers={"part_map": (0, 0, H, W)})

        def merge(self, other) -> bool:
            if not (isinstance(other, SnapshotPaint) and other.gesture is self.gesture):
                return False
            self.after = other.after
            return True

        @property
        def nbytes(self) -> int:
            return self.before.nbytes + self.after.nbytes

    return SnapshotPaint


def _baseline(path) -> tuple[list[float], float, object, np.ndarray]:
    from PySide6.QtGui import QPixmap
    from PySide6.QtWidgets import QApplication, QGraphicsPixmapItem

    from app.qimage import indexed_qimage
    from sapiens_core.annotation.shapes import segment_mask
    from sapiens_core.schema import class_schema

    _SnapshotPaint = _snapshot_paint_class()
    doc = _doc()
    model, scene, view = _canvas(doc)
    colors = class_schema("sapiens_28").colors
    scene.layer_items["parts"].setVisible(False)
    whole = QGraphicsPixmapItem(QPixmap.fromImage(indexed_qimage(doc.part_map, colors)))
    whole.setZValue(2)
    whole.setOpacity(scene.style.parts_opacity)
    scene.addItem(whole)
    QApplication.processEvents()
    gesture = object()
    times = []
    last = path[0]
    for x, y in path:
        t0 = time.perf_counter()
        y0, x0, sub = segment_mask((H, W), last, (x, y), RADIUS)
        full = np.zeros((H, W), bool)
        full[y0 : y0 + sub.shape[0], x0 : x0 + sub.shape[1]] = sub
        model.push(_SnapshotPaint(full, 27, gesture))
        whole.setPixmap(QPixmap.fromImage(indexed_qimage(doc.part_map, colors)))
        QApplication.processEvents()
        times.append((time.perf_counter() - t0) * 1000)
        last = (x, y)
    model.seal()
    step = model.current.history._done[-1]
    view.close()
    return times, float(W * H), step, doc.part_map


def main() -> None:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    path = _path(DABS)
    ours, ours_area, ours_step, ours_map = _ours(path)
    base, base_area, base_step, base_map = _baseline(path)
    assert np.array_equal(ours_map, base_map), "both paths must paint the same pixels"
    changed = int((ours_map != _part_map()).sum())

    def stats(t):
        return float(np.median(t)), float(np.max(t)), float(np.median(t[-10:]))

    (om, ox, ol), (bm, bx, bl) = stats(ours), stats(base)
    print(f"brush stroke on a {W}x{H} part map, {DABS} moves, radius {RADIUS:g} px, {changed} pixels painted:")
    print(f"  per move (edit + repaint)  median {om:6.2f} ms vs {bm:7.2f} ms whole map: ratio {bm / om:.1f}x")
    print(f"  slowest move               {ox:6.2f} ms vs {bx:7.2f} ms: ratio {bx / ox:.1f}x")
    print(f"  last 10 moves (median)     {ol:6.2f} ms vs {bl:7.2f} ms: ratio {bl / ol:.1f}x")
    print(
        f"  map pixels re-converted per move: {ours_area / 1e3:.0f} k (touched tiles) vs {base_area / 1e6:.0f} M "
        f"(whole map): ratio {base_area / ours_area:.0f}x"
    )
    print(
        f"undo step of the stroke: {ours_step.nbytes / 1e6:.2f} MB (touched 64x64 tiles and their painted-pixel "
        f"marks, before and after) vs {base_step.nbytes / 1e6:.0f} MB (the map before and after): "
        f"ratio {base_step.nbytes / ours_step.nbytes:.0f}x"
    )
    app.processEvents()


if __name__ == "__main__":
    main()
