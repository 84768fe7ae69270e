"""File → Export: choose a registered format, the output, only-reviewed and a split; the export runs in the background
with progress and cancel. Formats come from the same registry as the CLI's ``--format``."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from sapiens_core.export import format_names, get_format
from sapiens_core.export.split import parse_split

from .jobs.export import ExportRequest, start_export
from .workers import Job, JobRunner


class ExportDialog(QDialog):
    finished_export = Signal(str, object)  # "succeeded" | "cancelled" | "failed", summary or message

    def __init__(self, runner: JobRunner, project_folder: Path, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.setObjectName("exportDialog")
        self.runner, self.project_folder = runner, Path(project_folder)
        self.job: Job | None = None
        self.format_combo = QComboBox()
        for name in format_names(writable=True):
            self.format_combo.addItem(f"{name} — {get_format(name).title}", name)
        self.out_edit = QLineEdit()
        browse = QPushButton("Browse…")
        out_row = QHBoxLayout()
        out_row.addWidget(self.out_edit, 1)
        out_row.addWidget(browse)
        out_widget = QWidget()
        out_widget.setLayout(out_row)
        out_row.setContentsMargins(0, 0, 0, 0)
        self.only_reviewed = QCheckBox("Only images marked reviewed")
        self.split_edit = QLineEdit(placeholderText="none, or e.g. train=0.8,val=0.2")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1)
        self.description = QLabel(wordWrap=True)
        self.progress = QProgressBar(visible=False)
        self.status = QLabel(wordWrap=True)
        self.status.setObjectName("exportStatus")
        form = QFormLayout()
        form.addRow("Project", QLabel(str(self.project_folder)))
        form.addRow("Format", self.format_combo)
        form.addRow("", self.description)
        form.addRow("Output", out_widget)
        form.addRow("", self.only_reviewed)
        form.addRow("Split", self.split_edit)
        form.addRow("Seed", self.seed)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.format_combo.currentIndexChanged.connect(self._format_changed)
        browse.clicked.connect(self._browse)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self._format_changed()

    # ---------------------------------------------------------------------------------------------- choices

    @property
    def format_name(self) -> str:
        return self.format_combo.currentData()

    def set_format(self, name: str) -> None:
        self.format_combo.setCurrentIndex(self.format_combo.findData(name))

    def _default_out(self) -> Path:
        fmt = get_format(self.format_name)
        base = self.project_folder.parent / "export"
        return base / (f"{fmt.name}{fmt.suffix}" if fmt.target == "file" else fmt.name)

    def _format_changed(self) -> None:
        fmt = get_format(self.format_name)
        self.description.setText(fmt.description.split("\n\n")[0] if fmt.description else fmt.title)
        current = self.out_edit.text().strip()
        if not current or Path(current).parent == self._default_out().parent:
            self.out_edit.setText(str(self._default_out()))

    def _browse(self) -> None:
        fmt = get_format(self.format_name)
        if fmt.target == "folder":
            path = QFileDialog.getExistingDirectory(self, "Export into folder", self.out_edit.text())
        else:
            path, _ = QFileDialog.getSaveFileName(self, "Export to file", self.out_edit.text(), f"*{fmt.suffix}")
        if path:
            self.out_edit.setText(path)

    def request(self) -> ExportRequest:
        """What the fields ask for; ValueError says which field is wrong."""
        out = self.out_edit.text().strip()
        if not out:
            raise ValueError("choose where to write the export")
        text = self.split_edit.text().strip()
        split = parse_split(text, self.seed.value()) if text and text.lower() != "none" else None
        return ExportRequest(self.project_folder, self.format_name, Path(out), self.only_reviewed.isChecked(), split)

    # ---------------------------------------------------------------------------------------------- running

    def start(self) -> Job | None:
        if self.job is not None:
            return self.job
        try:
            request = self.request()
        except ValueError as exc:
            self.status.setText(str(exc))
            return None
        self.status.setText("Exporting…")
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.export_button.setEnabled(False)

        def connect(job: Job) -> None:
            job.progress.connect(self._progress)
            job.succeeded.connect(self._succeeded)
            job.failed.connect(self._failed)
            job.cancelled.connect(self._cancelled)

        self.job = start_export(self.runner, request, connect)
        return self.job

    def cancel(self) -> None:
        """Cancel a running export (nothing is left at the target), or close the dialog."""
        if self.job is not None:
            self.status.setText("Cancelling…")
            self.job.cancel()
        else:
            self.reject()

    def _progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, max(total, 0))
        self.progress.setValue(done)

    def _ended(self) -> None:
        self.job = None
        self.progress.setVisible(False)
        self.export_button.setEnabled(True)

    def _succeeded(self, summary) -> None:
        self._ended()
        problems = summary.all_problems
        written = ", ".join(str(p) for p in summary.written[:3]) + (" …" if len(summary.written) > 3 else "")
        images = sum(r.images for r in summary.reports.values())
        text = f"Exported {images} image(s) to {written}."
        if problems:
            text += f" {len(problems)} problem(s): " + "; ".join(problems[:3])
        self.status.setText(text)
        self.finished_export.emit("succeeded", summary)

    def _failed(self, message: str) -> None:
        self._ended()
        self.status.setText(message)
        self.finished_export.emit("failed", message)

    def _cancelled(self) -> None:
        self._ended()
        self.status.setText("Export cancelled; nothing was written.")
        self.finished_export.emit("cancelled", None)

    def reject(self) -> None:
        if self.job is not None:  # closing the dialog while it runs cancels the export
            self.job.cancel()
        super().reject()
