"""Run on an image a person corrected: the correction stays, the model's output is one undoable step, and
"Run replaces corrections" takes the model's points instead. The tiny pose model is deterministic, so a second
run predicts exactly what the first did."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QToolBar

from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation
from sapiens_core.annotation.edits import move_keypoints
from sapiens_core.project import annotation_path

RUN_TIMEOUT = 60_000


def _run(qtbot, window) -> None:
    action = window.actions["run"]
    button = next(b for bar in window.findChildren(QToolBar) if (b := bar.widgetForAction(action)) is not None)
    with qtbot.waitSignal(window.annotation_shown, timeout=RUN_TIMEOUT):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.runner.active, timeout=RUN_TIMEOUT)


def test_run_keeps_an_edited_point_and_is_one_undo_step(qtbot, main_window, sample_image, tiny_checkpoints):
    window = main_window
    window.add_paths([sample_image])
    window.model_overrides = {"pose": tiny_checkpoints["pose"]}
    _run(qtbot, window)
    predicted = window.annotation.persons[0].keypoints.copy()
    assert window.history.steps() == ["Opened"]  # a first prediction is the document, not an edit

    window.documents.push(move_keypoints(window.annotation, 0, [4], [[33.0, 44.0]]))
    window.documents.seal()
    _run(qtbot, window)
    person = window.annotation.persons[0]
    assert tuple(person.keypoints[4, :2]) == (33.0, 44.0) and person.source[4] == SOURCE_HUMAN
    np.testing.assert_array_equal(np.delete(person.keypoints, 4, 0), np.delete(predicted, 4, 0))
    assert window.history.steps() == ["Opened", "move keypoint", "apply model output"]
    saved = Annotation.load(annotation_path(sample_image)).persons[0]
    assert tuple(saved.keypoints[4, :2]) == (33.0, 44.0)

    window.actions["undo"].trigger()  # one step takes the whole run back
    assert window.history.current_row() == 1
    assert tuple(window.annotation.persons[0].keypoints[4, :2]) == (33.0, 44.0)

    window.actions["replace_corrections"].trigger()
    assert window.actions["replace_corrections"].isChecked()
    _run(qtbot, window)
    person = window.annotation.persons[0]
    np.testing.assert_array_equal(person.keypoints, predicted)
    assert (person.source == SOURCE_MODEL).all()
    assert window.history.steps()[-1] == "replace with model output"
    window.actions["undo"].trigger()
    assert tuple(window.annotation.persons[0].keypoints[4, :2]) == (33.0, 44.0)
    assert tuple(window.scene.skeletons[0].keypoints[4, :2]) == (33.0, 44.0)


def test_run_keeps_a_painted_stroke_and_replace_takes_the_models_map(
    qtbot, main_window, sample_image, tiny_checkpoints
):
    window = main_window
    window.add_paths([sample_image])
    window.model_overrides = {"seg": tiny_checkpoints["seg"]}
    _run(qtbot, window)
    model_map = window.annotation.part_map.copy()

    # A stroke with the brush (key B), with a class the model gave nowhere on the stroke's line.
    painted = int(np.setdiff1d(np.arange(28), model_map[190:210, 100:300])[0])
    qtbot.keyClick(window.view, Qt.Key.Key_B)
    window.painter.controller.settings.set_class(painted)
    viewport = window.view.viewport()
    start, end = (window.view.mapFromScene(QPointF(x, 200.5)) for x in (120.5, 280.5))
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, end)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    stroke = window.annotation.part_map != model_map
    assert stroke.sum() > 100 and (window.annotation.part_map[stroke] == painted).all()
    np.testing.assert_array_equal(window.annotation.part_map_human, stroke)  # marked as the person's pixels
    qtbot.keyClick(window.view, Qt.Key.Key_B)  # back to navigating
    window.documents.seal()

    _run(qtbot, window)
    np.testing.assert_array_equal(window.annotation.part_map, np.where(stroke, painted, model_map))
    assert window.history.steps()[-1] == "apply model output"

    window.actions["replace_corrections"].trigger()
    _run(qtbot, window)
    np.testing.assert_array_equal(window.annotation.part_map, model_map)
    assert window.annotation.part_map_human is None
    window.actions["undo"].trigger()  # the replacement is one step: the stroke comes back with its marks
    np.testing.assert_array_equal(window.annotation.part_map, np.where(stroke, painted, model_map))
    np.testing.assert_array_equal(window.annotation.part_map_human, stroke)
