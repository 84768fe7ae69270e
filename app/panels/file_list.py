"""The list of images to work on: filter, done/not-done state, next/previous."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

PATH_ROLE = Qt.ItemDataRole.UserRole
DONE_MARK, TODO_MARK = "✓", "·"


class FileListPanel(QWidget):
    current_changed = Signal(str)  # path

    def __init__(self, parent=None):
        super().__init__(parent)
        self.filter_edit = QLineEdit(placeholderText="Filter by name…")
        self.filter_edit.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.summary = QLabel()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.list)
        layout.addWidget(self.summary)
        self._items: dict[str, QListWidgetItem] = {}
        self._done: set[str] = set()
        self.filter_edit.textChanged.connect(self._apply_filter)
        self.list.currentItemChanged.connect(self._on_current)

    # ---- content
    def add_paths(self, paths) -> int:
        added = 0
        for path in paths:
            key = str(Path(path))
            if key in self._items:
                continue
            item = QListWidgetItem()
            item.setData(PATH_ROLE, key)
            item.setToolTip(key)
            self.list.addItem(item)
            self._items[key] = item
            self._render(key)
            added += 1
        self._apply_filter(self.filter_edit.text())
        return added

    def paths(self) -> list[str]:
        return [self.list.item(i).data(PATH_ROLE) for i in range(self.list.count())]

    def current_path(self) -> str | None:
        item = self.list.currentItem()
        return item.data(PATH_ROLE) if item else None

    def select(self, path: str) -> None:
        item = self._items.get(str(Path(path)))
        if item is not None:
            self.list.setCurrentItem(item)

    def set_done(self, path: str, done: bool = True) -> None:
        key = str(Path(path))
        (self._done.add if done else self._done.discard)(key)
        if key in self._items:
            self._render(key)
        self._update_summary()

    def is_done(self, path: str) -> bool:
        return str(Path(path)) in self._done

    def _render(self, key: str) -> None:
        item = self._items[key]
        done = key in self._done
        item.setText(f"{DONE_MARK if done else TODO_MARK}  {Path(key).name}")
        item.setForeground(QColor("#2e7d32") if done else QColor("#444444"))

    def _update_summary(self) -> None:
        self.summary.setText(f"{len(self._done & set(self._items))} of {len(self._items)} done")

    # ---- navigation
    def _visible_rows(self) -> list[int]:
        return [i for i in range(self.list.count()) if not self.list.item(i).isHidden()]

    def step(self, delta: int) -> None:
        rows = self._visible_rows()
        if not rows:
            return
        current = self.list.currentRow()
        if current not in rows:
            self.list.setCurrentRow(rows[0])
            return
        pos = min(max(rows.index(current) + delta, 0), len(rows) - 1)
        self.list.setCurrentRow(rows[pos])

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for key, item in self._items.items():
            item.setHidden(bool(needle) and needle not in Path(key).name.lower())
        self._update_summary()

    def _on_current(self, current: QListWidgetItem | None, _previous) -> None:
        if current is not None:
            self.current_changed.emit(current.data(PATH_ROLE))
