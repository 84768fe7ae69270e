"""Autosave and recovery in the app: writes after the debounce (never during an edit), never to the document's own
file; saving clears the entry; a restore through the start dialog reopens the edits as one unsaved step."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from app.editing import DocumentModel
from app.editing.autosave import Autosave
from sapiens_core.annotation import SOURCE_HUMAN, Annotation
from sapiens_core.annotation.edits import move_keypoints
from sapiens_core.project import annotation_path
from sapiens_core.recovery import RecoveryStore
from tests.app.workflow_fixtures import GOLIATH, make_document, make_project, write_image

WRIST = GOLIATH.index("left_wrist")


def test_writes_after_the_debounce_and_not_while_editing(qtbot, tmp_path):
    image = write_image(tmp_path / "a.png")
    doc_path = annotation_path(image)
    make_document(image).save(doc_path)
    saved_bytes = doc_path.read_bytes()
    documents = DocumentModel()
    store = RecoveryStore(tmp_path / "rec")
    autosave = Autosave(documents, store, delay_ms=400, max_wait_ms=60_000)
    entry = documents.open(str(image), doc_path, Annotation.load(doc_path))
    # A drag: a move every 100 ms for 1.2 s, one gesture. Nothing is written while it goes on.
    gesture = object()
    start = time.monotonic()
    for step in range(12):
        documents.push(move_keypoints(entry.doc, 0, [WRIST], [[20 + step, 25]], gesture=gesture))
        qtbot.wait(100)
        assert store.entries() == [], f"written during the edit, {time.monotonic() - start:.2f} s in"
    documents.seal()
    qtbot.waitUntil(lambda: len(store.entries()) == 1, timeout=5000)
    autosave.wait_idle()
    (rec,) = store.entries()
    assert rec.doc_path == doc_path and store.load(rec).persons[0].keypoints[WRIST, 0] == 31
    assert doc_path.read_bytes() == saved_bytes  # the document itself is never touched
    # No new write for a document that did not change since.
    assert autosave.flush() == 0
    # Saving clears the entry.
    documents.save()
    qtbot.waitUntil(lambda: store.entries() == [], timeout=5000)
    autosave.close()


def test_the_deadline_writes_during_endless_editing(qtbot, tmp_path):
    image = write_image(tmp_path / "a.png")
    documents = DocumentModel()
    store = RecoveryStore(tmp_path / "rec")
    autosave = Autosave(documents, store, delay_ms=10_000, max_wait_ms=300)
    entry = documents.open(str(image), annotation_path(image), make_document(image))
    documents.push(move_keypoints(entry.doc, 0, [WRIST], [[5, 5]]))
    qtbot.waitUntil(lambda: len(store.entries()) == 1, timeout=5000)
    autosave.close()


def test_undo_back_to_saved_removes_the_entry(qtbot, tmp_path):
    image = write_image(tmp_path / "a.png")
    documents = DocumentModel()
    store = RecoveryStore(tmp_path / "rec")
    autosave = Autosave(documents, store, delay_ms=50)
    entry = documents.open(str(image), annotation_path(image), make_document(image))
    documents.push(move_keypoints(entry.doc, 0, [WRIST], [[5, 5]]))
    qtbot.waitUntil(lambda: len(store.entries()) == 1, timeout=5000)
    documents.undo()
    qtbot.waitUntil(lambda: store.entries() == [], timeout=5000)
    autosave.close()


def test_restore_from_the_start_dialog(qtbot, main_window, tmp_path):
    (image,) = make_project(tmp_path / "imgs", n=1)
    doc_path = annotation_path(image)
    saved_bytes = doc_path.read_bytes()
    edited = Annotation.load(doc_path)
    edited.persons[0].keypoints[WRIST, :2] = (3.5, 4.5)
    edited.persons[0].source[WRIST] = SOURCE_HUMAN
    edited.part_map[0:2, 0:3] = 0
    store = main_window.workflow.autosave.store
    store.write(doc_path, edited)

    main_window.workflow.offer_recovery()
    box = main_window.findChild(QMessageBox, "recoveryDialog")
    assert box is not None and image.name in box.text()
    restore = next(b for b in box.buttons() if b.text() == "Restore")
    qtbot.mouseClick(restore, Qt.MouseButton.LeftButton)
    QApplication.processEvents()

    doc = main_window.annotation
    assert main_window.current_path == str(image)
    assert tuple(doc.persons[0].keypoints[WRIST, :2]) == (3.5, 4.5) and doc.persons[0].source[WRIST] == SOURCE_HUMAN
    assert (doc.part_map[0:2, 0:3] == 0).all() and doc.part_map[2, 2] != 0
    assert main_window.documents.dirty_documents() and main_window.files.is_dirty(str(image))
    assert doc_path.read_bytes() == saved_bytes  # restored as unsaved edits, the file untouched
    assert main_window.workflow.pending_recovery == []
    # One undoable step over the saved labels.
    main_window.documents.undo()
    on_disk = Annotation.load(doc_path)
    assert main_window.annotation.persons == on_disk.persons
    np.testing.assert_array_equal(main_window.annotation.part_map, on_disk.part_map)
    assert main_window.documents.current.history.is_clean


def test_restore_keeps_an_entry_whose_image_is_gone(qtbot, main_window, tmp_path):
    (image,) = make_project(tmp_path / "imgs", n=1)
    store = main_window.workflow.autosave.store
    store.write(annotation_path(image), Annotation.load(annotation_path(image)))
    image.unlink()
    main_window.workflow.pending_recovery = store.entries()
    assert main_window.workflow.restore_recovery() == []
    assert len(store.entries()) == 1 and len(main_window.workflow.pending_recovery) == 1
