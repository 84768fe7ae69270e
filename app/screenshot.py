"""``--screenshot``: predict on the current image, wait for the result, save the window, quit."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication


class ScreenshotRun(QObject):
    def __init__(self, window, out: Path, timeout_s: float):
        super().__init__(window)
        self.window, self.out = window, Path(out)
        self.exit_code = 1
        self._image_error: str | None = None  # the models failed on the image (the job itself succeeds)
        self._timer = QTimer(self, singleShot=True, interval=int(timeout_s * 1000))
        self._timer.timeout.connect(lambda: self._fail(f"no result within {timeout_s:.0f} s"))

    def start(self) -> None:
        QTimer.singleShot(0, self._begin)

    def _begin(self) -> None:
        w = self.window
        if w.current_path is None:
            return self._fail("no image to show (give an image path)")
        if not w.model_paths():
            return self._save()

        def connect(job) -> None:
            job.failed.connect(self._fail)
            job.succeeded.connect(lambda done: QTimer.singleShot(50, lambda: self._finished(done)))

        w.inference.image_failed.connect(self._image_failed)
        if w.run_current(connect) is None:
            return self._fail("could not start the models")
        self._timer.start()

    def _image_failed(self, path: str, message: str) -> None:
        self._image_error = f"{Path(path).name}: {message}"

    def _finished(self, done: int) -> None:
        """A run over one image that produced nothing failed, whatever the job says: exit 1, as documented."""
        if done == 0 or self._image_error is not None:
            return self._fail(self._image_error or "the models produced no result for the image")
        self._save()

    def _save(self) -> None:
        QApplication.processEvents()
        self.out.parent.mkdir(parents=True, exist_ok=True)
        if not self.window.grab().save(str(self.out)):
            return self._fail(f"could not write {self.out}")
        print(f"screenshot saved to {self.out}")
        self.exit_code = 0
        self._quit()

    def _fail(self, message: str) -> None:
        print(f"error: {message}", file=sys.stderr)
        self.exit_code = 1
        self._quit()

    def _quit(self) -> None:
        self._timer.stop()
        self.window.close()
        QApplication.instance().quit()
