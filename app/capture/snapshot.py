"""Capture snapshots: where they go, what they are called, and writing them (a lossless PNG and its annotation)
off the GUI thread."""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import QObject, QStandardPaths, Signal

from sapiens_core.io.atomic import atomic_write_bytes

from ..editing.locations import document_path

log = logging.getLogger(__name__)

SNAPSHOT_FOLDER = "sapiens_studio_snapshots"


def write_snapshot(png_path: Path, rgb: np.ndarray, doc: Any) -> Path | None:
    """Write ``rgb`` as a lossless PNG (atomically) and ``doc`` next to it, retargeted at the PNG.

    Returns the annotation path, or None without a document. Raises OSError / ValueError on failure;
    the PNG is written first, so a failing annotation save still leaves the picture.
    """
    png_path.parent.mkdir(parents=True, exist_ok=True)
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"could not encode {png_path.name} as PNG")
    atomic_write_bytes(png_path, encoded.tobytes())
    if doc is None:
        return None
    saved = copy.copy(doc)  # shallow: the arrays are shared, only the path (and revision) differ
    saved.image_path = str(png_path)
    return saved.save(document_path(png_path))


def default_snapshot_folder(source: int | str | None) -> Path:
    """Beside the video when that folder is writable, else in the user's Pictures."""
    if isinstance(source, str):
        beside = Path(source).parent
        if os.access(beside, os.W_OK):
            return beside / SNAPSHOT_FOLDER
    pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return Path(pictures or Path.home()) / SNAPSHOT_FOLDER


def snapshot_stem(source: int | str | None, frame_index: int | None) -> str:
    """``clip_frame000042`` for frame 42 of clip.avi; ``camera0_20250101-120000`` for a camera."""
    if isinstance(source, str):
        return f"{Path(source).stem}_frame{frame_index or 0:06d}"
    return f"camera{source if source is not None else ''}_{time.strftime('%Y%m%d-%H%M%S')}"


class SnapshotWriter(QObject):
    """Writes snapshots on their own threads; ``done`` follows each, in the GUI thread."""

    done = Signal(str, str)  # PNG path, error ("" on success)
    _written = Signal(str, str)  # the same, from a writer thread

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pending: set[Path] = set()  # names taken by writes not finished yet
        self._threads: list[threading.Thread] = []
        self._written.connect(self._on_written)

    def free_path(self, folder: Path, stem: str) -> Path:
        """``folder/stem.png``, or ``stem-1.png``… when that exists or is about to be written."""
        png = folder / f"{stem}.png"
        n = 1
        while png.exists() or png in self._pending:
            png = folder / f"{stem}-{n}.png"
            n += 1
        return png

    def write(self, png: Path, rgb: np.ndarray, doc: Any) -> None:
        """Write ``rgb`` (and ``doc`` beside it) to ``png`` in the background."""
        self._pending.add(png)

        def write():
            try:
                write_snapshot(png, rgb, doc)
                error = ""
            except Exception as exc:  # disk full, no permission: tell the user, keep running
                log.exception("snapshot")
                error = str(exc)
            try:
                self._written.emit(str(png), error)
            except RuntimeError:  # the owner was deleted meanwhile; the files are written all the same
                pass

        thread = threading.Thread(target=write, name="capture-snapshot")
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def join(self, timeout: float) -> bool:
        """Wait for the writes in progress; True when all of them ended within ``timeout`` seconds."""
        deadline = time.perf_counter() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.perf_counter()))
        return not any(t.is_alive() for t in self._threads)

    def _on_written(self, png: str, error: str) -> None:
        self._pending.discard(Path(png))
        self.done.emit(png, error)
