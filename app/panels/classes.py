"""Class picker for painting: what to paint (body parts or the person mask), the class with its name and
palette colour, the brush size, "paint only over class X", and per-class hiding.

Hiding is not kept here: a class's checkbox asks (``hidden_toggled``) for the layers panel's legend to change,
and ``set_hidden`` mirrors ``LayerStyle.hidden_classes`` back, so one style decides what the canvas shows."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from sapiens_core.annotation.tile_edits import DEFAULT_CLASS_SCHEMA
from sapiens_core.schema import ClassSchema, class_schema

from ..canvas.tools.paint_settings import MAX_SIZE, MIN_SIZE, PaintSettings

LAYERS = (("part_map", "Body parts"), ("foreground", "Person mask"))


def _swatch(rgb) -> QIcon:
    pm = QPixmap(14, 14)
    pm.fill(QColor(*map(int, rgb)))
    return QIcon(pm)


class ClassPickerPanel(QWidget):
    hidden_toggled = Signal(int, bool)  # class id, hide it: for the layers panel's legend

    def __init__(self, settings: PaintSettings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.schema: ClassSchema | None = None
        self._hidden: set[int] = set()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        form = QFormLayout()
        self.layer = QComboBox()
        for layer, text in LAYERS:
            self.layer.addItem(text, layer)
        self.size = QDoubleSpinBox(decimals=1, minimum=MIN_SIZE, maximum=MAX_SIZE, suffix=" px")
        self.size.setToolTip("Brush diameter in image pixels ([ and ], or Ctrl+wheel on the canvas)")
        self.only_over = QComboBox()
        self.only_over.setToolTip("Paint only over pixels of this class; the rest stays as it is")
        form.addRow("Paint", self.layer)
        form.addRow("Brush size", self.size)
        form.addRow("Only over", self.only_over)
        layout.addLayout(form)
        self.current = QLabel()
        self.current.setObjectName("currentClass")
        layout.addWidget(self.current)
        self.classes = QListWidget()  # selection = the class painted; checkbox = shown on the canvas
        self.classes.setToolTip("Click a class to paint with it; untick it to hide it on the canvas")
        layout.addWidget(self.classes, 1)

        self.layer.currentIndexChanged.connect(lambda _i: settings.set_layer(self.layer.currentData()))
        self.size.valueChanged.connect(settings.set_size)
        self.only_over.currentIndexChanged.connect(lambda _i: settings.set_only_over(self.only_over.currentData()))
        self.classes.currentRowChanged.connect(self._class_chosen)
        self.classes.itemChanged.connect(self._check_changed)
        settings.changed.connect(self._sync)
        self.set_schema(None)

    # ---------------------------------------------------------------------------------------------- content

    def set_schema(self, schema: ClassSchema | None) -> None:
        """The document's class set; without one (no part map yet) the set a new map is created with."""
        schema = schema or class_schema(DEFAULT_CLASS_SCHEMA)
        if self.schema is not None and schema.name == self.schema.name:
            return
        self.schema = schema
        for widget in (self.classes, self.only_over):
            widget.blockSignals(True)
            widget.clear()
        self.only_over.addItem("any class", None)
        for i, (name, rgb) in enumerate(zip(schema.names, schema.colors)):
            item = QListWidgetItem(_swatch(rgb), f"{i:2d} {name}")
            item.setData(Qt.ItemDataRole.UserRole, i)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked if i in self._hidden else Qt.CheckState.Checked)
            self.classes.addItem(item)
            self.only_over.addItem(_swatch(rgb), f"{i:2d} {name}", i)
        for widget in (self.classes, self.only_over):
            widget.blockSignals(False)
        self._sync()

    def set_hidden(self, hidden: set[int]) -> None:
        """Mirror the style's hidden classes (the layers panel's legend changed them, or we asked it to)."""
        self._hidden = set(hidden)
        self.classes.blockSignals(True)
        for row in range(self.classes.count()):
            item = self.classes.item(row)
            shown = item.data(Qt.ItemDataRole.UserRole) not in self._hidden
            item.setCheckState(Qt.CheckState.Checked if shown else Qt.CheckState.Unchecked)
        self.classes.blockSignals(False)

    # ---------------------------------------------------------------------------------------------- internals

    def _class_chosen(self, row: int) -> None:
        if row >= 0:
            self.settings.set_class(self.classes.item(row).data(Qt.ItemDataRole.UserRole))

    def _check_changed(self, item: QListWidgetItem) -> None:
        class_id = item.data(Qt.ItemDataRole.UserRole)
        hidden = item.checkState() != Qt.CheckState.Checked
        if hidden != (class_id in self._hidden):
            self.hidden_toggled.emit(class_id, hidden)

    def _sync(self) -> None:
        """Show the settings (changed here, by keys, by the wheel or by a script)."""
        s = self.settings
        for widget in (self.layer, self.size, self.only_over, self.classes):
            widget.blockSignals(True)
        self.layer.setCurrentIndex(self.layer.findData(s.layer))
        self.size.setValue(s.size)
        self.only_over.setCurrentIndex(max(0, self.only_over.findData(s.only_over)))
        self.classes.setCurrentRow(s.current_class if 0 <= s.current_class < self.classes.count() else -1)
        parts = s.layer == "part_map"
        self.only_over.setEnabled(parts)
        if parts and self.schema is not None and 0 <= s.current_class < len(self.schema):
            self.current.setText(f"Painting: {s.current_class} {self.schema.names[s.current_class]}")
        else:
            self.current.setText("Painting: the person mask" if not parts else "Painting: —")
        for widget in (self.layer, self.size, self.only_over, self.classes):
            widget.blockSignals(False)
