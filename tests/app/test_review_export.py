"""The review flow by keyboard only, the file list's states, File → Export with progress and cancel, and documents
this version cannot read."""

from __future__ import annotations

import json
import threading

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation
from sapiens_core.annotation.edits import move_keypoints
from sapiens_core.errors import AnnotationFormatError
from sapiens_core.project import Project, annotation_path
from tests.app.workflow_fixtures import GOLIATH, make_project

PINKY = GOLIATH.index("left_pinky_finger4")


def _key(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    window.activateWindow()
    window.view.setFocus()
    qtbot.keyClick(window.view.viewport(), key, modifier)
    QApplication.processEvents()


def _open(qtbot, window, images) -> None:
    window.add_paths([str(p) for p in images])
    qtbot.waitUntil(lambda: window.annotation is not None, timeout=5000)


def test_keyboard_review_flow(qtbot, main_window, tmp_path):
    images = make_project(tmp_path / "imgs", n=2)
    _open(qtbot, main_window, images)
    # Every image's saved state shows in the list (read in the background for the one not open).
    qtbot.waitUntil(lambda: main_window.files.state(str(images[1])) == "predicted", timeout=5000)
    assert main_window.files.state(str(images[0])) == "predicted"
    panel = main_window.workflow.review
    panel.threshold.setValue(0.7)  # the pinky tip scores 0.6, everything else 0.9
    panel.refresh()
    doc = main_window.annotation
    x, y = doc.persons[0].keypoints[PINKY, :2]

    _key(qtbot, main_window, Qt.Key.Key_N)  # next point to check: the flagged pinky tip
    item = panel.current_item()
    assert item is not None and item.flagged and item.index == PINKY
    marker = main_window.scene.marker
    assert marker.isVisible() and (marker.pos().x(), marker.pos().y()) == (x, y)

    _key(qtbot, main_window, Qt.Key.Key_Y)  # accept: checked where it is
    person = main_window.annotation.persons[0]
    assert person.source[PINKY] == SOURCE_HUMAN and tuple(person.keypoints[PINKY, :2]) == (x, y)
    assert all(it.index != PINKY for it in panel.items)
    assert main_window.files.state(str(images[0])) == "edited" and main_window.files.is_dirty(str(images[0]))

    _key(qtbot, main_window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # mark reviewed
    assert main_window.annotation.reviewed
    assert main_window.files.state(str(images[0])) == "reviewed"
    _key(qtbot, main_window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)  # save
    assert not main_window.files.is_dirty(str(images[0]))
    saved = Annotation.load(annotation_path(images[0]))
    assert saved.reviewed and saved.persons[0].source[PINKY] == SOURCE_HUMAN

    _key(qtbot, main_window, Qt.Key.Key_D)  # next image
    assert main_window.current_path == str(images[1])
    _key(qtbot, main_window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # nothing to undo here
    assert main_window.annotation.persons[0].source[PINKY] == SOURCE_MODEL


def test_export_dialog_writes_the_file_and_cancel_leaves_none(qtbot, main_window, tmp_path, monkeypatch):
    images = make_project(tmp_path / "imgs", n=4)
    _open(qtbot, main_window, images)
    # An unsaved edit: the export asks, and saving first puts it in the file.
    entry = main_window.documents.current
    main_window.documents.push(move_keypoints(entry.doc, 0, [0], [[7.0, 8.0]]))
    asked = []
    monkeypatch.setattr(type(main_window.workflow), "ask_save_before_export", lambda self, n: asked.append(n) or "save")
    dialog = main_window.workflow.open_export_dialog()
    assert asked == [1] and not main_window.documents.dirty_documents()
    out = tmp_path / "exports" / "train.json"
    dialog.set_format("coco17")
    dialog.out_edit.setText(str(out))
    with qtbot.waitSignal(dialog.finished_export, timeout=30_000) as done:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert done.args[0] == "succeeded"
    coco = json.loads(out.read_text())
    assert len(coco["images"]) == 4
    first = min(coco["annotations"], key=lambda a: a["image_id"])
    names = {im["id"]: im["file_name"] for im in coco["images"]}
    assert names[first["image_id"]].endswith("img0.png") and first["keypoints"][:2] == [7.0, 8.0]

    # Cancel in the middle of a folder export: the job blocks on its second document until Cancel was clicked.
    release, reached = threading.Event(), threading.Event()
    calls = []
    real_load = Project.load

    def slow_load(self, path, layers=True):
        calls.append(path)
        if len(calls) == 3:
            reached.set()
            release.wait(20)
        return real_load(self, path, layers)

    monkeypatch.setattr(Project, "load", slow_load)
    folder = tmp_path / "exports" / "labelme"
    dialog.set_format("labelme")
    dialog.out_edit.setText(str(folder))
    with qtbot.waitSignal(dialog.finished_export, timeout=30_000) as done:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(reached.is_set, timeout=10_000)
        assert dialog.progress.isVisible()
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
        release.set()
    assert done.args[0] == "cancelled"
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == ["train.json"]
    assert "cancelled" in dialog.status.text()


def test_unreadable_document_is_reported_and_left_untouched(qtbot, main_window, tmp_path):
    images = make_project(tmp_path / "imgs", n=2)
    broken, newer = annotation_path(images[0]), annotation_path(images[1])
    broken.write_text('{"format": "sapiens-studio/annotation", "version": 1, "persons": [')
    data = json.loads(newer.read_text())
    data["version"] = 99
    newer.write_text(json.dumps(data))
    before = {p: p.read_bytes() for p in (broken, newer)}

    main_window.add_paths([str(p) for p in images])
    qtbot.waitUntil(lambda: main_window.current_path == str(images[0]), timeout=5000)
    box = main_window.findChild(QMessageBox, "notification")
    assert box is not None and "not valid JSON" in box.text() and "left as it is" in box.text()
    assert main_window.annotation is None  # the image shows, without labels
    qtbot.waitUntil(lambda: main_window.files.state(str(images[1])) == "unreadable", timeout=5000)

    main_window.files.select(str(images[1]))
    qtbot.waitUntil(lambda: main_window.current_path == str(images[1]), timeout=5000)
    texts = [b.text() for b in main_window.findChildren(QMessageBox, "notification")]
    assert any("newer Sapiens Studio" in t for t in texts)

    # A model's output for the image may not be saved over the file either.
    fresh = Annotation(str(images[1]), (80, 60), "goliath_308")
    main_window.documents.apply_labels(str(images[1]), newer, fresh)
    try:
        main_window.documents.save(str(images[1]))
    except AnnotationFormatError as exc:
        assert "left as it is" in str(exc)
    else:
        raise AssertionError("saved over a newer document")
    assert {p: p.read_bytes() for p in (broken, newer)} == before
