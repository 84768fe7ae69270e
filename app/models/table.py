"""The model manager's table of official cards with their install state (the inventory itself is
``sapiens_core.models_dir.Inventory``)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from sapiens_core.cards import CARDS, DETECTOR_CARDS, SAPIENS2_CARDS, DetectorCard, ModelCard
from sapiens_core.memory_fit import MachineMemory, card_fits
from sapiens_core.models_dir import Inventory
from sapiens_core.sapiens2_cards import Sapiens2Card


def human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"


# v1 and Sapiens2 side by side; the person detector downloads too
ALL_CARDS: tuple[ModelCard | Sapiens2Card | DetectorCard, ...] = (*CARDS, *SAPIENS2_CARDS, *DETECTOR_CARDS)


class CardTableModel(QAbstractTableModel):
    """The official cards, optionally filtered by task, with their install state."""

    COLUMNS = ("Model", "Task", "Size", "Format", "Outputs", "Approx. size", "Installed", "Licence")
    INSTALLED_COLUMN = 6
    CardRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent=None):
        super().__init__(parent)
        self._task: str | None = None
        self._cards: list[ModelCard | Sapiens2Card | DetectorCard] = list(ALL_CARDS)
        self._installed: dict[str, Path] = {}
        self._in_use: set[str] = set()
        self._too_big: dict[str, str] = {}  # card id -> why it does not fit this machine's memory

    # ---- state
    def set_machine_memory(self, memory: MachineMemory) -> None:
        """Grey out the cards whose weights do not fit (Sapiens2-5B on most machines) and keep the reason."""
        self._too_big = {c.id: fit.reason for c in ALL_CARDS if not (fit := card_fits(c, memory)).ok}
        if self._cards:  # a change of data, not of rows: the selection stays
            last = self.index(len(self._cards) - 1, len(self.COLUMNS) - 1)
            self.dataChanged.emit(self.index(0, 0), last)

    def too_big(self, card: ModelCard | Sapiens2Card | DetectorCard) -> str:
        """Why this card is not offered here, or "" when it fits."""
        return self._too_big.get(card.id, "")

    def set_task_filter(self, task: str | None) -> None:
        self.beginResetModel()
        self._task = task
        self._cards = [c for c in ALL_CARDS if task is None or c.task == task]
        self.endResetModel()

    def set_install_state(self, inventory: Inventory, paths_in_use: set[str]) -> None:
        self._installed = {c.id: p for c in ALL_CARDS if (p := inventory.path_for(c)) is not None}
        self._in_use = {str(Path(p)) for p in paths_in_use if p}
        if self._cards:
            column = self.INSTALLED_COLUMN
            self.dataChanged.emit(self.index(0, column), self.index(len(self._cards) - 1, column))

    def card_at(self, row: int) -> ModelCard | Sapiens2Card | DetectorCard | None:
        return self._cards[row] if 0 <= row < len(self._cards) else None

    def row_of(self, card_id: str) -> int:
        return next((i for i, c in enumerate(self._cards) if c.id == card_id), -1)

    def installed_path(self, card: ModelCard | Sapiens2Card | DetectorCard) -> Path | None:
        return self._installed.get(card.id)

    # ---- Qt model
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._cards)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        card = self.card_at(index.row()) if index.isValid() else None
        if card is None:
            return None
        if role == self.CardRole:
            return card.id
        path = self._installed.get(card.id)
        if role == Qt.ItemDataRole.ToolTipRole:
            where = f"\nInstalled: {path}" if path else "\nNot installed"
            licence = f"\nLicence: {card.licence}" if getattr(card, "licence", None) else ""
            too_big = f"\nNot offered: {reason}" if (reason := self.too_big(card)) else ""
            return f"{card.id}\n{card.hf_repo}\n{', '.join(card.filenames)}{where}{licence}{too_big}"
        if role == Qt.ItemDataRole.ForegroundRole and self.too_big(card):
            return QApplication.palette().brush(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        column = index.column()
        if column == 0:
            return card.id
        if column == 1:
            return card.task
        if column == 2:
            return card.size.upper()
        if column == 3:
            return card.format
        if column == 4:
            if isinstance(card, DetectorCard):
                return card.outputs
            schema = card.keypoint_schema_name or card.class_schema_name
            shape = "×".join(map(str, card.output_shape))
            return f"{shape} ({schema})" if schema else shape
        if column == 5:
            return human_bytes(card.approx_bytes)
        if column == 7:
            return getattr(card, "licence", "")
        if path is None:
            return "—"
        return "in use" if str(path) in self._in_use else "yes"
