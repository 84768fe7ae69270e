"""Where checkpoints live on this machine, which of them are installed (for which task), and importing one.

Default: the platform's user cache folder (e.g. ``~/.cache/sapiens-studio/models`` on Linux),
overridable with ``SAPIENS_MODELS_DIR`` or an explicit folder. Any checkpoint file placed in the
folder (any depth) is discovered; official file names are recognised as their model card.

Official files say their task through their card. Files of our own (imported, finetuned, converted) carry no
card, so their task comes from where they were imported to (``<models>/imported/<task>/``) or, failing that,
from a task word in the file name; files whose task stays unknown are offered for every task rather than hidden.
"""

from __future__ import annotations

import contextlib
import filecmp
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from .cards import ModelCard, card_for_filename
from .errors import CheckpointError
from .task_specs import TASK_NAMES

APP_NAME = "sapiens-studio"
MODELS_DIR_ENV = "SAPIENS_MODELS_DIR"
CHECKPOINT_SUFFIXES = (".pt2", ".pt", ".pth", ".onnx", ".ts", ".safetensors")  # safetensors: Sapiens2
IMPORTED_FOLDER = "imported"  # <models>/imported/<task>/: files without a card, by the task they were imported as
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


def default_models_dir() -> Path:
    override = os.environ.get(MODELS_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_cache_dir(APP_NAME)) / "models"


@dataclass(frozen=True)
class InstalledModel:
    path: Path
    card: ModelCard | None  # None: not an official file name (a finetuned or converted model)

    @property
    def label(self) -> str:
        return self.card.id if self.card else self.path.name


def discover(models_dir: Path | None = None) -> list[InstalledModel]:
    """Checkpoint files under ``models_dir`` (recursively), official ones first, then by name."""
    root = Path(models_dir) if models_dir else default_models_dir()
    if not root.is_dir():
        return []
    found = [
        InstalledModel(p, card_for_filename(p.name))
        for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in CHECKPOINT_SUFFIXES and not p.name.startswith(".")
    ]
    return sorted(found, key=lambda m: (m.card is None, m.label, str(m.path)))


def installed_for(card: ModelCard, models_dir: Path | None = None) -> Path | None:
    return next((m.path for m in discover(models_dir) if m.card == card), None)


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
        if folder in TASK_NAMES:
            return folder
    return task_from_name(model.path.name)


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
    from .backends import detect_format  # imports torch: keep it off the GUI thread and out of startup

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
