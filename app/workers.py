"""Run long jobs (model loading, inference, downloads, exports) off the GUI thread, with progress and cancel.

A job is a plain function ``fn(report) -> result`` that calls ``report(done, total, text)`` now and
then; ``report`` raises ``JobCancelled`` once the user cancelled, so the job stops at its next
report. Results and errors come back to the GUI thread through Qt signals.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from sapiens_core.errors import SapiensError

log = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised inside a job when its cancel was requested."""


Report = Callable[[int, int, str], None]


class Job(QObject):
    # qint64: byte counts of multi-GB downloads overflow a C int.
    progress = Signal("qint64", "qint64", str)  # done, total, text
    succeeded = Signal(object)
    failed = Signal(str)  # one-line message for the user
    cancelled = Signal()
    finished = Signal()  # after any of the three above
    _ended = Signal(object)  # the runner's hook, delivered on the GUI thread

    def __init__(self, name: str, fn: Callable[[Report], Any]):
        super().__init__()
        self.name = name
        self._fn = fn
        self._cancel = threading.Event()
        self.result: Any = None
        self.error: str | None = None
        self.done = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def _report(self, done: int, total: int, text: str = "") -> None:
        if self._cancel.is_set():
            raise JobCancelled()
        self.progress.emit(int(done), int(total), text)

    def run(self) -> None:
        try:
            self.result = self._fn(self._report)
        except JobCancelled:
            self.cancelled.emit()
        except SapiensError as exc:  # an expected failure (bad file, model error): its message says it all
            log.warning("%s failed: %s", self.name, exc)
            self.error = f"{self.name}: {exc}"
            self.failed.emit(self.error)
        except Exception as exc:  # a job must never take the app down: report and carry on
            log.error("%s failed:\n%s", self.name, traceback.format_exc())
            self.error = f"{self.name}: {exc}"
            self.failed.emit(self.error)
        else:
            if self._cancel.is_set():
                self.cancelled.emit()
            else:
                self.succeeded.emit(self.result)
        finally:
            self.done.set()
            self.finished.emit()
            self._ended.emit(self)


class _Runnable(QRunnable):
    def __init__(self, job: Job):
        super().__init__()
        self.job = job
        self.setAutoDelete(True)

    def run(self) -> None:
        self.job.run()


class JobRunner(QObject):
    """Starts jobs on a thread pool and keeps them alive until they finish."""

    job_started = Signal(object)
    job_finished = Signal(object)

    def __init__(self, parent: QObject | None = None, max_threads: int = 2):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self.active: set[Job] = set()

    def start(self, name: str, fn: Callable[[Report], Any], connect: Callable[[Job], None] | None = None) -> Job:
        """Run ``fn`` on the pool. Connect the job's signals in ``connect``: it runs before the job starts,
        so even a job that fails at once cannot finish before anyone listens."""
        job = Job(name, fn)
        self.active.add(job)
        # A bound method of this GUI-thread object: Qt queues the call, so `active` is only touched here.
        job._ended.connect(self._finish)
        if connect is not None:
            connect(job)
        self.job_started.emit(job)
        self.pool.start(_Runnable(job))
        return job

    def _finish(self, job: Job) -> None:
        self.active.discard(job)
        self.job_finished.emit(job)

    def cancel_all(self) -> None:
        for job in list(self.active):
            job.cancel()

    def wait(self, msecs: int = -1) -> bool:
        return self.pool.waitForDone(msecs)
