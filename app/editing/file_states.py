"""Keeps the file list's marks in step with the documents: predicted / edited / reviewed, and unsaved edits.

An open document's state comes from its labels in memory (marking an image reviewed shows at once, with the unsaved
mark until it is saved); any other image's from its saved document, read (persons only) on a worker thread when it
joins the list, so adding a folder of thousands of images never waits for their JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from sapiens_core.annotation import Annotation
from sapiens_core.errors import SapiensError
from sapiens_core.project import review_state

from ..panels.file_list import PATH_ROLE, FileListPanel
from .document_model import DocumentModel

log = logging.getLogger(__name__)
UNREADABLE = "unreadable"


class FileStates(QObject):
    _state_read = Signal(str, object)  # image path, state (from the worker thread, queued to the GUI)

    def __init__(self, files: FileListPanel, documents: DocumentModel, doc_path: Callable[[str], Path], parent=None):
        super().__init__(parent)
        self.files, self.documents, self.doc_path = files, documents, doc_path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="file-states")
        self._new: list[str] = []
        self._batch = QTimer(self, singleShot=True, interval=0)
        self._batch.timeout.connect(self._scan_new)
        self._state_read.connect(self._apply_read)
        files.list.model().rowsInserted.connect(self._rows_inserted)
        documents.dirty_changed.connect(self._dirty_changed)
        documents.saved.connect(self.update_open)
        documents.changed.connect(lambda *_: self.update_open(self.documents.current_image))
        documents.opened.connect(lambda *_: self.update_open(self.documents.current_image))

    def update_open(self, image_path: str | None) -> None:
        entry = self.documents.entry(image_path) if image_path else None
        if entry is not None:
            self.files.set_state(image_path, str(review_state(entry.doc)))
            self.files.set_dirty(image_path, not entry.history.is_clean)

    def _dirty_changed(self, image_path: str, dirty: bool) -> None:
        self.files.set_dirty(image_path, dirty)
        self.update_open(image_path)

    # ---------------------------------------------------------------------------------------------- scanning

    def _rows_inserted(self, _parent, first: int, last: int) -> None:
        for row in range(first, last + 1):
            item = self.files.list.item(row)
            if item is not None:
                self._new.append(item.data(PATH_ROLE))
        self._batch.start()

    def _scan_new(self) -> None:
        paths, self._new = self._new, []
        jobs = [(p, self.doc_path(p)) for p in paths if self.documents.entry(p) is None]
        if jobs:
            self._executor.submit(self._read_states, jobs)

    def _read_states(self, jobs: list[tuple[str, Path]]) -> None:
        for image_path, doc_path in jobs:
            if not doc_path.is_file():
                continue
            try:
                state = str(review_state(Annotation.load(doc_path, layers=False)))
            except SapiensError:
                state = UNREADABLE
            except Exception:  # never let a scan thread die silently on a bug
                log.exception("reading the state of %s", doc_path)
                continue
            self._state_read.emit(image_path, state)

    def _apply_read(self, image_path: str, state: str) -> None:
        if self.documents.entry(image_path) is None:  # an open document's own state wins
            self.files.set_state(image_path, state)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
