"""The app's one answer to "where is this image's document" (see ``sapiens_core.locations``).

One locator for the whole app: the canvas, the model runner, the painters, the file list and the finetune
dialog must agree on the file, so they all ask here instead of each deriving the path itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from sapiens_core.locations import DocumentLocator

LOCATOR = DocumentLocator()


def document_path(image_path: str | os.PathLike) -> Path:
    return LOCATOR.path_for(image_path)


def open_project(folder: str | os.PathLike) -> list[Path]:
    """The images of a project folder's documents (a ``predict --out`` folder); their documents stay there."""
    return LOCATOR.add_project(folder)


def is_fallback(image_path: str | os.PathLike) -> bool:
    return LOCATOR.is_fallback(image_path)
