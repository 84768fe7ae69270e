"""Run in the app with a person detector: a photo of two people gives two persons, each with its box on the canvas
and in the persons list, and the badge says where the boxes come from. The detector is an ONNX model with fixed
outputs (the two figures' boxes), so the expected boxes are known exactly."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolBar

from tests.detect_models import dets_onnx

PEOPLE = [[60, 40, 220, 460, 0.92], [380, 60, 560, 470, 0.81]]  # on a 640 x 480 image: letterbox ratio 1
RUN_TIMEOUT = 60_000


def _two_people(path):
    bgr = np.full((480, 640, 3), 40, np.uint8)
    for x1, y1, x2, y2, _ in PEOPLE:
        cv2.rectangle(bgr, (x1 + 30, y1 + 60), (x2 - 30, y2), (60, 150, 220), -1)
        cv2.circle(bgr, ((x1 + x2) // 2, y1 + 35), 30, (180, 190, 230), -1)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), bgr)
    return path


def test_run_with_a_detector_gives_one_person_per_box(qtbot, main_window, tmp_path, tiny_checkpoints):
    window = main_window
    image = _two_people(tmp_path / "imgs" / "two.png")
    detector = dets_onnx(tmp_path / "people.onnx", PEOPLE, labels=[0, 0])
    window.model_overrides = {"pose": tiny_checkpoints["pose"], "detector": str(detector)}
    window.refresh_models()
    assert "person boxes: people.onnx" in window.device_badge.text()
    assert window.actions["detect_persons"].isChecked() and not window.actions["detect_persons"].isEnabled()
    window.add_paths([image])

    action = window.actions["run"]
    button = next(b for bar in window.findChildren(QToolBar) if (b := bar.widgetForAction(action)) is not None)
    with qtbot.waitSignal(window.annotation_shown, timeout=RUN_TIMEOUT):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.runner.active, timeout=RUN_TIMEOUT)

    doc = window.annotation
    assert len(doc.persons) == 2
    np.testing.assert_allclose([p.box for p in doc.persons], np.array(PEOPLE)[:, :4])
    assert doc.models["detector"]["layout"] == "dets"
    assert len(window.scene.skeletons) == 2 and len(window.scene.boxes.persons) == 2
    rows = window.layers.persons
    assert [rows.item(i).text() for i in range(rows.count())] == ["Person 0", "Person 1"]
