"""The schema's keypoints as a searchable list grouped face / hands / body / feet: pick a name, then click the
canvas to place that point on the selected person. Points the person already has are marked."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from sapiens_core.schema import keypoint_schema

GROUP_ORDER = ("face", "hands", "body", "feet")
NAME_ROLE = Qt.ItemDataRole.UserRole
MISSING = QColor(198, 40, 40)


class KeypointPanel(QWidget):
    picked = Signal(str)  # a keypoint name to place

    def __init__(self, parent=None):
        super().__init__(parent)
        self.search = QLineEdit(placeholderText="Find a keypoint…", clearButtonEnabled=True)
        self.search.setObjectName("keypointSearch")
        self.tree = QTreeWidget()
        self.tree.setObjectName("keypointTree")
        self.tree.setHeaderHidden(True)
        self.hint = QLabel("Pick a name, then click the canvas to place it.")
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        layout.addWidget(self.hint)
        self.schema_name: str | None = None
        self._items: dict[str, QTreeWidgetItem] = {}
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._pick_first_shown)
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemClicked.connect(self._activated)
        self.set_schema("goliath_308")

    def set_schema(self, name: str | None) -> None:
        if not name or name == self.schema_name:
            return
        schema = keypoint_schema(name)
        self.schema_name = name
        self.tree.clear()
        self._items = {}
        groups = {}
        for group in (*GROUP_ORDER, *sorted(set(schema.display_groups) - set(GROUP_ORDER))):
            if group in schema.display_groups:
                groups[group] = QTreeWidgetItem(self.tree, [group])
                groups[group].setFlags(Qt.ItemFlag.ItemIsEnabled)
        for name_, group in zip(schema.names, schema.display_groups):
            item = QTreeWidgetItem(groups[group], [name_])
            item.setData(0, NAME_ROLE, name_)
            self._items[name_] = item
        self._filter(self.search.text())

    def set_labelled(self, labelled: set[str] | None) -> None:
        """Mark the points the selected person lacks (None: no person selected, no marks)."""
        for name, item in self._items.items():
            missing = labelled is not None and name not in labelled
            item.setForeground(0, MISSING if missing else QColor())
            item.setToolTip(0, "not labelled on the selected person" if missing else "")

    def shown_names(self) -> list[str]:
        return [n for n, item in self._items.items() if not item.isHidden()]

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        for name, item in self._items.items():
            item.setHidden(not all(w in name.lower() for w in words))
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            shown = any(not group.child(j).isHidden() for j in range(group.childCount()))
            group.setHidden(not shown)
            group.setExpanded(bool(words) and shown)

    def _pick_first_shown(self) -> None:
        names = self.shown_names()
        if names:
            self.pick(names[0])

    def _activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        name = item.data(0, NAME_ROLE)
        if name:
            self.pick(name)

    def pick(self, name: str) -> None:
        self.tree.setCurrentItem(self._items[name])
        self.hint.setText(f"Click the canvas to place {name}.")
        self.picked.emit(name)

    def placed(self) -> None:
        self.hint.setText("Pick a name, then click the canvas to place it.")
