"""View → Make depth metric…: a Sapiens v1 relative depth becomes metric, as one undoable step.

With a pointmap of the same image (Sapiens2) the depth is fitted to its Z (least squares over the person, see
``sapiens_core.geometry.depth_alignment``); without one the user types the person's height, and the focal length
comes from the document (recorded by a pointmap run or an earlier alignment) or the 3D view's normal-lens guess.
The new depth and its provenance (``metric: True``, how it was made, the focal length) replace the old ones through
``ApplyLabels``, so Undo restores the relative depth exactly and the measure tool then gives meters.

The height is asked in a window-modal dialog opened with ``open()``, not ``exec()``: no nested event loop, so a
model result arriving meanwhile is handled as usual.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QInputDialog

from sapiens_core.annotation import Annotation
from sapiens_core.annotation.edits import ApplyLabels
from sapiens_core.geometry import default_focal
from sapiens_core.geometry.depth_alignment import AlignedDepth, align_to_height, align_to_pointmap

from ..actions import ActionRegistry, ActionSpec

DEFAULT_HEIGHT_M = 1.70
HEIGHT_RANGE_M = (0.3, 2.8)  # a toddler to the tallest people on record: a typo outside it is refused


class MetricDepthAction(QObject):
    message = Signal(str)  # what happened, or why nothing did, for the status bar

    def __init__(self, documents, parent=None):
        super().__init__(parent)
        self.documents = documents
        self.dialog: QInputDialog | None = None

    def register(self, registry: ActionRegistry) -> None:
        registry.add(
            ActionSpec(
                "metric_depth",
                "Make &depth metric…",
                "&View",
                "Shift+M",
                tip="Scale this image's relative (v1) depth to meters: fitted to its pointmap when it has one, "
                "else from the person's height, which you type",
            ),
            self.start,
        )

    def start(self) -> None:
        entry = self.documents.current
        doc = entry.doc if entry is not None else None
        if doc is None or doc.depth is None:
            self.message.emit("No depth to make metric: run a depth model on this image first")
            return
        if doc.models.get("depth", {}).get("metric"):
            self.message.emit("The depth of this image is already metric")
            return
        if doc.pointmap is not None:
            self._try(lambda: align_to_pointmap(doc.depth, doc.pointmap, doc.foreground))
            return
        self._ask_height()

    def _ask_height(self) -> None:
        dialog = QInputDialog(self.parent())
        dialog.setObjectName("metricDepthHeight")
        dialog.setWindowTitle("Make depth metric")
        dialog.setLabelText("This image has no pointmap. Height of the person (standing, seen whole), in meters:")
        dialog.setInputMode(QInputDialog.InputMode.DoubleInput)
        dialog.setDoubleDecimals(2)
        dialog.setDoubleRange(*HEIGHT_RANGE_M)
        dialog.setDoubleValue(DEFAULT_HEIGHT_M)
        dialog.doubleValueSelected.connect(self.apply_height)
        dialog.finished.connect(dialog.deleteLater)
        self.dialog = dialog
        dialog.open()

    def apply_height(self, height_m: float) -> None:
        entry = self.documents.current
        if entry is None or entry.doc.depth is None:
            return  # the image changed while the dialog was open
        doc = entry.doc
        mask = doc.foreground if doc.foreground is not None else np.isfinite(doc.depth)
        focal = _recorded_focal(doc) or default_focal(doc.height, doc.width)
        self._try(lambda: align_to_height(doc.depth, mask, height_m, focal))

    def _try(self, align) -> None:
        try:
            aligned: AlignedDepth = align()
        except ValueError as error:
            self.message.emit(f"Depth not made metric: {error}")
            return
        self._apply(aligned)

    def _apply(self, aligned: AlignedDepth) -> None:
        entry = self.documents.current
        doc = entry.doc
        models = {**doc.models, "depth": {**doc.models.get("depth", {}), **aligned.provenance}}
        incoming: Annotation = dataclasses.replace(doc, depth=aligned.depth, models=models)
        entry.history.seal()  # never merged into a gesture in progress
        entry.history.push(ApplyLabels(incoming, replace=True, label="make depth metric"))
        entry.history.seal()
        record = aligned.provenance
        if record["aligned_to"] == "pointmap":
            how = f"fitted to the pointmap, RMS {record['rms_m'] * 100:.1f} cm over {record['pixels']} pixels"
        else:
            how = f"person {record['height_m']:.2f} m tall, focal length {record['focal_length_px']:.0f} px"
        self.message.emit(f"Depth is now metric ({how}); View → Measure distance (M) gives meters")


def _recorded_focal(doc: Annotation) -> float | None:
    for task in ("depth", "pointmap"):
        value = doc.models.get(task, {}).get("focal_length_px")
        if value and np.isfinite(float(value)) and float(value) > 0:
            return float(value)
    return None
