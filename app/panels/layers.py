"""Layer controls and legend: keypoint groups, score threshold, persons, part classes, depth, normals, matte."""

from __future__ import annotations

import copy

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from sapiens_core.annotation import Person
from sapiens_core.schema import DISPLAY_GROUPS, ClassSchema

from ..canvas.person_boxes import id_color, id_label
from ..canvas.scene import LayerStyle


def _slider(value: float) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(0, 100)
    s.setValue(round(value * 100))
    return s


def _swatch(rgb) -> QIcon:
    pm = QPixmap(12, 12)
    pm.fill(QColor(*map(int, rgb)))
    return QIcon(pm)


class LayersPanel(QWidget):
    style_changed = Signal(object)  # LayerStyle

    def __init__(self, style: LayerStyle, parent=None):
        super().__init__(parent)
        self.style = copy.deepcopy(style)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)

        kp_box = QGroupBox("Keypoints")
        kp = QVBoxLayout(kp_box)
        self.keypoints = QCheckBox("Show keypoints", checked=self.style.keypoints)
        self.boxes = QCheckBox("Person boxes", checked=self.style.boxes)
        shown_row = QHBoxLayout()
        shown_row.addWidget(self.keypoints)
        shown_row.addWidget(self.boxes)
        kp.addLayout(shown_row)
        groups_row = QHBoxLayout()
        self.group_boxes = {g: QCheckBox(g, checked=self.style.groups.get(g, True)) for g in DISPLAY_GROUPS}
        for box in self.group_boxes.values():
            groups_row.addWidget(box)
        kp.addLayout(groups_row)
        form = QFormLayout()
        self.threshold = _slider(self.style.threshold)
        self.threshold_label = QLabel()
        form.addRow(self.threshold_label, self.threshold)
        kp.addLayout(form)
        self.persons = QListWidget()
        self.persons.setMaximumHeight(90)
        kp.addWidget(QLabel("Persons"))
        kp.addWidget(self.persons)
        layout.addWidget(kp_box)

        dense_box = QGroupBox("Dense layers")
        dense = QFormLayout(dense_box)
        self.parts = QCheckBox("Body parts", checked=self.style.parts)
        self.parts_opacity = _slider(self.style.parts_opacity)
        self.depth = QCheckBox("Depth", checked=self.style.depth)
        self.depth_opacity = _slider(self.style.depth_opacity)
        self.normal = QCheckBox("Normals", checked=self.style.normal)
        self.normal_opacity = _slider(self.style.normal_opacity)
        self.person_mask = QCheckBox("Person mask", checked=self.style.person_mask)
        self.person_mask_opacity = _slider(self.style.person_mask_opacity)
        self.matte = QCheckBox("Matte", checked=self.style.matte)
        self.matte.setToolTip("Sapiens2 matting: the background the alpha matte leaves out, covered")
        self.matte_opacity = _slider(self.style.matte_opacity)
        for box, slider in (
            (self.parts, self.parts_opacity),
            (self.depth, self.depth_opacity),
            (self.normal, self.normal_opacity),
            (self.person_mask, self.person_mask_opacity),
            (self.matte, self.matte_opacity),
        ):
            dense.addRow(box, slider)
        layout.addWidget(dense_box)

        self.classes = QListWidget()  # the legend; unchecking a class hides it
        layout.addWidget(QLabel("Part classes (legend)"))
        layout.addWidget(self.classes, 1)

        toggles = [self.keypoints, self.boxes, self.parts, self.depth, self.normal, self.person_mask, self.matte]
        for w in [*toggles, *self.group_boxes.values()]:
            w.toggled.connect(self._collect)
        for s in (
            self.threshold,
            self.parts_opacity,
            self.depth_opacity,
            self.normal_opacity,
            self.person_mask_opacity,
            self.matte_opacity,
        ):
            s.valueChanged.connect(self._collect)
        self.persons.itemChanged.connect(self._collect)
        self.classes.itemChanged.connect(self._collect)
        self._update_threshold_label()

    def _update_threshold_label(self) -> None:
        self.threshold_label.setText(f"Score ≥ {self.threshold.value() / 100:.2f}")

    def set_persons(self, persons: list[Person]) -> None:
        """One row per person: its ID (and track across a video) in the colour its box has on the canvas."""
        self.persons.blockSignals(True)
        self.persons.clear()
        for person in persons:
            pid = person.id
            pm = QPixmap(12, 12)
            pm.fill(id_color(person))
            item = QListWidgetItem(QIcon(pm), f"Person {id_label(person)}")
            item.setData(Qt.ItemDataRole.UserRole, pid)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked if pid in self.style.hidden_persons else Qt.CheckState.Checked)
            self.persons.addItem(item)
        self.persons.blockSignals(False)

    def set_classes(self, schema: ClassSchema | None) -> None:
        self.classes.blockSignals(True)
        self.classes.clear()
        if schema is not None:
            for i, (name, rgb) in enumerate(zip(schema.names, schema.colors)):
                item = QListWidgetItem(_swatch(rgb), f"{i:2d} {name}")
                item.setData(Qt.ItemDataRole.UserRole, i)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked if i in self.style.hidden_classes else Qt.CheckState.Checked)
                self.classes.addItem(item)
        self.classes.blockSignals(False)

    def set_class_hidden(self, class_id: int, hidden: bool) -> None:
        """Hide or show one class as its legend checkbox would (the class picker asks through this)."""
        for i in range(self.classes.count()):
            item = self.classes.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == class_id:
                item.setCheckState(Qt.CheckState.Unchecked if hidden else Qt.CheckState.Checked)  # -> _collect
                return

    def _unchecked(self, widget: QListWidget) -> set[int]:
        return {
            widget.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(widget.count())
            if widget.item(i).checkState() != Qt.CheckState.Checked
        }

    def _collect(self, *_args) -> None:
        s = self.style
        s.keypoints = self.keypoints.isChecked()
        s.boxes = self.boxes.isChecked()
        s.groups = {g: b.isChecked() for g, b in self.group_boxes.items()}
        s.threshold = self.threshold.value() / 100
        s.parts, s.parts_opacity = self.parts.isChecked(), self.parts_opacity.value() / 100
        s.depth, s.depth_opacity = self.depth.isChecked(), self.depth_opacity.value() / 100
        s.normal, s.normal_opacity = self.normal.isChecked(), self.normal_opacity.value() / 100
        s.person_mask, s.person_mask_opacity = self.person_mask.isChecked(), self.person_mask_opacity.value() / 100
        s.matte, s.matte_opacity = self.matte.isChecked(), self.matte_opacity.value() / 100
        s.hidden_persons = self._unchecked(self.persons)
        s.hidden_classes = self._unchecked(self.classes)
        self._update_threshold_label()
        self.style_changed.emit(copy.deepcopy(s))
