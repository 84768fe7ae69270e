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
            job.succeeded.connect(lambda _n: QTimer.singleShot(50, self._save))

        if w.run_current(connect) is None:
            return self._fail("could not start the models")
        self._timer.start()

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
