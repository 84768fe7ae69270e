"""The work around editing, wired into the main window in one place: autosave and crash recovery, the review
panel and its keys, the file list's states, and File → Export.

The window constructs one ``Workflow`` and calls ``register`` with its action registry; everything else connects
here, so the window itself stays a composition of parts.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox

from sapiens_core.annotation import Annotation
from sapiens_core.annotation.edits import ApplyLabels
from sapiens_core.errors import SapiensError
from sapiens_core.recovery import RecoveryEntry

from ..actions import ActionRegistry, ActionSpec
from ..export_dialog import ExportDialog
from ..panels.review import ReviewPanel
from .autosave import Autosave
from .file_states import FileStates
from .locations import document_path

log = logging.getLogger(__name__)


class Workflow(QObject):
    def __init__(self, window, autosave_delay_ms: int | None = None):
        super().__init__(window)
        self.window = window
        documents = window.documents
        self.autosave = Autosave(documents, parent=self)
        if autosave_delay_ms is not None:
            self.autosave._timer.setInterval(autosave_delay_ms)
        # Entries an earlier session left behind, taken before this one writes any of its own.
        self.pending_recovery: list[RecoveryEntry] = self.autosave.store.entries()
        self.autosave.failed.connect(lambda msg: window.statusBar().showMessage(msg, 10000))
        self.file_states = FileStates(window.files, documents, document_path, parent=self)
        self.review = ReviewPanel(documents)
        self.review.item_chosen.connect(self._show_item)
        self.review_dock = window._dock("Review", self.review, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.export_dialog: ExportDialog | None = None

    def register(self, registry: ActionRegistry) -> None:
        add = registry.add
        add(ActionSpec("export", "&Export…", "&File", "Ctrl+E"), self.open_export_dialog)
        add(ActionSpec("review_next", "&Next point to check", "Re&view", "N"), lambda: self.review.step(1))
        add(
            ActionSpec("review_previous", "&Previous point to check", "Re&view", "Shift+N"),
            lambda: self.review.step(-1),
        )
        add(
            ActionSpec("review_accept", "&Accept point (checked, not moved)", "Re&view", "Y"),
            self.review.accept,
        )
        add(
            ActionSpec("review_mark", "&Mark image reviewed / not reviewed", "Re&view", "Ctrl+Return"),
            self.review.toggle_reviewed,
        )
        add(ActionSpec("restore_recovery", "&Restore unsaved edits…", "&File"), self.offer_recovery)

    def _show_item(self, _person_id: int, _index: int, x: float, y: float) -> None:
        self.window.scene.show_marker(x - 0.5, y - 0.5)  # the ring's centre is the point itself
        self.window.view.centerOn(x, y)

    # ---------------------------------------------------------------------------------------------- recovery

    def offer_recovery(self) -> None:
        """Ask whether to restore what an earlier session left unsaved (at start, and from the File menu)."""
        self.pending_recovery = [e for e in self.autosave.store.entries() if self._is_foreign(e)]
        if not self.pending_recovery:
            return
        names = "\n".join(f"• {e.describe()}" for e in self.pending_recovery[:10])
        more = f"\n… and {len(self.pending_recovery) - 10} more" if len(self.pending_recovery) > 10 else ""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Restore unsaved edits?",
            f"Sapiens Studio ended without saving these edits:\n{names}{more}\n\nRestore opens them as unsaved "
            "edits (save to keep them). Discard deletes them. Later asks again at the next start.",
            parent=self.window,
        )
        box.setObjectName("recoveryDialog")
        restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(restore)

        def answered(button) -> None:
            if button is restore:
                self.restore_recovery()
            elif button is discard:
                for entry in self.pending_recovery:
                    self.autosave.store.discard_entry(entry)
                self.pending_recovery = []

        box.buttonClicked.connect(answered)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.recovery_box = box

    def _is_foreign(self, entry: RecoveryEntry) -> bool:
        """Not one this session wrote for a document it has open."""
        open_doc = self.window.documents.entry(entry.image_path)
        return open_doc is None

    def restore_recovery(self, entries: list[RecoveryEntry] | None = None) -> list[str]:
        """Open each entry's image with the recovered labels as one unsaved, undoable step over the saved document.
        Entries whose image is gone or whose labels cannot be read are kept and named; returns restored images."""
        entries = self.pending_recovery if entries is None else entries
        restored, problems, kept = [], [], []
        for entry in entries:
            try:
                self._restore_one(entry)
            except (SapiensError, OSError) as exc:
                problems.append(f"{Path(entry.image_path).name}: {exc}")
                kept.append(entry)
                continue
            restored.append(entry.image_path)
        self.pending_recovery = kept
        if restored:
            self.window.files.select(restored[0])
        if problems:
            self.window.notify("Some edits were not restored", "\n".join(problems) + "\nThey are kept for later.")
        return restored

    def _restore_one(self, entry: RecoveryEntry) -> None:
        window, documents = self.window, self.window.documents
        image = entry.image_path
        if not Path(image).is_file():
            raise SapiensError(f"the image {image} is missing (moved or renamed?)")
        recovered = self.autosave.store.load(entry)
        window.add_paths([image])
        if documents.current_image != image or documents.current is None:
            window.files.select(image)
            if window.current_path != image:
                window.show_image(image)
        if documents.current_image != image:
            raise SapiensError("the image could not be opened")
        if documents.current is None:
            # No readable saved document: start from an empty one, so the restore is still an unsaved step.
            blank = Annotation(image, recovered.image_size, recovered.keypoint_schema, recovered.class_schema)
            documents.open(image, entry.doc_path, blank)
        documents.seal()
        documents.push(ApplyLabels(recovered, replace=True, label="restore unsaved edits"))
        documents.seal()

    # ---------------------------------------------------------------------------------------------- export

    def project_folder(self) -> Path | None:
        path = self.window.current_path or next(iter(self.window.files.paths()), None)
        return document_path(path).parent if path else None

    def save_all(self) -> list[str]:
        documents = self.window.documents
        saved = []
        for entry in list(documents.dirty_documents()):
            documents.save(entry.image_path)
            saved.append(entry.image_path)
        return saved

    def open_export_dialog(self, ask: bool = True) -> ExportDialog | None:
        folder = self.project_folder()
        if folder is None or not folder.is_dir():
            self.window.notify("Nothing to export", "Open images with saved labels first.")
            return None
        dirty = self.window.documents.dirty_documents()
        if dirty and ask:
            answer = self.ask_save_before_export(len(dirty))
            if answer is None:
                return None
            if answer == "save":
                self.save_all()
        if self.export_dialog is None or self.export_dialog.project_folder != folder:
            self.export_dialog = ExportDialog(self.window.runner, folder, self.window)
        self.export_dialog.show()
        self.export_dialog.raise_()
        return self.export_dialog

    def ask_save_before_export(self, count: int) -> str | None:
        """ "save", "skip" (export the labels as last saved) or None (do not export)."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Save before export?",
            f"{count} image(s) have unsaved edits. The export reads the saved documents: save them first?",
            parent=self.window,
        )
        save = box.addButton("Save and export", QMessageBox.ButtonRole.AcceptRole)
        skip = box.addButton("Export saved labels only", QMessageBox.ButtonRole.NoRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(save)
        box.exec()
        clicked = box.clickedButton()
        return "save" if clicked is save else "skip" if clicked is skip else None

    def close(self) -> None:
        self.autosave.close()
        self.file_states.close()
