"""Metric 3-D in the app, on a synthetic plane at a known distance: the 3D view shows the pointmap as it is (meters,
no focal length or relief), with the focal length the model implied; the measure tool, driven by real clicks on the
canvas, gives the distance between two keypoints (snapped) and between two pixels.

The plane: Z = 2 m seen with a focal length of 400 px, principal point at the centre of the 512 x 512 image, so
pixel (x, y) sees X = (x - 255.5) * 2 / 400, Y = (y - 255.5) * 2 / 400: n pixels apart are n * 5 mm apart."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from sapiens_core.annotation import SOURCE_MODEL, Annotation, Person
from sapiens_core.project import annotation_path
from sapiens_core.schema import keypoint_schema

SIZE, Z, F = 512, 2.0, 400.0
SCHEMA = keypoint_schema("goliath_308")
LEFT = Qt.MouseButton.LeftButton
SHOULDERS = {"left_shoulder": (300, 200), "right_shoulder": (240, 200)}  # 60 px apart: 30 cm


def plane() -> np.ndarray:
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    points = np.stack([(xs - 255.5) * Z / F, (ys - 255.5) * Z / F, np.full_like(xs, Z)], axis=2).astype(np.float32)
    points[:, :50] = np.nan  # background: no 3-D there
    return points


def person() -> Person:
    keypoints = np.zeros((len(SCHEMA), 3), np.float32)
    visibility = np.zeros(len(SCHEMA), np.uint8)
    for name, (x, y) in SHOULDERS.items():
        keypoints[SCHEMA.names.index(name)] = (x, y, 0.9)
        visibility[SCHEMA.names.index(name)] = 2
    return Person(0, keypoints, visibility, np.full(len(SCHEMA), SOURCE_MODEL))


@pytest.fixture
def window(qtbot, main_window, sample_image):
    points = plane()
    doc = Annotation(
        str(sample_image),
        (SIZE, SIZE),
        "goliath_308",
        persons=[person()],
        foreground=np.isfinite(points[..., 0]),
        depth=np.ascontiguousarray(points[..., 2]),
        pointmap=points,
        models={
            "pointmap": {"file": "sapiens2_0.4b_pointmap.safetensors", "focal_length_px": F, "unit": "m"},
            "depth": {"source": "pointmap", "metric": True, "unit": "m"},
        },
    )
    path = annotation_path(sample_image)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    main_window.add_paths([sample_image])
    main_window.view.resetTransform()  # 1:1: a screen pixel is an image pixel
    main_window.view.centerOn(256, 256)
    main_window.view.setFocus()
    qtbot.waitUntil(lambda: main_window.annotation is not None and main_window.annotation.pointmap is not None)
    return main_window


def click(qtbot, window, x, y):
    qtbot.mouseClick(window.view.viewport(), LEFT, pos=window.view.mapFromScene(QPointF(x, y)))


def test_the_3d_view_shows_the_pointmap_in_meters_with_the_implied_focal_length(qtbot, window):
    view3d = window.view3d
    window.view3d_dock.raise_()
    qtbot.waitUntil(lambda: view3d.cloud is not None and view3d.cloud.metric, timeout=10000)
    cloud = view3d.cloud
    assert cloud.stride == 1 and len(cloud.points) == SIZE * (SIZE - 50)  # under the auto stride's 300,000
    # Every point is the pointmap's own, in meters: pixel (x, y) at ((x - 255.5) / 200, (y - 255.5) / 200, 2).
    xs, ys = cloud.pixels[:, 0], cloud.pixels[:, 1]
    np.testing.assert_allclose(cloud.points[:, 0], (xs - 255.5) * Z / F, atol=1e-6)
    np.testing.assert_allclose(cloud.points[:, 1], (ys - 255.5) * Z / F, atol=1e-6)
    np.testing.assert_allclose(cloud.points[:, 2], Z)
    assert "focal length implied by the model: 400 px" in view3d.status.text()
    assert "meters" in view3d.status.text()
    assert not view3d.focal_spin.isEnabled() and not view3d.relief_spin.isEnabled()


def test_measure_two_keypoints_then_two_pixels_with_real_clicks(qtbot, window):
    tool = window.measure
    before = window.annotation.persons[0].keypoints.copy()
    qtbot.keyClick(window.view, Qt.Key.Key_M)
    assert tool.active
    messages = []
    tool.message.connect(messages.append)

    # Near the shoulders (within the snap distance): the keypoints' exact positions, 60 px apart at 2 m.
    click(qtbot, window, 303, 197)
    click(qtbot, window, 237, 203)
    assert [p[:2] for p in tool.picks] == [SHOULDERS["left_shoulder"], SHOULDERS["right_shoulder"]]
    assert tool.distance == pytest.approx(60 * Z / F, abs=1e-6)
    assert messages[-1] == "left_shoulder to right_shoulder: 30.0 cm (pointmap)"
    assert window.statusBar().currentMessage() == messages[-1]
    np.testing.assert_array_equal(window.annotation.persons[0].keypoints, before)  # nothing was dragged

    # A third click starts again: two pixels 300 rows apart ("head to heel" on the plane) are 1.5 m apart.
    click(qtbot, window, 120, 100)
    assert len(tool.picks) == 1
    click(qtbot, window, 120, 400)
    assert tool.distance == pytest.approx(300 * Z / F, abs=1e-6)
    assert messages[-1] == "pixel (120, 100) to pixel (120, 400): 1.500 m (pointmap)"

    # The background has no 3-D point: refused with the reason, the measurement kept.
    click(qtbot, window, 20, 300)
    assert "off the person" in messages[-1] and len(tool.picks) == 2
    # Esc clears the measurement, a second Esc leaves the tool; then a click pans again, nothing is measured.
    qtbot.keyClick(window.view, Qt.Key.Key_Escape)
    assert tool.picks == [] and tool.active
    qtbot.keyClick(window.view, Qt.Key.Key_Escape)
    assert not tool.active
    click(qtbot, window, 120, 100)
    assert tool.picks == []


def test_measure_without_metric_3d_says_what_to_run(qtbot, main_window, sample_image):
    doc = Annotation(str(sample_image), (SIZE, SIZE), depth=np.ones((SIZE, SIZE), np.float32))
    path = annotation_path(sample_image)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    main_window.add_paths([sample_image])
    qtbot.waitUntil(lambda: main_window.annotation is not None)
    messages = []
    main_window.measure.message.connect(messages.append)
    main_window.view.setFocus()
    qtbot.keyClick(main_window.view, Qt.Key.Key_M)
    click(qtbot, main_window, 256, 256)
    assert "run a Sapiens2 pointmap model" in messages[-1] and main_window.measure.picks == []
