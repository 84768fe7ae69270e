"""Undo, Redo and Save as actions of the window, labelled and enabled from the current document's history.

The history is our own (``sapiens_core.annotation.history``, a byte budget instead of QUndoStack's step count),
so the actions are plain QActions kept in step with it: "Undo move keypoint" names what the next undo reverts.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QKeySequence

from ..actions import ActionRegistry, ActionSpec
from .document_model import DocumentModel


class HistoryActions(QObject):
    def __init__(self, documents: DocumentModel, parent=None):
        super().__init__(parent)
        self.documents = documents
        self.registry: ActionRegistry | None = None
        for signal in (documents.opened, documents.changed, documents.saved, documents.dirty_changed):
            signal.connect(self.update)

    def register(self, registry: ActionRegistry) -> None:
        self.registry = registry
        registry.add(ActionSpec("undo", "&Undo", "&Edit", "Ctrl+Z", toolbar=True), self.undo)
        redo = registry.add(ActionSpec("redo", "&Redo", "&Edit", "Ctrl+Shift+Z", toolbar=True), self.redo)
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        registry.add(ActionSpec("save", "&Save", "&File", "Ctrl+S"), self.save)
        self.update()

    def undo(self) -> None:
        self.documents.undo()

    def redo(self) -> None:
        self.documents.redo()

    def save(self) -> None:
        self.documents.save()

    def update(self, *_args) -> None:
        if self.registry is None:
            return
        entry = self.documents.current
        history = entry.history if entry is not None else None
        undo, redo, save = self.registry["undo"], self.registry["redo"], self.registry["save"]
        undo.setEnabled(bool(history and history.can_undo))
        redo.setEnabled(bool(history and history.can_redo))
        undo.setText(f"&Undo {history.undo_label}" if history and history.can_undo else "&Undo")
        redo.setText(f"&Redo {history.redo_label}" if history and history.can_redo else "&Redo")
        save.setEnabled(entry is not None and not entry.history.is_clean)
