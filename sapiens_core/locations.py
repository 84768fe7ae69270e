"""Where each image's annotation document lives.

Three places, in this order: the project folder the image's document was found in (a folder written by
``predict --out`` and opened as a project); the results folder beside the image (``<image folder>/sapiens_studio/``,
the default); and, when that folder cannot be written (a read-only share, an installed ``resources/`` folder), a
per-user folder named after the image folder, so labels are never lost to a permission error.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import platformdirs

from .errors import SapiensError
from .project import Project, annotation_path

__all__ = ["DocumentLocator", "LABELS_DIR_ENV", "default_fallback_root"]

LABELS_DIR_ENV = "SAPIENS_LABELS_DIR"


def default_fallback_root() -> Path:
    """``SAPIENS_LABELS_DIR`` when set, else ``labels`` in the per-user data folder."""
    override = os.environ.get(LABELS_DIR_ENV)
    return Path(override) if override else Path(platformdirs.user_data_dir("sapiens-studio")) / "labels"


def can_write(folder: Path) -> bool:
    """Whether files can be created in ``folder``, or in the nearest existing folder above it (it gets created)."""
    folder = Path(os.path.abspath(folder))
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


class DocumentLocator:
    def __init__(self, fallback_root: Path | None = None, writable: Callable[[Path], bool] = can_write):
        self._fallback_root = None if fallback_root is None else Path(fallback_root)
        self._writable = writable
        self._known: dict[str, Path] = {}  # absolute image path -> its document in an opened project folder

    @property
    def fallback_root(self) -> Path:
        # Read when used, not when made: a long-lived locator follows SAPIENS_LABELS_DIR as it is now.
        return self._fallback_root if self._fallback_root is not None else default_fallback_root()

    def add_project(self, folder: str | os.PathLike) -> list[Path]:
        """Remember the documents of a project folder; returns their images that exist, in document order.
        A document that cannot be read is skipped here (opening its image reports it)."""
        images = []
        project = Project(folder)
        for doc_path in project.document_paths():
            try:
                image = Path(project.load(doc_path, layers=False).image_path)
            except SapiensError:
                continue
            self._known[os.path.abspath(image)] = doc_path
            if image.is_file():
                images.append(image)
        return images

    def path_for(self, image_path: str | os.PathLike) -> Path:
        known = self._known.get(os.path.abspath(image_path))
        if known is not None:
            return known
        default = annotation_path(image_path)
        if self._writable(default.parent):
            return default
        return self.fallback_path(image_path)

    def fallback_path(self, image_path: str | os.PathLike) -> Path:
        folder = os.path.abspath(os.path.dirname(os.path.abspath(image_path)))
        key = hashlib.sha256(folder.encode()).hexdigest()[:16]  # one folder of labels per image folder
        return self.fallback_root / f"{Path(folder).name}-{key}" / f"{Path(image_path).stem}.json"

    def is_fallback(self, image_path: str | os.PathLike) -> bool:
        return self.path_for(image_path).parent != annotation_path(image_path).parent and (
            os.path.abspath(image_path) not in self._known
        )
