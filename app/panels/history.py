"""The current document's edit history as a list: every step, the current one marked; a click goes there.

Row 0 is the document as opened; row n is the state after step n. Clicking a row undoes or redoes step by
step until that state is reached, so it is exactly what pressing Undo/Redo that many times would give.
"""

from __future__ import annotations

from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ..editing.document_model import DocumentModel

CURRENT = "▶ "
UNDONE = QColor(140, 140, 140)


class HistoryPanel(QWidget):
    def __init__(self, documents: DocumentModel, parent=None):
        super().__init__(parent)
        self.documents = documents
        self.list = QListWidget()
        self.list.setObjectName("historyList")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        self._shown: tuple | None = None
        self._jumping = False
        self.list.itemClicked.connect(self._clicked)
        for signal in (documents.opened, documents.changed, documents.saved):
            signal.connect(self.refresh)

    def steps(self) -> list[str]:
        entry = self.documents.current
        return ["Opened", *entry.history.labels] if entry is not None else []

    def current_row(self) -> int:
        entry = self.documents.current
        return entry.history.index if entry is not None else -1

    def refresh(self, *_args) -> None:
        if self._jumping:
            return
        steps, current = self.steps(), self.current_row()
        key = (tuple(steps), current)
        if key == self._shown:  # a drag merges into one step: nothing to redraw while it moves
            return
        self._shown = key
        # Rows are updated in place, never cleared: this may run inside the list's own click handler.
        while self.list.count() > len(steps):
            self.list.takeItem(self.list.count() - 1)
        while self.list.count() < len(steps):
            self.list.addItem(QListWidgetItem())
        for row, label in enumerate(steps):
            item = self.list.item(row)
            item.setText((CURRENT if row == current else "   ") + label)
            font = QFont(item.font())
            font.setBold(row == current)
            item.setFont(font)
            item.setForeground(QBrush(UNDONE) if row > current else QBrush())
        if 0 <= current < self.list.count():
            self.list.scrollToItem(self.list.item(current))

    def go_to(self, row: int) -> None:
        entry = self.documents.current
        if entry is None:
            return
        self._jumping = True
        try:
            while entry.history.index > row and entry.history.can_undo:
                self.documents.undo()
            while entry.history.index < row and entry.history.can_redo:
                self.documents.redo()
        finally:
            self._jumping = False
        self.refresh()

    def _clicked(self, item: QListWidgetItem) -> None:
        self.go_to(self.list.row(item))
