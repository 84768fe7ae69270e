"""Autosave: the unsaved edits of every open document go to recovery files a few seconds after the last edit.

Nothing here runs inside an edit: an edit only restarts a timer. When the timer fires (``delay_ms`` after the last
edit, or at the latest ``max_wait_ms`` after the first of a burst, so that hours of continuous dragging are still
kept), each document with unsaved edits is copied on the GUI thread (the copy is what makes the write safe to run
concurrently with further edits) and written by one worker thread to the ``RecoveryStore``. The write reads the
document's path at that moment from the ``DocumentModel``, and the entry records it, so renaming or moving images or
the project never sends a write to a stale place; the document's own file is never touched.

Writes and removals share the one worker, in order: a save's removal can never be overtaken by an older write that
would bring a stale entry back.
"""

from __future__ import annotations

import copy
import logging
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from sapiens_core.recovery import RecoveryStore

from .document_model import DocumentModel, OpenDocument

log = logging.getLogger(__name__)

DEFAULT_DELAY_MS = 3000
DEFAULT_MAX_WAIT_MS = 20000


class Autosave(QObject):
    written = Signal(str)  # image path whose unsaved edits are now in the recovery store
    failed = Signal(str)  # why a recovery write failed (the edits are still in memory)

    def __init__(
        self,
        documents: DocumentModel,
        store: RecoveryStore | None = None,
        delay_ms: int = DEFAULT_DELAY_MS,
        max_wait_ms: int = DEFAULT_MAX_WAIT_MS,
        parent=None,
    ):
        super().__init__(parent)
        self.documents = documents
        self.store = store or RecoveryStore()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autosave")
        self._futures: list[Future] = []
        # doc path -> state of the last write (history position, step count, revision): an unchanged document is
        # not written again, and undoing back to the saved state removes its entry.
        self._written: dict[Path, tuple[int, int, int]] = {}
        self._timer = QTimer(self, singleShot=True, interval=delay_ms)
        self._deadline = QTimer(self, singleShot=True, interval=max_wait_ms)
        self._timer.timeout.connect(self.flush)
        self._deadline.timeout.connect(self.flush)
        documents.changed.connect(self._touched)
        documents.dirty_changed.connect(self._touched)
        documents.saved.connect(self._saved)

    @property
    def delay_ms(self) -> int:
        return self._timer.interval()

    def _touched(self, *_args) -> None:
        self._timer.start()  # restarts: debounced
        if not self._deadline.isActive():
            self._deadline.start()

    @property
    def scheduled(self) -> bool:
        return self._timer.isActive()

    # ---------------------------------------------------------------------------------------------- writing

    def flush(self) -> int:
        """Queue a write of every document whose unsaved state is not in the store yet; returns how many."""
        self._timer.stop()
        self._deadline.stop()
        queued = 0
        dirty = self.documents.dirty_documents()
        still_dirty = {Path(e.doc_path) for e in dirty}
        for doc_path in [p for p in self._written if p not in still_dirty]:
            # Saved, or undone back to the saved state: nothing is left to recover.
            del self._written[doc_path]
            self._submit(self.store.discard, doc_path)
        for entry in dirty:
            state = _state(entry)
            doc_path = Path(entry.doc_path)
            if self._written.get(doc_path) == state:
                continue
            snapshot = copy.deepcopy(entry.doc)
            self._written[doc_path] = state
            self._submit(self._write, entry.image_path, doc_path, snapshot)
            queued += 1
        return queued

    def _write(self, image_path: str, doc_path: Path, snapshot) -> None:
        try:
            self.store.write(doc_path, snapshot)
        except Exception as exc:  # a full disk must not take editing down: say so and keep going
            log.warning("autosave of %s failed: %s", doc_path, exc)
            self._written.pop(doc_path, None)
            self.failed.emit(f"Autosave of {Path(image_path).name} failed: {exc}")
            return
        self.written.emit(image_path)

    def _saved(self, image_path: str) -> None:
        entry = self.documents.entry(image_path)
        if entry is None:
            return
        self._written.pop(Path(entry.doc_path), None)
        self._submit(self.store.discard, Path(entry.doc_path))

    def discard(self, doc_path: Path) -> None:
        """Forget a recovery entry (in order with pending writes)."""
        self._submit(self.store.discard, Path(doc_path))

    def _submit(self, fn, *args) -> None:
        self._futures = [f for f in self._futures if not f.done()]
        self._futures.append(self._executor.submit(fn, *args))

    # ---------------------------------------------------------------------------------------------- lifetime

    def wait_idle(self, timeout: float | None = 30) -> bool:
        """Block until queued writes are done (scripts, tests, closing the window)."""
        pending = [f for f in self._futures if not f.done()]
        done, not_done = wait(pending, timeout=timeout)
        return not not_done

    def close(self) -> None:
        """Write what is pending and stop the worker (the window is closing; unsaved edits stay recoverable)."""
        self.flush()
        self.wait_idle()
        self._executor.shutdown(wait=True)


def _state(entry: OpenDocument) -> tuple[int, int, int]:
    history = entry.history
    return history.index, len(history.labels), entry.doc.revision
