"""Open3D's own viewer window, run as a separate process for the 3D view's "Open in Open3D".

Open3D's window cannot be embedded in Qt and has its own event loop, so it runs in a child process
(``sapiens_core.geometry.viewer``): a crash there is reported, not shared. From a source checkout or an
installed package the child is ``python -m sapiens_core.geometry.viewer``; a frozen (PyInstaller) app has no
``-m``, so it starts its own executable with ``--open3d-viewer`` and the app's entry point hands the rest of
the arguments to ``sapiens_core.geometry.viewer.main``.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

import sapiens_core

VIEWER_MODULE = "sapiens_core.geometry.viewer"
FROZEN_VIEWER_FLAG = "--open3d-viewer"


def viewer_command(ply_path: str, point_size: float, title: str) -> list[str]:
    """Program and arguments of the Open3D viewer process (a function so tests can substitute a fake)."""
    launcher = (
        [sys.executable, FROZEN_VIEWER_FLAG] if getattr(sys, "frozen", False) else [sys.executable, "-m", VIEWER_MODULE]
    )
    return [*launcher, ply_path, "--point-size", f"{point_size:g}", "--title", title]


class Open3DViewers(QObject):
    """The viewer processes started so far, and the temporary folder of the .ply files they show (each file is
    removed when its window closes, the folder by ``close_all``)."""

    finished = Signal(str)  # "" when a window closed normally, else what went wrong, for the user

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.temp_dir: str | None = None
        self._processes: list[QProcess] = []
        self._count = 0

    def new_path(self, stem: str) -> str:
        """A fresh temporary .ply path for the next window."""
        self.temp_dir = self.temp_dir or tempfile.mkdtemp(prefix="sapiens-3d-")
        self._count += 1
        return os.path.join(self.temp_dir, f"{stem}-{self._count}.ply")

    def start(self, path: str, point_size: float, title: str) -> QProcess:
        """Show ``path`` in a new Open3D window; ``finished`` follows when it closes (or cannot start)."""
        program, *args = viewer_command(path, point_size, title)
        process = QProcess(self)
        if not getattr(sys, "frozen", False):
            env = QProcessEnvironment.systemEnvironment()
            # The child must find sapiens_core even when the app runs from a source checkout not installed.
            root = str(Path(sapiens_core.__file__).resolve().parents[1])
            env.insert("PYTHONPATH", os.pathsep.join(p for p in (root, env.value("PYTHONPATH")) if p))
            process.setProcessEnvironment(env)
        process.setStandardOutputFile(QProcess.nullDevice())  # Open3D chats on stdout; stderr carries errors
        process.finished.connect(functools.partial(self._finished, process, path))
        process.errorOccurred.connect(functools.partial(self._error, process, path))
        self._processes.append(process)
        process.start(program, args)
        return process

    def close_all(self) -> None:
        """Close every Open3D window and remove the temporary files (when the app closes)."""
        processes, self._processes = self._processes, []  # closed on purpose: no "crashed" message
        for process in processes:
            process.kill()
            process.waitForFinished(3000)
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
            self.temp_dir = None

    def _error(self, process: QProcess, path: str, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:  # other errors are followed by finished
            self._finished(process, path, -1, None, f"could not start: {process.errorString()}")

    def _finished(self, process: QProcess, path: str, code: int, status, why: str = "") -> None:
        if process not in self._processes:
            return
        self._processes.remove(process)
        if status == QProcess.ExitStatus.CrashExit:
            why = "crashed (the app is unaffected)"
        elif code != 0 and not why:
            lines = bytes(process.readAllStandardError()).decode(errors="replace").strip().splitlines()
            why = f"failed: {lines[-1] if lines else f'exit code {code}'}"
        process.deleteLater()
        Path(path).unlink(missing_ok=True)
        self.finished.emit(f"The Open3D viewer {why}" if why else "")
