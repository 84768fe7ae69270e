"""View → Make depth metric… (Shift+M) on a synthetic v1 depth, with real keys: fitted to a pointmap, or scaled from a
typed person height; one undoable step either way, and the measure tool then gives meters.

The scene: a person mask over rows 100..449 and columns 150..349 of the 512 x 512 image, on a plane tilted away
from the camera, Z(row) = 2 + 0.002 * (row - 100) m. The v1 depth is relative: d = 3 * Z - 5 (affine, larger =
farther), NaN off the person."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QDoubleSpinBox, QInputDialog

from sapiens_core.annotation import Annotation
from sapiens_core.project import annotation_path

SIZE, F = 512, 400.0
ROWS, COLS = (100, 450), (150, 350)
LEFT = Qt.MouseButton.LeftButton


def scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    fg = np.zeros((SIZE, SIZE), bool)
    fg[ROWS[0] : ROWS[1], COLS[0] : COLS[1]] = True
    z = 2 + 0.002 * (ys - 100)
    points = np.stack([(xs - 255.5) * z / F, (ys - 255.5) * z / F, z], axis=2).astype(np.float32)
    points[~fg] = np.nan
    relative = np.where(fg, 3 * z - 5, np.nan).astype(np.float32)
    return fg, relative, points


def open_doc(qtbot, window, image, with_pointmap: bool) -> Annotation:
    fg, relative, points = scene()
    doc = Annotation(
        str(image),
        (SIZE, SIZE),
        foreground=fg,
        depth=relative,
        pointmap=points if with_pointmap else None,
        models={"depth": {"file": "sapiens_0.3b_render_people_epoch_100_torchscript.pt2"}},
    )
    path = annotation_path(image)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    window.add_paths([image])
    window.view.resetTransform()  # 1:1: a screen pixel is an image pixel
    window.view.centerOn(256, 256)
    window.view.setFocus()
    qtbot.waitUntil(lambda: window.annotation is not None and window.annotation.depth is not None)
    return window.annotation


def test_fitted_to_the_pointmap_as_one_undoable_step(qtbot, main_window, sample_image):
    window = main_window
    doc = open_doc(qtbot, window, sample_image, with_pointmap=True)
    relative = doc.depth.copy()
    fg, _, points = scene()
    qtbot.keyClick(window.view, Qt.Key.Key_M, Qt.KeyboardModifier.ShiftModifier)
    depth = window.annotation.depth
    # d is exactly affine in Z, so the fit recovers Z itself on the person; the background stays NaN.
    np.testing.assert_allclose(depth[fg], points[..., 2][fg], atol=1e-5)
    assert np.isnan(depth[~fg]).all()
    record = window.annotation.models["depth"]
    assert record["metric"] and record["aligned_to"] == "pointmap" and record["pixels"] == fg.sum()
    assert record["rms_m"] < 1e-5 and record["file"].startswith("sapiens_0.3b")  # the model's provenance is kept
    assert window.statusBar().currentMessage().startswith("Depth is now metric (fitted to the pointmap")
    assert window.actions["undo"].text() == "&Undo make depth metric"

    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(window.annotation.depth, relative, equal_nan=True)
    assert "metric" not in window.annotation.models["depth"]
    modifiers = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window.view, Qt.Key.Key_Z, modifiers)
    np.testing.assert_allclose(window.annotation.depth[fg], points[..., 2][fg], atol=1e-5)

    # Already metric: a second Shift+M changes nothing and says so.
    qtbot.keyClick(window.view, Qt.Key.Key_M, Qt.KeyboardModifier.ShiftModifier)
    assert window.statusBar().currentMessage() == "The depth of this image is already metric"
    assert window.actions["undo"].text() == "&Undo make depth metric"


def test_from_a_typed_height_then_measured_in_meters(qtbot, main_window, sample_image):
    window = main_window
    open_doc(qtbot, window, sample_image, with_pointmap=False)
    qtbot.keyClick(window.view, Qt.Key.Key_M, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.findChild(QInputDialog, "metricDepthHeight") is not None)
    dialog = window.findChild(QInputDialog, "metricDepthHeight")
    qtbot.waitUntil(dialog.isVisible)
    spin = dialog.findChild(QDoubleSpinBox)
    qtbot.keyClick(spin, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(spin, "1.75")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.annotation.models["depth"].get("metric", False))

    # No focal length recorded: the larger image side, 512 px. The person spans 350 rows, so a 1.75 m person
    # stands at 512 * 1.75 / 350 = 2.56 m (the median row, 274.5), and the mask's depth extent becomes
    # 0.3 * 1.75 m = 0.525 m over its 349 rows: z(row) = 2.56 + 0.525 * (row - 274.5) / 349.
    fg, _, _ = scene()
    rows = np.arange(SIZE, dtype=np.float64)[:, None] * np.ones((1, SIZE))
    expected = 2.56 + 0.525 * (rows - 274.5) / 349
    np.testing.assert_allclose(window.annotation.depth[fg], expected[fg], rtol=1e-5)
    record = window.annotation.models["depth"]
    assert record["aligned_to"] == "height" and record["height_m"] == pytest.approx(1.75)
    assert record["focal_length_px"] == 512.0

    # The measure tool now works from the metric depth and that focal length: 100 px along row 300.
    qtbot.keyClick(window.view, Qt.Key.Key_M)
    for x in (200, 300):
        qtbot.mouseClick(window.view.viewport(), LEFT, pos=window.view.mapFromScene(QPointF(x, 300)))
    z = 2.56 + 0.525 * (300 - 274.5) / 349
    assert window.measure.distance == pytest.approx(100 * z / 512, rel=1e-5)

    qtbot.keyClick(window.view, Qt.Key.Key_Escape)
    qtbot.keyClick(window.view, Qt.Key.Key_Escape)
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert "metric" not in window.annotation.models["depth"]
