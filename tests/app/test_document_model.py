"""The app's document model: histories per image, dirty state from the history, merges of model output."""

from __future__ import annotations

import numpy as np

from app.editing import DocumentModel
from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation, Person
from sapiens_core.annotation.edits import move_keypoints

K = 308


def _doc(path: str, x: float = 5.0) -> Annotation:
    xy = np.stack([np.full(K, x), np.linspace(1, 20, K)], axis=1)
    person = Person(0, np.concatenate([xy, np.full((K, 1), 0.9)], axis=1), np.full(K, 2), np.full(K, SOURCE_MODEL))
    return Annotation(path, (40, 30), "goliath_308", persons=[person])


def test_history_survives_switching_images_and_dirty_state_follows_undo(qtbot, tmp_path):
    model = DocumentModel()
    dirty: list[tuple[str, bool]] = []
    model.dirty_changed.connect(lambda path, flag: dirty.append((path, flag)))
    a = model.open("a.png", tmp_path / "a.json", _doc("a.png"))
    with qtbot.waitSignal(model.changed):
        model.push(move_keypoints(a.doc, 0, [3], [[9, 9]]))
    model.open("b.png", tmp_path / "b.json", _doc("b.png"))
    again = model.open("a.png", tmp_path / "a.json", _doc("a.png"))  # a fresh load from disk is ignored
    assert again is a and a.doc.persons[0].keypoints[3, 0] == 9
    assert [e.image_path for e in model.dirty_documents()] == ["a.png"]
    model.undo()
    assert dirty == [("a.png", True), ("a.png", False)]


def test_save_writes_atomically_and_marks_clean(qtbot, tmp_path):
    model = DocumentModel()
    entry = model.open("a.png", tmp_path / "out" / "a.json", _doc(str(tmp_path / "a.png")))
    model.push(move_keypoints(entry.doc, 0, [1], [[7, 7]]))
    with qtbot.waitSignal(model.saved):
        path = model.save()
    assert entry.history.is_clean and Annotation.load(path).persons[0].keypoints[1, 0] == 7


def test_model_output_merges_as_one_undoable_step_keeping_corrections(qtbot, tmp_path):
    model = DocumentModel()
    entry = model.open("a.png", tmp_path / "a.json", _doc("a.png"))
    model.push(move_keypoints(entry.doc, 0, [2], [[30, 3]]))
    model.apply_labels("a.png", tmp_path / "a.json", _doc("a.png", x=12))
    person = entry.doc.persons[0]
    assert person.keypoints[2, 0] == 30 and person.source[2] == SOURCE_HUMAN and person.keypoints[4, 0] == 12
    model.undo()
    assert entry.doc.persons[0].keypoints[4, 0] == 5
    # An image without a document takes the output as its document, saved as predicted (clean).
    model.apply_labels("new.png", tmp_path / "new.json", _doc("new.png", x=3))
    assert model.entry("new.png").history.is_clean
