"""Painting the body-part map and the person mask in the app: the paint tools, the class picker and their
actions, wired to the document model, the canvas and the layers panel.

The main window constructs it, docks its panel and registers its actions; nothing here holds labels. Class
hiding stays with the layers panel's legend (``LayerStyle.hidden_classes``): the picker's checkboxes ask the
legend to change and mirror what it says.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from sapiens_core.annotation import Annotation
from sapiens_core.annotation.edits import Change
from sapiens_core.schema import class_schema

from ..actions import ActionRegistry
from ..canvas.tools.paint_controller import PaintController
from ..panels.classes import ClassPickerPanel
from .document_model import DocumentModel, OpenDocument
from .locations import document_path

SETTLE_MS = 400  # a pause in painting this long lets slower views (the 3D cloud) catch up


class PaintEditor(QObject):
    settled = Signal()  # painted layers stopped changing for a moment: views too slow to follow each dab update

    def __init__(self, documents: DocumentModel, scene, view, layers_panel, parent=None):
        super().__init__(parent)
        self._settle = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._settle.timeout.connect(self.settled)
        self.documents, self.scene, self.layers_panel = documents, scene, layers_panel
        self.controller = PaintController(view, scene, documents, self)
        self.controller.new_document = self._new_document
        self.panel = ClassPickerPanel(self.controller.settings)
        self.panel.set_hidden(scene.style.hidden_classes)
        self.panel.hidden_toggled.connect(layers_panel.set_class_hidden)
        layers_panel.style_changed.connect(lambda style: self.panel.set_hidden(style.hidden_classes))
        documents.opened.connect(self._opened)

    def register(self, registry: ActionRegistry) -> None:
        self.controller.register(registry)  # the Paint menu: tools and brush size

    def layers_changed(self, change: Change) -> None:
        """Repaint the tiles an edit, undo or redo touched; a part map created or removed changes the legend."""
        self.scene.refresh_layers(change.layers)
        self._settle.start()
        if change.document and "part_map" in change.layers:
            doc = self.documents.current.doc if self.documents.current else None
            schema = class_schema(doc.class_schema) if doc is not None and doc.class_schema else None
            self.layers_panel.set_classes(schema)
            self.panel.set_schema(schema)

    def _opened(self, entry: OpenDocument | None) -> None:
        doc = entry.doc if entry is not None else None
        self.panel.set_schema(class_schema(doc.class_schema) if doc is not None and doc.class_schema else None)

    def _new_document(self) -> OpenDocument | None:
        """An image without any labels yet gets an empty document to paint on (saved like any other)."""
        path = self.documents.current_image
        rect = self.scene.sceneRect()
        if not path or rect.isEmpty():
            return None
        doc = Annotation(str(path), (int(rect.width()), int(rect.height())))
        return self.documents.open(path, document_path(path), doc)
