"""Canvas cost: frame time with 10 people x 308 keypoints plus a part map, at 1024x768 and 8000x6000,
and the time to open a 100-megapixel image. Baseline in the same run: one item per keypoint
(the naive scene layout the per-skeleton item replaces)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np


def _doc(w: int, h: int, people: int = 10):
    from sapiens_core.annotation import Annotation, Person

    rng = np.random.default_rng(0)
    persons = []
    for pid in range(people):
        cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.2, 0.8) * h
        xy = np.stack([cx + rng.normal(0, w / 20, 308), cy + rng.normal(0, h / 10, 308)], 1)
        persons.append(Person.from_prediction(pid, xy.astype(np.float32), np.full(308, 0.9, np.float32)))
    part_map = (np.arange(h)[:, None] // max(1, h // 28) + np.zeros((1, w), int)).clip(0, 27).astype(np.uint8)
    return Annotation(image_path="bench.png", image_size=(w, h), keypoint_schema="goliath_308",
                      class_schema="sapiens_28", persons=persons, part_map=part_map, foreground=part_map > 0,
                      depth=None, normal=None, models={})


def _frame_ms(view, frames: int = 20) -> float:
    from PySide6.QtWidgets import QApplication

    pixmap_size = view.viewport().size()
    t0 = time.perf_counter()
    for i in range(frames):
        view.zoom_by(1.05 if i % 2 == 0 else 1 / 1.05)
        view.horizontalScrollBar().setValue(view.horizontalScrollBar().value() + (5 if i % 2 else -5))
        view.viewport().grab()  # forces a full paint of the viewport, like a screen refresh
        QApplication.processEvents()
    assert pixmap_size.width() > 0
    return (time.perf_counter() - t0) * 1000 / frames


def _naive_scene(doc, scene):
    """Baseline: one ellipse item per keypoint (what the skeleton item avoids)."""
    from PySide6.QtGui import QBrush, QColor
    from PySide6.QtCore import Qt

    for person in doc.persons:
        for x, y, _s in person.keypoints:
            item = scene.addEllipse(float(x) - 3, float(y) - 3, 6, 6, Qt.PenStyle.NoPen, QBrush(QColor(51, 153, 255)))
            item.setZValue(10)


def main() -> None:
    from PySide6.QtWidgets import QApplication

    from app.canvas import CanvasScene, CanvasView

    app = QApplication.instance() or QApplication([])
    for w, h in ((1024, 768), (8000, 6000)):
        doc = _doc(w, h)
        image = np.full((h, w, 3), 120, np.uint8)
        scene = CanvasScene()
        scene.set_image(image)
        t0 = time.perf_counter()
        scene.set_annotation(doc)
        load_ms = (time.perf_counter() - t0) * 1000
        view = CanvasView(scene)
        view.resize(1280, 800)
        view.show()
        view.fit()
        ours = _frame_ms(view)
        naive = CanvasScene()
        naive.set_image(image)
        naive.set_annotation(doc)
        for item in naive.skeletons:
            item.setVisible(False)
        _naive_scene(doc, naive)
        nview = CanvasView(naive)
        nview.resize(1280, 800)
        nview.show()
        nview.fit()
        base = _frame_ms(nview)
        print(f"canvas {w}x{h}, 10 people x 308 kp + part map: layers built in {load_ms:.0f} ms; "
              f"frame {ours:.1f} ms (one item per skeleton) vs {base:.1f} ms (one item per point): ratio {base / ours:.2f}x")
        view.close()
        nview.close()
    _bench_open_100mp()
    app.processEvents()


def _bench_open_100mp() -> None:
    import cv2

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
        image = read_image(path)
        ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref = cv2.imread(str(path))
        base = time.perf_counter() - t0
        print(f"open 100 MP JPEG ({w}x{h}): read_image {ours:.2f} s vs bare cv2.imread {base:.2f} s "
              f"(ratio {ours / base:.2f}); {image.nbytes / 1e6:.0f} MB in memory")
        del image, ref


if __name__ == "__main__":
    main()
