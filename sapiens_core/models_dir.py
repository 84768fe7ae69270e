"""Where checkpoints live on this machine, and which of them are installed.

Default: the platform's user cache folder (e.g. ``~/.cache/sapiens-studio/models`` on Linux),
overridable with ``SAPIENS_MODELS_DIR`` or an explicit folder. Any checkpoint file placed in the
folder (any depth) is discovered; official file names are recognised as their model card.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from .cards import ModelCard, card_for_filename

APP_NAME = "sapiens-studio"
MODELS_DIR_ENV = "SAPIENS_MODELS_DIR"
CHECKPOINT_SUFFIXES = (".pt2", ".pt", ".pth", ".onnx", ".ts")


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
