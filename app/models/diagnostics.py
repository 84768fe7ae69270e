"""The device diagnostics window of the model manager: where models run and, when not on a GPU, why not.

Collecting the report imports torch and opens an ONNX Runtime session (seconds the first time), so it runs as a
JobRunner job and the window shows a placeholder until the text arrives; the text can be copied for a bug report.
"""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit, QPushButton, QVBoxLayout

from ..workers import Job, JobRunner


class DiagnosticsDialog(QDialog):
    def __init__(self, runner: JobRunner, parent=None):
        super().__init__(parent, objectName="diagnosticsDialog", windowTitle="Device diagnostics")
        self.runner = runner
        self.job: Job | None = None
        self.resize(760, 480)
        self.text = QPlainTextEdit(objectName="diagnosticsText", readOnly=True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        copy = QPushButton("Copy", objectName="copyDiagnostics")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.text.toPlainText()))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)

    def refresh(self) -> None:
        """Collect the report again (once at a time) and show the window."""
        if self.job is None:
            self.text.setPlainText("Collecting device information…")
            self.job = self.runner.start("Diagnostics", _diagnostics_text, self._connect)
        self.show()
        self.raise_()

    def _connect(self, job: Job) -> None:
        job.succeeded.connect(self._ready)
        job.failed.connect(self._ready)

    def _ready(self, text: str) -> None:
        self.job = None
        self.text.setPlainText(text)


def _diagnostics_text(report) -> str:
    from sapiens_core.diagnostics import device_report

    return device_report().as_text()
