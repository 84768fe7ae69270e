"""Canvas cost: 10 people x 308 keypoints plus a part map, at 1024x768 and 8000x6000, and opening a
100-megapixel image. No assertions: figures only.

Baseline in the same run, the naive scene layout the per-skeleton item replaces: one ellipse item per
keypoint and one line item per link, with the same colours, sizes and pens, so both draw the same picture.
Two costs are timed for each: a frame (zoom or pan, then a full repaint of the viewport) and a restyle
(moving the score threshold, which hides or shows every point, then one frame). Ratios are baseline / ours:
above 1 means the app's layout is faster.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

PEOPLE, FRAMES, REPEATS = 10, 10, 3


def _doc(w: int, h: int, people: int = PEOPLE):
    from sapiens_core.annotation import Annotation, Person

    rng = np.random.default_rng(0)
    persons = []
    for pid in range(people):
        cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.2, 0.8) * h
        xy = np.stack([cx + rng.normal(0, w / 20, 308), cy + rng.normal(0, h / 10, 308)], 1)
        persons.append(Person.from_prediction(pid, xy.astype(np.float32), np.full(308, 0.9, np.float32)))
    part_map = (np.arange(h)[:, None] // max(1, h // 28) + np.zeros((1, w), int)).clip(0, 27).astype(np.uint8)
    return Annotation(
        image_path="bench.png",
        image_size=(w, h),
        keypoint_schema="goliath_308",
        class_schema="sapiens_28",
        persons=persons,
        part_map=part_map,
        foreground=part_map > 0,
        depth=None,
        normal=None,
        models={},
    )


def _paint(view) -> None:
    from PySide6.QtWidgets import QApplication

    view.viewport().grab()  # forces a full paint of the viewport, like a screen refresh
    QApplication.processEvents()


def _frame_ms(view, frames: int = FRAMES) -> float:
    """Best of REPEATS runs of ``frames`` zoom-or-pan steps, each followed by a full repaint."""
    best = float("inf")
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        for i in range(frames):
            view.zoom_by(1.05 if i % 2 == 0 else 1 / 1.05)
            bar = view.horizontalScrollBar()
            bar.setValue(bar.value() + (5 if i % 2 else -5))
            _paint(view)
        best = min(best, (time.perf_counter() - t0) * 1000 / frames)
    return best


def _restyle_ms(view, restyle, frames: int = FRAMES) -> float:
    """Best of REPEATS runs of: hide every point by the threshold, repaint, show them again, repaint."""
    best = float("inf")
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        for i in range(frames):
            restyle(0.95 if i % 2 == 0 else 0.3)
            _paint(view)
        best = min(best, (time.perf_counter() - t0) * 1000 / frames)
    return best


def _naive_items(doc, scene) -> list:
    """Baseline: one item per keypoint and one per link, drawn as the skeleton item draws them."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QBrush, QColor, QPen

    from sapiens_core.schema import keypoint_schema

    schema = keypoint_schema(doc.keypoint_schema)
    w, h = doc.image_size
    r = max(1.5, float(np.hypot(w, h)) / 400.0)  # the scene's radius
    pens = [
        QPen(QColor(*map(int, c)), max(1.0, r * 0.5), Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap)
        for c in schema.skeleton_colors
    ]
    brushes = [QBrush(QColor(*map(int, c))) for c in schema.colors]
    items = []  # (item, score of the point, or the lower score of the link's two points)
    for person in doc.persons:
        kp = person.keypoints
        for (a, b), pen in zip(schema.skeleton, pens):
            line = scene.addLine(float(kp[a, 0]), float(kp[a, 1]), float(kp[b, 0]), float(kp[b, 1]), pen)
            items.append((line, min(kp[a, 2], kp[b, 2])))
        for (x, y, score), brush in zip(kp, brushes):
            dot = scene.addEllipse(float(x) - r, float(y) - r, 2 * r, 2 * r, Qt.PenStyle.NoPen, brush)
            items.append((dot, score))
    for item, _ in items:
        item.setZValue(10)
    return items


def _view(scene):
    from app.canvas import CanvasView

    view = CanvasView(scene)
    view.resize(1280, 800)
    view.show()
    view.fit()
    _paint(view)
    return view


def _bench_size(w: int, h: int) -> None:
    from app.canvas import CanvasScene

    doc = _doc(w, h)
    image = np.full((h, w, 3), 120, np.uint8)

    scene = CanvasScene()
    scene.set_image(image)
    t0 = time.perf_counter()
    scene.set_annotation(doc)
    load_ms = (time.perf_counter() - t0) * 1000
    view = _view(scene)

    def restyle_ours(threshold: float) -> None:
        scene.style.threshold = threshold
        scene.apply_style()

    ours = _frame_ms(view), _restyle_ms(view, restyle_ours)
    view.close()

    naive = CanvasScene()
    naive.set_image(image)
    naive.set_annotation(doc)
    for item in naive.skeletons:
        naive.removeItem(item)
    naive.skeletons = []
    t0 = time.perf_counter()
    items = _naive_items(doc, naive)
    naive_load_ms = (time.perf_counter() - t0) * 1000
    nview = _view(naive)

    def restyle_naive(threshold: float) -> None:
        for item, score in items:
            item.setVisible(bool(score >= threshold))

    base = _frame_ms(nview), _restyle_ms(nview, restyle_naive)
    nview.close()

    print(
        f"canvas {w}x{h}, {PEOPLE} people x 308 kp + part map: "
        f"set_annotation (part map + skeletons) {load_ms:.0f} ms; "
        f"baseline point and link items alone {naive_load_ms:.0f} ms"
    )
    for what, a, b in (("frame", ours[0], base[0]), ("restyle + frame", ours[1], base[1])):
        print(
            f"  {what:16s} {a:6.1f} ms one item per skeleton vs {b:6.1f} ms one item per point and link: "
            f"ratio {b / a:.2f}x"
        )


def _bench_open_100mp() -> None:
    import cv2
    from PySide6.QtWidgets import QApplication

    from app.canvas import CanvasScene, CanvasView
    from sapiens_core.io.images import read_image

    h, w = 8660, 11547  # 100 MP
    rng = np.random.default_rng(1)
    tile = rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)
    big = cv2.resize(tile, (w, h), interpolation=cv2.INTER_NEAREST)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.jpg"
        cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 90])
        del big
        t0 = time.perf_counter()
        ref = cv2.imread(str(path))
        base = time.perf_counter() - t0
        del ref
        t0 = time.perf_counter()
        image = read_image(path)
        ours = time.perf_counter() - t0
        scene = CanvasScene()
        view = CanvasView(scene)
        view.resize(1280, 800)
        view.show()
        QApplication.processEvents()
        t0 = time.perf_counter()
        scene.set_image(image)
        view.fit()
        _paint(view)
        shown = time.perf_counter() - t0
        print(
            f"open 100 MP JPEG ({w}x{h}): read_image {ours:.2f} s vs bare cv2.imread {base:.2f} s "
            f"(ratio {ours / base:.2f}); on the canvas and painted {shown:.2f} s later; "
            f"{image.nbytes / 1e6:.0f} MB as RGB"
        )
        view.close()
        del image


def main() -> None:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    for w, h in ((1024, 768), (8000, 6000)):
        _bench_size(w, h)
    _bench_open_100mp()
    app.processEvents()


if __name__ == "__main__":
    main()
