"""The 3D view's settings and buttons: colour source, focal length, relief, point size and stride; Reset view,
Export .ply… and Open in Open3D."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QGridLayout, QLabel, QPushButton, QSpinBox, QWidget

from sapiens_core.geometry import DEFAULT_RELIEF

from .cloud import MAX_POINTS


class View3DControls(QWidget):
    shape_changed = Signal()  # focal, relief or stride changed: the cloud must be built again

    def __init__(self, parent=None):
        super().__init__(parent)
        self.color_combo = QComboBox()
        self.color_combo.addItem("Image colours", "image")
        self.color_combo.addItem("Body parts", "parts")
        self.focal_spin = QDoubleSpinBox(
            minimum=0.2,
            maximum=10.0,
            singleStep=0.1,
            value=1.0,
            suffix=" × size",
            toolTip="Focal length as a multiple of the image's larger side: smaller "
            "is wider-angle (stronger perspective), larger is flatter.",
        )
        self.relief_spin = QDoubleSpinBox(
            minimum=0.0,
            maximum=3.0,
            singleStep=0.05,
            value=DEFAULT_RELIEF,
            toolTip="Depth is relative: front-to-back extent of the cloud as a multiple of the image's larger side.",
        )
        self.size_spin = QDoubleSpinBox(minimum=1.0, maximum=20.0, singleStep=0.5, value=2.0, suffix=" px")
        self.stride_spin = QSpinBox(
            minimum=0,
            maximum=64,
            value=0,
            specialValueText="auto",
            toolTip=f"Use every n-th pixel; auto keeps at most {MAX_POINTS:,} points. "
            "Exports use the same points as shown.",
        )
        self.reset_button = QPushButton("Reset view")
        self.export_button = QPushButton("Export .ply…")
        self.open3d_button = QPushButton("Open in Open3D")

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        for i, (text, widget) in enumerate(
            (
                ("Colour", self.color_combo),
                ("Focal", self.focal_spin),
                ("Depth", self.relief_spin),
                ("Point", self.size_spin),
                ("Stride", self.stride_spin),
            )
        ):
            grid.addWidget(QLabel(text), i // 2, 2 * (i % 2))
            grid.addWidget(widget, i // 2, 2 * (i % 2) + 1)
        grid.addWidget(self.reset_button, 2, 2, 1, 2)
        grid.addWidget(self.export_button, 3, 0, 1, 2)
        grid.addWidget(self.open3d_button, 3, 2, 1, 2)
        for spin in (self.focal_spin, self.relief_spin, self.stride_spin):
            spin.valueChanged.connect(self.shape_changed)

    @property
    def color_source(self) -> str:
        """ "image" or "parts"."""
        return self.color_combo.currentData()

    def allow_parts(self, allowed: bool) -> None:
        """Offer "Body parts" colours only when the document has a part map (else fall back to the image)."""
        self.color_combo.model().item(1).setEnabled(allowed)
        if not allowed and self.color_source == "parts":
            self.color_combo.setCurrentIndex(0)

    def set_metric(self, metric: bool) -> None:
        """A metric cloud (a pointmap) has its own scale and perspective: focal and relief do not apply."""
        for spin in (self.focal_spin, self.relief_spin):
            spin.setEnabled(not metric)

    def enable(self, has_points: bool, has_view: bool) -> None:
        self.export_button.setEnabled(has_points)
        self.open3d_button.setEnabled(has_points)
        self.reset_button.setEnabled(has_view)
