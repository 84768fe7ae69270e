"""The open documents of the app: one annotation and its edit history per image, outside any widget.

Widgets render ``current`` and send edits through ``push``; they never hold the only copy of a label. Each
image keeps its own history (undo survives switching images). Signals tell views what changed so they repaint
only that, and tell the file list and autosave when a document gets or loses unsaved edits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from sapiens_core.annotation import Annotation
from sapiens_core.annotation.edits import ApplyLabels, Change, Edit
from sapiens_core.annotation.history import DEFAULT_BUDGET, History
from sapiens_core.annotation.overwrite import check_overwritable

log = logging.getLogger(__name__)


@dataclass
class OpenDocument:
    image_path: str
    doc_path: Path  # where the document is saved
    doc: Annotation
    history: History


class DocumentModel(QObject):
    opened = Signal(object)  # OpenDocument or None: the document on screen changed
    changed = Signal(object)  # Change: an edit, undo or redo touched these labels of the current document
    dirty_changed = Signal(str, bool)  # image path, has unsaved edits
    saved = Signal(str)  # image path

    def __init__(self, budget: int = DEFAULT_BUDGET, parent=None):
        super().__init__(parent)
        self.budget = budget
        self._open: dict[str, OpenDocument] = {}
        self.current: OpenDocument | None = None
        # The image on screen, also while it has no document yet: a batch result for another image must not
        # take the screen (``current`` alone is None for both cases).
        self.current_image: str | None = None

    # ---------------------------------------------------------------------------------------------- opening

    def open(self, image_path: str, doc_path: Path, doc: Annotation | None) -> OpenDocument | None:
        """Show ``image_path``'s document: the one already open (with its history and unsaved edits), else ``doc``
        as loaded from disk. None when the image has no document yet."""
        entry = self._open.get(image_path)
        if entry is None and doc is not None:
            entry = self._track(image_path, doc_path, doc)
        self.current, self.current_image = entry, image_path
        self.opened.emit(entry)
        return entry

    def replace(self, image_path: str, doc_path: Path, doc: Annotation | None) -> OpenDocument | None:
        """Show ``doc`` for ``image_path`` with a fresh history, dropping what was open for it (a document
        set from outside the editing flow: a script, a test, a reload)."""
        self._open.pop(image_path, None)
        return self.open(image_path, doc_path, doc)

    def _track(self, image_path: str, doc_path: Path, doc: Annotation) -> OpenDocument:
        history = History(doc, self.budget)
        entry = OpenDocument(image_path, Path(doc_path), doc, history)
        history.listeners.append(lambda change, e=entry: self._on_change(e, change))
        self._open[image_path] = entry
        return entry

    def entry(self, image_path: str) -> OpenDocument | None:
        return self._open.get(image_path)

    def dirty_documents(self) -> list[OpenDocument]:
        return [e for e in self._open.values() if not e.history.is_clean]

    # ---------------------------------------------------------------------------------------------- editing

    def push(self, edit: Edit) -> Change | None:
        if self.current is None:
            return None
        return self.current.history.push(edit)

    def seal(self) -> None:
        if self.current is not None:
            self.current.history.seal()

    def undo(self) -> Change | None:
        return self.current.history.undo() if self.current else None

    def redo(self) -> Change | None:
        return self.current.history.redo() if self.current else None

    def apply_labels(
        self,
        image_path: str,
        doc_path: Path,
        incoming: Annotation,
        replace: bool = False,
        label: str = "apply model output",
    ) -> None:
        """A model's output for ``image_path``: merged into its open document as one undoable step (human-made
        points kept unless ``replace``), or opened as the document when there was none."""
        entry = self._open.get(image_path)
        if entry is None:
            entry = self._track(image_path, doc_path, incoming)
            entry.history.set_clean()  # as predicted: the caller saves it
            if image_path == self.current_image:
                self.current = entry
                self.opened.emit(entry)
            return
        entry.history.seal()  # never merged into a drag in progress
        entry.history.push(ApplyLabels(incoming, replace=replace, label=label))
        entry.history.seal()

    # ---------------------------------------------------------------------------------------------- saving

    def save(self, image_path: str | None = None) -> Path | None:
        """Save a document (the current one by default) atomically; marks its history clean."""
        entry = self._open.get(image_path) if image_path else self.current
        if entry is None:
            return None
        check_overwritable(entry.doc_path)  # a file this version cannot read is never replaced
        entry.doc_path.parent.mkdir(parents=True, exist_ok=True)
        entry.doc.save(entry.doc_path)
        entry.history.set_clean()
        self.dirty_changed.emit(entry.image_path, False)
        self.saved.emit(entry.image_path)
        return entry.doc_path

    # ---------------------------------------------------------------------------------------------- internals

    def _on_change(self, entry: OpenDocument, change: Change) -> None:
        self.dirty_changed.emit(entry.image_path, not entry.history.is_clean)
        if entry is self.current:
            self.changed.emit(change)
