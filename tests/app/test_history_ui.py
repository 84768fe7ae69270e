"""Undo, Redo, Save and the history panel of the main window, driven by the keyboard and the mouse."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from sapiens_core.annotation import SOURCE_MODEL, Annotation, Person
from sapiens_core.annotation.edits import move_keypoints
from sapiens_core.project import annotation_path

K = 308


def _doc(image_path: str) -> Annotation:
    xy = np.stack([np.linspace(10, 200, K), np.linspace(10, 200, K)], axis=1)
    person = Person(0, np.concatenate([xy, np.full((K, 1), 0.9)], axis=1), np.full(K, 2), np.full(K, SOURCE_MODEL))
    return Annotation(image_path, (512, 512), "goliath_308", persons=[person])


def _opened(window, sample_image):
    doc_path = annotation_path(sample_image)
    doc_path.parent.mkdir(parents=True, exist_ok=True)
    _doc(str(sample_image)).save(doc_path)
    window.add_paths([sample_image])
    assert window.annotation is not None
    return window


def test_undo_redo_shortcuts_and_labels_follow_the_history(qtbot, main_window, sample_image):
    window = _opened(main_window, sample_image)
    undo, redo, save = (window.actions[a] for a in ("undo", "redo", "save"))
    assert not undo.isEnabled() and not redo.isEnabled() and not save.isEnabled()
    window.documents.push(move_keypoints(window.annotation, 0, [5], [[100, 50]]))
    window.documents.seal()
    assert undo.isEnabled() and undo.text() == "&Undo move keypoint" and save.isEnabled()

    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.annotation.persons[0].keypoints[5, 0] == np.float32(np.linspace(10, 200, K)[5])
    assert redo.isEnabled() and redo.text() == "&Redo move keypoint" and not undo.isEnabled()
    qtbot.keyClick(window.view, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert window.annotation.persons[0].keypoints[5, 0] == 100
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.annotation.persons[0].keypoints[5, 0] == 100
    # The canvas item shows the document's value.
    assert window.scene.skeletons[0].keypoints[5, 0] == 100

    qtbot.keyClick(window.view, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert Annotation.load(annotation_path(sample_image)).persons[0].keypoints[5, 0] == 100
    assert not save.isEnabled()


def test_history_panel_lists_steps_and_a_click_goes_there(qtbot, main_window, sample_image):
    window = _opened(main_window, sample_image)
    window.history_dock.show()
    window.history_dock.raise_()
    for n in range(3):
        window.documents.push(move_keypoints(window.annotation, 0, [n], [[300 + n, 300]]))
        window.documents.seal()
    rows = window.history.list
    assert [rows.item(i).text().strip() for i in range(rows.count())] == [
        "Opened",
        "move keypoint",
        "move keypoint",
        "▶ move keypoint",
    ]
    qtbot.mouseClick(rows.viewport(), Qt.MouseButton.LeftButton, pos=rows.visualItemRect(rows.item(1)).center())
    kp = window.annotation.persons[0].keypoints
    assert kp[0, 0] == 300 and kp[1, 0] != 301 and kp[2, 0] != 302
    assert rows.item(1).text().startswith("▶")
    qtbot.mouseClick(rows.viewport(), Qt.MouseButton.LeftButton, pos=rows.visualItemRect(rows.item(3)).center())
    assert window.annotation.persons[0].keypoints[2, 0] == 302


def test_history_survives_switching_images(qtbot, main_window, sample_image, tmp_path):
    window = _opened(main_window, sample_image)
    other = sample_image.parent / "second.png"
    other.write_bytes(sample_image.read_bytes())
    window.add_paths([other])
    window.documents.push(move_keypoints(window.annotation, 0, [7], [[42, 42]]))
    window.files.select(str(other))
    assert window.current_path == str(other) and not window.actions["undo"].isEnabled()
    window.files.select(str(sample_image))
    assert window.annotation.persons[0].keypoints[7, 0] == 42
    assert window.actions["undo"].isEnabled()
