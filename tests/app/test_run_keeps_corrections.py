"""Run on an image a person corrected: the correction stays, the model's output is one undoable step, and
"Run replaces corrections" takes the model's points instead. The tiny pose model is deterministic, so a second
run predicts exactly what the first did."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
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
