"""One trainer command as a child process (``QProcess``): its output streamed to the dialog, a stop that lets the
trainer save, and a one-line reason when it fails.

A separate process rather than a thread: training can run out of memory, crash in a CUDA kernel or be killed,
and none of that may take the app (and its unsaved labels) down with it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

# The folder holding the `app` and `trainer` packages: a source checkout runs `-m trainer` from there.
_SOURCE_ROOT = Path(__file__).resolve().parents[2]


def failure_message(exit_code: int, crashed: bool, stderr_tail: str) -> str:
    """What went wrong, in one line: the trainer's own "error: ..." line when it printed one (a usage, data or
    checkpoint problem), else the last line it wrote (a traceback ends with the exception)."""
    lines = [line.strip() for line in stderr_tail.replace("\r", "\n").splitlines() if line.strip()]
    error_line = next((line for line in reversed(lines) if line.startswith("error:")), None)
    last = error_line or (lines[-1] if lines else "")
    how = "was stopped by a signal or crashed" if crashed else f"exited with status {exit_code}"
    return f"The trainer {how}" + (f": {last}" if last else ".")


class TrainerProcess(QObject):
    output = Signal(str)  # stderr text as it comes (progress bars included, with their carriage returns)
    finished = Signal(int, str)  # exit code, "" on success or a one-line reason

    TAIL_CHARS = 8000  # enough stderr to find the error line of a long traceback

    def __init__(self, parent=None, python: str = sys.executable):
        super().__init__(parent)
        self.python = python
        self.stdout = ""
        self._stderr_tail = ""
        self.stop_requested = False
        self.process: QProcess | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, args: list[str], workdir: Path | None = None) -> None:
        if self.running:
            raise RuntimeError("a trainer command is already running")
        self.stdout, self._stderr_tail, self.stop_requested = "", "", False
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        paths = [str(_SOURCE_ROOT), *filter(None, [env.value("PYTHONPATH")])]
        env.insert("PYTHONPATH", os.pathsep.join(paths))
        env.insert("PYTHONUNBUFFERED", "1")  # lines arrive as they are written, not when a buffer fills
        process.setProcessEnvironment(env)
        if workdir is not None:
            process.setWorkingDirectory(str(workdir))
        process.readyReadStandardError.connect(self._read_stderr)
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._error)
        self.process = process
        process.start(self.python, args)

    def stop(self) -> None:
        """First call: SIGTERM, and the trainer saves last.pth after its current step (a long step on a big model
        takes a while). A second call kills it at once; the last saved checkpoint is still there."""
        if not self.running:
            return
        if self.stop_requested:
            self.process.kill()
        else:
            self.stop_requested = True
            self.process.terminate()

    def wait(self, msecs: int = 30000) -> bool:
        return self.process is None or self.process.waitForFinished(msecs)

    def _read_stderr(self) -> None:
        text = bytes(self.process.readAllStandardError()).decode("utf-8", "replace")
        self._stderr_tail = (self._stderr_tail + text)[-self.TAIL_CHARS :]
        self.output.emit(text)

    def _read_stdout(self) -> None:
        text = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        self.stdout += text
        self.output.emit(text)

    def _finished(self, exit_code: int, status: QProcess.ExitStatus) -> None:
        self._read_stderr()
        self._read_stdout()
        crashed = status == QProcess.ExitStatus.CrashExit
        if self.stop_requested and (crashed or exit_code in (0, 130)):
            self.finished.emit(exit_code, "")  # a stop the user asked for is not a failure
            return
        ok = exit_code == 0 and not crashed
        self.finished.emit(exit_code, "" if ok else failure_message(exit_code, crashed, self._stderr_tail))

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:  # no finished() follows this one
            self.finished.emit(-1, f"The trainer could not be started ({self.python}): {self.process.errorString()}")
