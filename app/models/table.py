"""The model manager's data: the official cards as a table model, installed files by task, and importing a file.

Official files are recognised by name (their card says the task). Files of our own (imported, finetuned,
converted) carry no card, so their task comes from where they were imported to (``<models>/imported/<task>/``)
or, failing that, from a task word in the file name; files whose task stays unknown are offered for every task
rather than hidden.
"""

from __future__ import annotations

import contextlib
import filecmp
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from sapiens_core.cards import CARDS, ModelCard, card_for_filename
from sapiens_core.errors import CheckpointError
from sapiens_core.models_dir import CHECKPOINT_SUFFIXES, InstalledModel, discover

from ..settings import TASKS

IMPORTED_FOLDER = "imported"
_COPY_CHUNK = 1 << 22
# Words that name a task in a file name; "normals" and "segmentation" occur in community exports.
_TASK_WORDS = {
    "pose": "pose",
    "keypoints": "pose",
    "seg": "seg",
    "segmentation": "seg",
    "depth": "depth",
    "normal": "normal",
    "normals": "normal",
}


def task_from_name(filename: str) -> str | None:
    """The one task a file name mentions, or None when it mentions none or several."""
    words = {_TASK_WORDS[w] for w in re.split(r"[^a-z0-9]+", filename.lower()) if w in _TASK_WORDS}
    return words.pop() if len(words) == 1 else None


def task_of(model: InstalledModel, models_dir: Path) -> str | None:
    if model.card is not None:
        return model.card.task
    try:
        folders = model.path.parent.relative_to(models_dir).parts
    except ValueError:
        folders = ()
    for folder in reversed(folders):  # the innermost task folder wins
        if folder in TASKS:
            return folder
    return task_from_name(model.path.name)


def human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"


@dataclass
class Inventory:
    """One scan of the models folder."""

    models_dir: Path
    models: list[InstalledModel]

    @classmethod
    def scan(cls, models_dir: Path) -> Inventory:
        # A directory walk and name matching only; nothing is opened, so this is cheap enough for the GUI thread.
        return cls(Path(models_dir), discover(models_dir))

    def label(self, model: InstalledModel) -> str:
        """The card id for an official file in its usual place, else the path inside the models folder."""
        try:
            relative = model.path.relative_to(self.models_dir).as_posix()
        except ValueError:
            relative = model.path.name
        if model.card is None:
            return relative
        return model.card.id if model.path.parent.name == model.card.id else f"{model.card.id} ({relative})"

    def path_for(self, card: ModelCard) -> Path | None:
        return next((m.path for m in self.models if m.card == card), None)

    def for_task(self, task: str) -> list[tuple[InstalledModel, bool]]:
        """(model, task_known) pairs a user may pick for ``task``: its own files first, then those of unknown task."""
        own, unknown = [], []
        for model in self.models:
            found = task_of(model, self.models_dir)
            if found == task:
                own.append((model, True))
            elif found is None:
                unknown.append((model, False))
        return own + unknown


class CardTableModel(QAbstractTableModel):
    """The official cards, optionally filtered by task, with their install state."""

    COLUMNS = ("Model", "Task", "Size", "Format", "Outputs", "Approx. size", "Installed")
    CardRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent=None):
        super().__init__(parent)
        self._task: str | None = None
        self._cards: list[ModelCard] = list(CARDS)
        self._installed: dict[str, Path] = {}
        self._in_use: set[str] = set()

    # ---- state
    def set_task_filter(self, task: str | None) -> None:
        self.beginResetModel()
        self._task = task
        self._cards = [c for c in CARDS if task is None or c.task == task]
        self.endResetModel()

    def set_install_state(self, inventory: Inventory, paths_in_use: set[str]) -> None:
        self._installed = {c.id: p for c in CARDS if (p := inventory.path_for(c)) is not None}
        self._in_use = {str(Path(p)) for p in paths_in_use if p}
        if self._cards:
            column = len(self.COLUMNS) - 1
            self.dataChanged.emit(self.index(0, column), self.index(len(self._cards) - 1, column))

    def card_at(self, row: int) -> ModelCard | None:
        return self._cards[row] if 0 <= row < len(self._cards) else None

    def row_of(self, card_id: str) -> int:
        return next((i for i, c in enumerate(self._cards) if c.id == card_id), -1)

    def installed_path(self, card: ModelCard) -> Path | None:
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
            return f"{card.id}\n{card.hf_repo}\n{', '.join(card.filenames)}{where}"
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
            schema = card.keypoint_schema_name or card.class_schema_name
            shape = "×".join(map(str, card.output_shape))
            return f"{shape} ({schema})" if schema else shape
        if column == 5:
            return human_bytes(card.approx_bytes)
        if path is None:
            return "—"
        return "in use" if str(path) in self._in_use else "yes"


@dataclass(frozen=True)
class Imported:
    path: Path
    format: str
    task: str | None
    copied: bool  # False: the same file was already installed


def remove_partial_download(target_dir: Path) -> None:
    """Drop a cancelled download's staging folder, and the card's folder if nothing else is in it."""
    shutil.rmtree(target_dir / ".incoming", ignore_errors=True)
    with contextlib.suppress(OSError):
        target_dir.rmdir()  # only succeeds when empty: an earlier complete download is never touched


def import_checkpoint(source: Path, models_dir: Path, task: str | None, report) -> Imported:
    """Check ``source`` is a model file, then copy it into the models folder; a foreign file is never copied."""
    from sapiens_core.backends import detect_format  # imports torch: keep it off the GUI thread and out of startup

    report(0, 0, f"Checking {source.name}")
    fmt = detect_format(source)  # CheckpointError with a one-line reason for a foreign, empty or truncated file
    if source.suffix.lower() not in CHECKPOINT_SUFFIXES:
        raise CheckpointError(
            f"{source.name} is a {fmt} model, but only files ending in "
            f"{', '.join(CHECKPOINT_SUFFIXES)} are found in the models folder; rename it first"
        )
    models_dir = Path(models_dir)
    if models_dir.resolve() in source.resolve().parents:
        return Imported(source, fmt, task, copied=False)
    card = card_for_filename(source.name)
    # An official name keeps it (the card is recognised by it) under the card's folder, as a download would.
    base = models_dir / card.id if card else models_dir / IMPORTED_FOLDER / (task or "unknown")
    folder, n = base, 1
    while (folder / source.name).exists():
        if filecmp.cmp(folder / source.name, source, shallow=False):
            return Imported(folder / source.name, fmt, task, copied=False)
        n += 1
        folder = base / str(n)  # never overwrite a different file of the same name
    folder.mkdir(parents=True, exist_ok=True)
    target, partial = folder / source.name, folder / f".{source.name}.part"  # dot files are not discovered
    total = source.stat().st_size
    try:
        with source.open("rb") as src, partial.open("wb") as dst:
            done = 0
            while block := src.read(_COPY_CHUNK):
                dst.write(block)
                done += len(block)
                report(done >> 10, total >> 10, f"Copying {source.name} (KiB)")
        os.replace(partial, target)
    except BaseException:  # cancelled or failed: leave no half file (and no new empty folder) behind
        partial.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()
        raise
    return Imported(target, fmt, task, copied=True)
