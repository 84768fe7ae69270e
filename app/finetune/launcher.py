"""Run → Finetune… in the main window: opens the dialog for the current image's project folder and, when a model
comes back, makes it the chosen model for its task and runs it on the current image.

Running it on the current image goes through the normal Run path: the output lands in the document as one
undoable step (``DocumentModel.apply_labels``), so Undo shows the previous model's result again and Redo the
new one: a before/after comparison on the same canvas.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject

from ..actions import ActionRegistry, ActionSpec
from ..editing.locations import document_path
from .dialog import FinetuneDialog


class FinetuneLauncher(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.dialog: FinetuneDialog | None = None
        window.installEventFilter(self)  # to stop a run cleanly (checkpoint saved) when the window closes

    def register(self, registry: ActionRegistry) -> None:
        registry.add(
            ActionSpec(
                "finetune",
                "&Finetune…",
                "&Run",
                tip="Train a Sapiens model on this project's labels in a separate process, then load it",
            ),
            self.open_dialog,
        )

    def project_folder(self) -> Path | None:
        window = self.window
        path = window.current_path or next(iter(window.files.paths()), None)
        return document_path(path).parent if path else None

    def open_dialog(self) -> FinetuneDialog | None:
        window = self.window
        folder = self.project_folder()
        if folder is None or not folder.is_dir():
            window.notify("Nothing to train on", "Open images with saved labels first.")
            return None
        dirty = window.documents.dirty_documents()
        if dirty:  # training reads the saved documents
            window.statusBar().showMessage(
                f"{len(dirty)} image(s) have unsaved edits: save them (Ctrl+S) before starting to train on them", 10000
            )
        busy = self.dialog is not None and self.dialog.state in ("exporting", "training", "exporting model")
        if self.dialog is None or (self.dialog.project_folder != folder and not busy):
            if self.dialog is not None:
                self.dialog.deleteLater()
            self.dialog = FinetuneDialog(window.runner, folder, window)
            self.dialog.model_exported.connect(self.load_model)
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def load_model(self, task: str, path: str) -> None:
        window, settings = self.window, self.window.settings
        settings.set_model_path(task, path)
        settings.set_enabled_tasks(settings.enabled_tasks() | {task})
        if window.model_overrides:  # models named on the command line are exactly what runs: swap this one
            window.model_overrides[task] = path
        if task == "pose" and settings.quick_pose == "on":
            settings.quick_pose = "auto"  # "on" would keep the quick model in front of the model just trained
        window.refresh_models()
        if window.current_path is not None:
            window.run_current()
            window.statusBar().showMessage(
                f"Running {Path(path).name} on this image; Undo brings back the previous result", 10000
            )

    def eventFilter(self, watched, event) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close and self.dialog is not None:
            self.dialog.shutdown()
        return False
