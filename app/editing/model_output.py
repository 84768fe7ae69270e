"""Where a model's output for an image goes: into its document, never over a person's corrections.

The open (or on-screen) image gets the output through ``DocumentModel.apply_labels``: one undoable step that
keeps every human-made point, or replaces them when the user asked for it ("Replace corrections"), then saved.
An image nobody has open is merged with its file on disk and saved without being kept in memory, so a batch
over thousands of images stays flat.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from sapiens_core.annotation import Annotation
from sapiens_core.annotation.relabel import relabel
from sapiens_core.errors import SapiensError

from .document_model import DocumentModel
from .locations import document_path

log = logging.getLogger(__name__)


class ModelOutput(QObject):
    failed = Signal(str, str)  # image path, why (an existing document could not be read or written)

    def __init__(self, documents: DocumentModel, parent=None):
        super().__init__(parent)
        self.documents = documents
        self.replace = False  # "Replace corrections": the model's output wins over human-made points

    def set_replace(self, replace: bool) -> None:
        self.replace = bool(replace)

    def apply(self, image_path: str, incoming: Annotation) -> bool:
        doc_path = document_path(image_path)
        label = "replace with model output" if self.replace else "apply model output"
        try:
            if self.documents.entry(image_path) is None and image_path != self.documents.current_image:
                relabel(doc_path, incoming, overwrite=self.replace).save(doc_path)
            else:
                self.documents.apply_labels(image_path, doc_path, incoming, replace=self.replace, label=label)
                self.documents.save(image_path)
        except (SapiensError, OSError, ValueError) as exc:
            log.warning("%s: %s", image_path, exc)
            self.failed.emit(image_path, str(exc))
            return False
        return True

    def register(self, registry) -> None:
        from ..actions import ActionSpec

        action = registry.add(
            ActionSpec(
                "replace_corrections",
                "Run &replaces corrections",
                "&Run",
                checkable=True,
                tip="When checked, Run takes the model's output as it is, dropping points a person placed or "
                "corrected (still one step to undo). Unchecked, every correction is kept.",
            ),
            self.set_replace,
        )
        action.setChecked(self.replace)
