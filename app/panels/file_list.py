"""The list of images to work on: filter, state per image, next/previous.

An image's state is what its saved document holds (``sapiens_core.project.review_state``: predicted, edited,
reviewed; no mark without a document) plus whether it has unsaved edits (from the ``DocumentModel``, shown as
" *"). The panel only renders states it is told; it reads no documents itself.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

PATH_ROLE = Qt.ItemDataRole.UserRole
DONE_MARK, TODO_MARK = "✓", "·"
# state -> (mark, colour); "done" is a document whose review state is not known (yet).
STATE_LOOK = {
    None: (TODO_MARK, "#444444"),
    "done": ("○", "#2e7d32"),
    "predicted": ("○", "#2e7d32"),
    "edited": ("◐", "#1565c0"),
    "reviewed": (DONE_MARK, "#2e7d32"),
    "unreadable": ("!", "#c62828"),  # a document this version cannot read: left as it is
}
DIRTY_MARK = " *"


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
        self._states: dict[str, str] = {}  # path -> "predicted" | "edited" | "reviewed"
        self._dirty: set[str] = set()
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

    def set_state(self, path: str, state: str | None) -> None:
        """The saved document's review state ("predicted", "edited", "reviewed"), or None: no document."""
        key = str(Path(path))
        if state is None:
            self._states.pop(key, None)
        else:
            self._states[key] = str(state)
        self.set_done(key, state is not None and state != "unreadable")

    def state(self, path: str) -> str | None:
        key = str(Path(path))
        return self._states.get(key, "done" if key in self._done else None)

    def set_dirty(self, path: str, dirty: bool) -> None:
        key = str(Path(path))
        (self._dirty.add if dirty else self._dirty.discard)(key)
        if key in self._items:
            self._render(key)
        self._update_summary()

    def is_dirty(self, path: str) -> bool:
        return str(Path(path)) in self._dirty

    def _render(self, key: str) -> None:
        item = self._items[key]
        state = self.state(key)
        mark, color = STATE_LOOK.get(state, STATE_LOOK["done"])
        dirty = DIRTY_MARK if key in self._dirty else ""
        item.setText(f"{mark}  {Path(key).name}{dirty}")
        item.setForeground(QColor(color))
        item.setToolTip(f"{key}\n{state or 'no labels'}{', unsaved edits' if dirty else ''}")

    def _update_summary(self) -> None:
        keys = set(self._items)
        text = f"{len(self._done & keys)} of {len(self._items)} done"
        reviewed = sum(1 for k in keys if self._states.get(k) == "reviewed")
        if reviewed:
            text += f", {reviewed} reviewed"
        if self._dirty & keys:
            text += f", {len(self._dirty & keys)} unsaved"
        self.summary.setText(text)

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
