"""Canvas frame while dragging one keypoint: 10 people x 308 points and a part map on a 1024x768 image.

Each frame goes through the real editing path of the main window: a ``move_keypoints`` edit pushed to the
``DocumentModel`` (one gesture, so the history merges it as a drag does), every subscriber of the change (the
window's canvas update, the editing tool, the review panel's and autosave's timers, the file list), then the
viewport's repaint: once as the app does it (Qt's smart update: the changed region), once with every frame
repainting the whole viewport (a screen refresh, the worst case). Baseline in the same run: the same frames
with the canvas rebuilding every person's skeleton item on each change, as it did before an edit redrew only
the person it touched, and the app's path with the skeleton items drawn directly instead of from their cached
pixmaps. The goal is at most 16 ms a frame (60 fps). No assertions: figures only.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

FRAMES, REPEATS = 40, 3
W, H = 1024, 768
BUDGET_MS = 16.0


def _window(tmp: str):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from app.settings import Settings

    window = MainWindow(Settings(QSettings(os.path.join(tmp, "settings.ini"), QSettings.Format.IniFormat)))
    window.resize(1600, 1000)
    window.show()
    QApplication.processEvents()
    return window


def _rebuild_every_person(scene):
    """The baseline's change handler: new skeleton items for every person, restyled (the pre-edit canvas)."""
    from PySide6.QtWidgets import QGraphicsItem

    from app.canvas.skeleton_item import SkeletonItem
    from sapiens_core.schema import keypoint_schema

    def rebuild(change) -> None:
        doc = scene.annotation
        for item in scene.skeletons:
            scene.removeItem(item)
        scene.skeletons = []
        schema = keypoint_schema(doc.keypoint_schema)
        radius = max(1.5, float(np.hypot(*doc.image_size)) / 400.0)  # the scene's own radius rule
        for person in doc.persons:
            item = SkeletonItem(person.keypoints, person.visibility, schema, radius, person.id, person.source)
            item.setCacheMode(QGraphicsItem.CacheMode.NoCache)  # the pre-edit canvas drew every item directly
            item.setZValue(10)
            scene.addItem(item)
            scene.skeletons.append(item)
        scene.apply_style()

    return rebuild


def _drag_ms(window, point: int, full: bool) -> list[float]:
    """Per-frame milliseconds of REPEATS drags of FRAMES moves of person 0's ``point``, each repainted."""
    from PySide6.QtWidgets import QApplication, QGraphicsView

    from sapiens_core.annotation.edits import move_keypoints

    documents, view = window.documents, window.view
    mode = view.viewportUpdateMode()
    if full:
        view.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
    x0, y0 = (float(v) for v in documents.current.doc.persons[0].keypoints[point, :2])
    times = []
    for _ in range(REPEATS):
        gesture = object()  # one drag: the history merges its moves into one step
        for i in range(FRAMES):
            t0 = time.perf_counter()
            dx = 20.0 * np.sin(i / 6.0)
            documents.push(move_keypoints(documents.current.doc, 0, [point], [(x0 + dx, y0 + dx / 2)], gesture))
            QApplication.processEvents()  # the change handlers, then the viewport's repaint
            times.append((time.perf_counter() - t0) * 1000)
    view.setViewportUpdateMode(mode)
    return times


def _set_cache(scene, mode) -> None:
    for item in scene.skeletons:
        item.setCacheMode(mode)


def _summary(times: list[float]) -> str:
    return f"median {statistics.median(times):5.1f} ms, p90 {np.percentile(times, 90):5.1f} ms"


def main() -> None:
    from PySide6.QtWidgets import QApplication, QGraphicsItem

    from bench.bench_canvas import _doc
    from sapiens_core.schema import keypoint_schema

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SAPIENS_RECOVERY_DIR"] = os.path.join(tmp, "recovery")  # autosave may fire: keep it here
        window = _window(tmp)
        window.scene.set_image(np.full((H, W, 3), 120, np.uint8))
        window.set_annotation(_doc(W, H))
        window.view.fit()
        QApplication.processEvents()
        point = keypoint_schema("goliath_308").index("left_wrist")
        viewport = window.view.viewport().size()

        documents = window.documents
        _drag_ms(window, point, False)  # warm-up: first paints fill caches
        ours = {full: _drag_ms(window, point, full) for full in (False, True)}
        _set_cache(window.scene, QGraphicsItem.CacheMode.NoCache)
        uncached = {full: _drag_ms(window, point, full) for full in (False, True)}
        _set_cache(window.scene, QGraphicsItem.CacheMode.DeviceCoordinateCache)
        documents.changed.disconnect(window._document_changed)
        rebuild = _rebuild_every_person(window.scene)
        documents.changed.connect(rebuild)
        base = {full: _drag_ms(window, point, full) for full in (False, True)}
        documents.changed.disconnect(rebuild)
        documents.changed.connect(window._document_changed)
        steps = len(documents.current.history.labels)  # one per drag if the moves merged

        print(
            f"drag one point, {W}x{H} image, 10 people x 308 kp + part map, viewport "
            f"{viewport.width()}x{viewport.height()}, {FRAMES} frames x {REPEATS} drags per figure ({steps} undo steps)"
        )
        for full, what in ((False, "changed region"), (True, "whole viewport")):
            a, b = statistics.median(ours[full]), statistics.median(base[full])
            verdict = "within" if a <= BUDGET_MS else "over"
            c = statistics.median(uncached[full])
            pad = " " * (len(what) + 11)
            print(f"  repaint {what}: edited person only {_summary(ours[full])} ({verdict} {BUDGET_MS:g} ms)")
            print(f"{pad}the same, items not cached {_summary(uncached[full])}; ratio {c / a:.2f}x")
            print(f"{pad}rebuild all persons, not cached {_summary(base[full])}; ratio {b / a:.2f}x")
        window.close()
        app.processEvents()


if __name__ == "__main__":
    main()
