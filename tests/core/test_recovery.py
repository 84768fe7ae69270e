"""Recovery files: kept apart from the documents, keyed by the document path, complete after any interruption."""

from __future__ import annotations

import json
import os

import numpy as np

from sapiens_core.annotation import SOURCE_MODEL, Annotation, Person
from sapiens_core.recovery import RECOVERY_DIR_ENV, RecoveryStore, default_recovery_dir, key_for

K = 17


def _doc(image: str, x: float = 3.0) -> Annotation:
    xy = np.stack([np.full(K, x), np.arange(K, dtype=float)], axis=1)
    person = Person(0, np.concatenate([xy, np.full((K, 1), 0.8)], 1), np.full(K, 2), np.full(K, SOURCE_MODEL))
    part_map = np.zeros((20, 30), np.uint8)
    part_map[2:5, 3:9] = 7
    return Annotation(image, (30, 20), "coco_17", "sapiens_28", persons=[person], part_map=part_map)


def test_env_var_chooses_the_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(RECOVERY_DIR_ENV, str(tmp_path / "r"))
    assert default_recovery_dir() == tmp_path / "r"
    monkeypatch.delenv(RECOVERY_DIR_ENV)
    assert default_recovery_dir().name == "recovery"


def test_write_keeps_labels_and_target_and_never_touches_the_document(tmp_path):
    store = RecoveryStore(tmp_path / "rec")
    image = tmp_path / "imgs" / "a.png"
    doc_path = tmp_path / "imgs" / "sapiens_studio" / "a.json"
    doc_path.parent.mkdir(parents=True)
    doc_path.write_text("the saved document")
    doc = _doc(str(image), x=11.5)
    store.write(doc_path, doc)
    assert doc_path.read_text() == "the saved document"
    (entry,) = store.entries()
    assert entry.doc_path == doc_path and entry.image_path == str(image)
    restored = store.load(entry)
    assert restored.image_path == str(image)
    assert restored.persons[0].keypoints[4, 0] == np.float32(11.5)
    np.testing.assert_array_equal(restored.part_map, doc.part_map)
    # A second write replaces the first: one entry, one generation folder.
    store.write(doc_path, _doc(str(image), x=2.0))
    (entry,) = store.entries()
    assert store.load(entry).persons[0].keypoints[0, 0] == 2.0
    assert [p.name for p in (tmp_path / "rec" / entry.key).iterdir() if p.is_dir()] == [entry.generation]


def test_same_image_name_in_two_folders_are_two_entries(tmp_path):
    store = RecoveryStore(tmp_path / "rec")
    store.write(tmp_path / "x" / "a.json", _doc("x/a.png", 1))
    store.write(tmp_path / "y" / "a.json", _doc("y/a.png", 2))
    entries = {e.doc_path: store.load(e).persons[0].keypoints[0, 0] for e in store.entries()}
    assert entries == {tmp_path / "x" / "a.json": 1, tmp_path / "y" / "a.json": 2}


def test_discard_removes_the_entry(tmp_path):
    store = RecoveryStore(tmp_path / "rec")
    store.write(tmp_path / "a.json", _doc("a.png"))
    store.discard(tmp_path / "a.json")
    assert store.entries() == [] and not (tmp_path / "rec" / key_for(tmp_path / "a.json")).exists()
    store.discard(tmp_path / "a.json")  # twice is fine


def test_an_interrupted_write_leaves_the_previous_entry(tmp_path):
    """A crash after the new generation was written but before entry.json was replaced: the old state counts."""
    store = RecoveryStore(tmp_path / "rec")
    entry = store.write(tmp_path / "a.json", _doc("a.png", 4))
    half = tmp_path / "rec" / entry.key / "g999-dead"
    half.mkdir()
    (half / "a.json").write_text("{trunc")
    (only,) = store.entries()
    assert only.generation == entry.generation and store.load(only).persons[0].keypoints[0, 0] == 4
    # The next write clears the orphan.
    store.write(tmp_path / "a.json", _doc("a.png", 5))
    assert not half.exists()


def test_broken_and_foreign_entries_are_skipped(tmp_path):
    root = tmp_path / "rec"
    store = RecoveryStore(root)
    (root / "junk").mkdir(parents=True)
    (root / "junk" / "entry.json").write_text("not json")
    (root / "newer").mkdir()
    (root / "newer" / "entry.json").write_text(json.dumps({"format": "sapiens-studio/recovery", "version": 99}))
    (root / "nogen").mkdir()
    record = {
        "format": "sapiens-studio/recovery",
        "version": 1,
        "doc_path": "/x.json",
        "image_path": "/x.png",
        "generation": "g1",
        "saved_at": 0,
    }
    (root / "nogen" / "entry.json").write_text(json.dumps(record))
    assert store.entries() == []
    assert RecoveryStore(tmp_path / "missing").entries() == []


def test_key_is_the_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert key_for("a.json") == key_for(os.path.join(tmp_path, "a.json")) != key_for(tmp_path / "b.json")
