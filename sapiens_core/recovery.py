"""Recovery files: the unsaved edits of open documents, kept outside the documents until they are saved.

Autosave writes here, never to a document's own file: a crash must not replace what the user last saved with a
half-finished correction they never chose to keep. One entry per document, keyed by the document's absolute path
(a hash of it names the entry's folder) and holding that path inside, so a restore writes where the document lives
*now*, and two images with the same name in different folders never share an entry.

Layout of an entry ``<root>/<key>/``:

- ``entry.json``: the commit point: target document path, image path, which generation holds the labels.
- ``g<n>-<random>/<stem>.json`` (+ side files): the labels, a complete ``Annotation`` saved in its own folder.

A write makes a new generation folder, then replaces ``entry.json`` atomically, then removes older generations. A
``kill -9`` at any moment leaves either the previous entry or the new one, each complete; a generation without an
``entry.json`` naming it is garbage and is removed by the next write or ``discard``.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from .annotation import Annotation
from .errors import AnnotationFormatError, SapiensError
from .io.atomic import atomic_write_text
from .models_dir import APP_NAME

__all__ = ["RECOVERY_DIR_ENV", "RecoveryEntry", "RecoveryStore", "default_recovery_dir"]

RECOVERY_DIR_ENV = "SAPIENS_RECOVERY_DIR"
_FORMAT = "sapiens-studio/recovery"
_VERSION = 1
_ENTRY = "entry.json"


def default_recovery_dir() -> Path:
    """``SAPIENS_RECOVERY_DIR`` when set, else ``recovery`` in the per-user data folder."""
    override = os.environ.get(RECOVERY_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME)) / "recovery"


@dataclass(frozen=True)
class RecoveryEntry:
    key: str
    doc_path: Path  # where the document is saved (the recovery never writes there itself)
    image_path: str
    generation: str
    saved_at: float  # seconds since the epoch
    pid: int  # the process that wrote it (for messages only: a pid says nothing about a crash)

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.saved_at))
        return f"{Path(self.image_path).name} (unsaved edits from {when})"


def key_for(doc_path: str | os.PathLike) -> str:
    """The entry's folder name: a hash of the absolute document path (any path, any length, any characters)."""
    absolute = os.path.normcase(os.path.abspath(os.fspath(doc_path)))
    return hashlib.sha256(absolute.encode("utf-8", "surrogatepass")).hexdigest()[:24]


class RecoveryStore:
    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_recovery_dir()

    # ---------------------------------------------------------------------------------------------- writing

    def write(self, doc_path: str | os.PathLike, doc: Annotation) -> RecoveryEntry:
        """Keep ``doc`` (a copy the caller no longer touches: this may run on another thread) as the unsaved
        state of the document at ``doc_path``."""
        doc_path = Path(os.path.abspath(os.fspath(doc_path)))
        key = key_for(doc_path)
        folder = self.root / key
        folder.mkdir(parents=True, exist_ok=True)
        generation = f"g{time.time_ns()}-{secrets.token_hex(4)}"
        image_path = os.path.abspath(doc.image_path)
        doc.save(folder / generation / f"{doc_path.stem}.json")
        entry = RecoveryEntry(key, doc_path, image_path, generation, time.time(), os.getpid())
        record = {
            "format": _FORMAT,
            "version": _VERSION,
            "doc_path": str(doc_path),
            "image_path": image_path,
            "generation": generation,
            "saved_at": entry.saved_at,
            "pid": entry.pid,
        }
        atomic_write_text(folder / _ENTRY, json.dumps(record, indent=1) + "\n")
        self._remove_generations(folder, keep=generation)
        return entry

    def discard(self, doc_path: str | os.PathLike) -> None:
        """Forget the entry of the document at ``doc_path`` (it was saved, or the user declined it)."""
        self._remove(self.root / key_for(doc_path))

    def discard_entry(self, entry: RecoveryEntry) -> None:
        self._remove(self.root / entry.key)

    # ---------------------------------------------------------------------------------------------- reading

    def entries(self) -> list[RecoveryEntry]:
        """Every complete entry, oldest first; broken ones are skipped (and left for ``discard``)."""
        if not self.root.is_dir():
            return []
        found = [e for e in (self._read_entry(p) for p in self._folders()) if e is not None]
        return sorted(found, key=lambda e: (e.saved_at, e.key))

    def entry(self, doc_path: str | os.PathLike) -> RecoveryEntry | None:
        return self._read_entry(self.root / key_for(doc_path))

    def load(self, entry: RecoveryEntry) -> Annotation:
        """The kept labels, with ``image_path`` pointing at the image (not at the recovery folder)."""
        folder = self.root / entry.key / entry.generation
        path = folder / f"{entry.doc_path.stem}.json"
        try:
            doc = Annotation.load(path)
        except AnnotationFormatError as exc:
            raise AnnotationFormatError(f"the recovered edits of {entry.doc_path} cannot be read: {exc}") from None
        doc.image_path = entry.image_path
        doc.side_files = {}  # they live in the recovery folder, which is removed once restored
        return doc

    # ---------------------------------------------------------------------------------------------- internals

    def _folders(self) -> Iterator[Path]:
        try:
            yield from (p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
        except OSError:
            return

    def _read_entry(self, folder: Path) -> RecoveryEntry | None:
        try:
            data = json.loads((folder / _ENTRY).read_text(encoding="utf-8"))
            if data.get("format") != _FORMAT or data.get("version") != _VERSION:
                return None  # another (newer) version's entry: leave it for that version
            entry = RecoveryEntry(
                folder.name,
                Path(data["doc_path"]),
                str(data["image_path"]),
                str(data["generation"]),
                float(data["saved_at"]),
                int(data.get("pid", 0)),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        if not (folder / entry.generation).is_dir():
            return None
        return entry

    @staticmethod
    def _remove_generations(folder: Path, keep: str) -> None:
        for path in folder.iterdir():
            if path.is_dir() and path.name != keep:
                shutil.rmtree(path, ignore_errors=True)

    @staticmethod
    def _remove(folder: Path) -> None:
        # entry.json first: once it is gone the entry no longer exists, whatever the rmtree leaves behind.
        try:
            (folder / _ENTRY).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise SapiensError(f"cannot remove the recovery entry {folder}: {exc.strerror or exc}") from None
        shutil.rmtree(folder, ignore_errors=True)
