"""The review queue of the current document: flagged and low-score points first, then persons to check.

The panel renders ``sapiens_core.review`` for ``documents.current`` and sends edits (accept, mark reviewed) through
the ``DocumentModel``; it holds no labels. The queue is recomputed shortly after the document changes (a timer,
never inside the edit itself, so a drag is not slowed down by it). The row cursor stays at its position when the
item under it is accepted, so "accept, accept, accept" walks down the queue.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from sapiens_core.annotation.edits import SetReviewed
from sapiens_core.review import ReviewItem, accept_keypoints, person_queue, review_queue
from sapiens_core.schema import class_schema, keypoint_schema

from ..editing.document_model import DocumentModel

ITEM_ROLE = Qt.ItemDataRole.UserRole
FLAG_COLOR = QColor("#c62828")
REFRESH_DELAY_MS = 150


class ReviewPanel(QWidget):
    # A queue item was chosen: (person id, keypoint index or -1 for a whole person, x, y) to centre the canvas on.
    item_chosen = Signal(int, int, float, float)

    def __init__(self, documents: DocumentModel, parent=None):
        super().__init__(parent)
        self.documents = documents
        self.threshold = QDoubleSpinBox(minimum=0.0, maximum=1.01, singleStep=0.05, value=0.5, decimals=2)
        self.threshold.setToolTip("Queue model-made points scoring below this (flagged points always)")
        self.persons_box = QCheckBox("Persons", checked=True)
        self.list = QListWidget()
        self.list.setObjectName("reviewList")
        self.summary = QLabel()
        self.reviewed_label = QLabel()
        top = QHBoxLayout()
        top.addWidget(QLabel("Score below"))
        top.addWidget(self.threshold)
        top.addWidget(self.persons_box)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.list)
        layout.addWidget(self.summary)
        layout.addWidget(self.reviewed_label)
        self.items: list[ReviewItem] = []
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        documents.opened.connect(self._opened)
        documents.changed.connect(lambda *_: self._timer.start())
        self.threshold.valueChanged.connect(lambda *_: self.refresh())
        self.persons_box.toggled.connect(lambda *_: self.refresh())
        self.list.currentRowChanged.connect(self._row_changed)

    # ---------------------------------------------------------------------------------------------- content

    def _opened(self, *_args) -> None:
        self.refresh()
        self.list.setCurrentRow(-1)

    def refresh(self) -> None:
        """Recompute the queue now (normally a timer does it after each change)."""
        self._timer.stop()
        entry = self.documents.current
        doc = entry.doc if entry is not None else None
        items: list[ReviewItem] = []
        if doc is not None:
            kschema = _schema(keypoint_schema, doc.keypoint_schema)
            cschema = _schema(class_schema, doc.class_schema)
            items = review_queue(doc, kschema, cschema, max_score=self.threshold.value())
            if self.persons_box.isChecked():
                items += person_queue(doc)
        row = self.list.currentRow()
        self.items = items
        self.list.blockSignals(True)
        self.list.clear()
        for item in items:
            row_item = QListWidgetItem(f"{'⚑ ' if item.flagged else ''}P{item.person_id} {item.name}: {item.reason}")
            row_item.setData(ITEM_ROLE, item)
            if item.flagged:
                row_item.setForeground(FLAG_COLOR)
            self.list.addItem(row_item)
        if items and row >= 0:
            self.list.setCurrentRow(min(row, len(items) - 1))
        self.list.blockSignals(False)
        flags = sum(it.flagged for it in items)
        self.summary.setText(f"{len(items)} to check, {flags} flagged" if doc is not None else "no labels")
        self.reviewed_label.setText("✓ image reviewed" if doc is not None and doc.reviewed else "")

    def current_item(self) -> ReviewItem | None:
        row = self.list.currentRow()
        return self.items[row] if 0 <= row < len(self.items) else None

    # ---------------------------------------------------------------------------------------------- actions

    def step(self, delta: int) -> ReviewItem | None:
        """Go to the next (``delta`` 1) or previous queue item and show it."""
        if self._timer.isActive():
            self.refresh()
        if not self.items:
            return None
        row = self.list.currentRow()
        row = 0 if row < 0 and delta > 0 else (len(self.items) - 1 if row < 0 else row + delta)
        row = min(max(row, 0), len(self.items) - 1)
        if row == self.list.currentRow():
            self._row_changed(row)  # show it again (the user may have scrolled away)
        self.list.setCurrentRow(row)
        return self.current_item()

    def accept(self) -> bool:
        """The point under the cursor is right: it becomes human-checked where it is (one undoable step); a whole
        person accepts every labeled model-made point of it."""
        if self._timer.isActive():
            self.refresh()
        item = self.current_item()
        entry = self.documents.current
        if item is None or entry is None:
            return False
        if item.index is None:
            person = next(p for p in entry.doc.persons if p.id == item.person_id)
            indices = [int(i) for i in range(person.num_keypoints) if person.visibility[i] > 0 and not person.source[i]]
        else:
            indices = [item.index]
        self.documents.seal()
        self.documents.push(accept_keypoints(entry.doc, item.person_id, indices))
        self.documents.seal()
        self.refresh()  # now, so the next accept acts on the next item
        self._row_changed(self.list.currentRow())
        return True

    def toggle_reviewed(self) -> bool:
        entry = self.documents.current
        if entry is None:
            return False
        self.documents.seal()
        self.documents.push(SetReviewed(not entry.doc.reviewed))
        self.documents.seal()
        self.refresh()
        return True

    def _row_changed(self, row: int) -> None:
        entry = self.documents.current
        if not (0 <= row < len(self.items)) or entry is None:
            return
        item = self.items[row]
        person = next((p for p in entry.doc.persons if p.id == item.person_id), None)
        if person is None:
            return
        if item.index is None:
            box = person.box if person.box is not None else person.labeled_box()
            if box is None:
                return
            x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        else:
            x, y = person.keypoints[item.index, :2]
        self.item_chosen.emit(item.person_id, -1 if item.index is None else item.index, float(x), float(y))


def _schema(find, name):
    if not name:
        return None
    try:
        return find(name)
    except KeyError:
        return None
