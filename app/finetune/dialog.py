"""The Finetune dialog: choose what to train, export the project, run the trainer as a child process, watch its
curves and log, stop or resume it, and export the result into the models folder for the app to load.

Non-modal and kept alive between openings: a run goes on while the dialog is closed and the user keeps labelling.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from sapiens_core.export.split import parse_split
from sapiens_core.models_dir import default_models_dir, discover
from sapiens_core.schema import keypoint_schema_names
from sapiens_core.task_specs import TASK_NAMES

from ..workers import Job, JobRunner
from .command import (
    ARCH_CHOICES,
    FinetuneRequest,
    default_run_dir,
    export_args,
    finetune_args,
    parse_extra,
    resume_args,
)
from .curves import CurvesWidget
from .data import TrainingData, export_training_data
from .process import TrainerProcess

DEFAULT_KEYPOINTS = "goliath_308"
LAST_CHECKPOINT, FINAL_CHECKPOINT, RUN_CONFIG = "last.pth", "final.pth", "config.json"  # the trainer's run files


def _row(*widgets) -> QWidget:
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    for i, widget in enumerate(widgets):
        row.addWidget(widget, 1 if i == 0 else 0)
    holder = QWidget()
    holder.setLayout(row)
    return holder


class FinetuneDialog(QDialog):
    model_exported = Signal(str, str)  # task, exported model file: the app loads it and runs it
    state_changed = Signal(str)  # idle | exporting | training | finished | stopped | failed | exported

    def __init__(self, runner: JobRunner, project_folder: Path, parent=None, *, models_dir: Path | None = None):
        super().__init__(parent)
        self.setWindowTitle("Finetune")
        self.setObjectName("finetuneDialog")
        self.resize(960, 720)
        self.runner, self.project_folder = runner, Path(project_folder)
        self.models_dir = Path(models_dir) if models_dir else default_models_dir()
        self.job: Job | None = None
        self.state = "idle"
        self.message = ""  # the last failure, for the status line (and tests)
        self.exported_path: Path | None = None
        self.process = TrainerProcess(self)
        self.process.output.connect(self._append_log)
        self.process.finished.connect(self._process_finished)
        self._purpose = ""  # "train" or "export": what the running process is doing
        self._carriage_return = False
        self._request: FinetuneRequest | None = None  # the run being prepared while its data exports

        self.task_combo = QComboBox()
        self.task_combo.addItems(list(TASK_NAMES))
        self.arch_combo = QComboBox()
        self.arch_combo.addItems(list(ARCH_CHOICES))
        self.arch_combo.setCurrentText("sapiens_0.3b")
        self.init_combo = QComboBox()
        init_browse = QPushButton("File…")
        self.keypoints_combo = QComboBox()
        self.keypoints_combo.addItems(keypoint_schema_names())
        self.keypoints_combo.setCurrentText(DEFAULT_KEYPOINTS)
        keypoints_browse = QPushButton("Schema…")
        self.epochs = QSpinBox(minimum=1, maximum=10000, value=10)
        self.batch_size = QSpinBox(minimum=1, maximum=1024, value=2)
        self.device_combo = QComboBox()
        self.device_combo.addItems(["auto", "cpu", "cuda"])
        self.gpus = QSpinBox(minimum=1, maximum=64, value=1)
        self.gpus.setToolTip("More than one: one process per GPU with torchrun (DDP)")
        self.split_edit = QLineEdit("train=0.9,val=0.1")
        self.only_reviewed = QCheckBox("Only images marked reviewed")
        self.run_edit = QLineEdit(str(default_run_dir(self.project_folder, self.task)))
        run_browse = QPushButton("Folder…")
        self.extra_edit = QLineEdit(placeholderText="more trainer options, e.g. --lr 1e-4 --input-size 384 512")

        form = QFormLayout()
        form.addRow("Project", QLabel(str(self.project_folder)))
        form.addRow("Task", self.task_combo)
        form.addRow("Size", self.arch_combo)
        form.addRow("Start from", _row(self.init_combo, init_browse))
        form.addRow("Keypoint set", _row(self.keypoints_combo, keypoints_browse))
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Device", _row(self.device_combo, QLabel("GPUs"), self.gpus))
        form.addRow("Split", _row(self.split_edit, self.only_reviewed))
        form.addRow("Run folder", _row(self.run_edit, run_browse))
        form.addRow("Options", self.extra_edit)

        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Saves a checkpoint after the current step; press again to kill at once")
        self.resume_button = QPushButton("Resume")
        self.export_button = QPushButton("Export and load model")
        self.export_button.setToolTip(
            f"Export the trained model into {self.models_dir}, use it for this task and "
            "run it on the current image (Undo brings back the previous result)"
        )
        close_button = QPushButton("Close")
        buttons = QHBoxLayout()
        for button in (self.start_button, self.stop_button, self.resume_button, self.export_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close_button)
        self.status = QLabel(wordWrap=True)
        self.status.setObjectName("finetuneStatus")
        self.curves = CurvesWidget()
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setObjectName("finetuneLog")
        self.log.setMaximumBlockCount(5000)  # a long run's log stays bounded
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.curves, 2)
        layout.addWidget(self.log, 1)

        self.task_combo.currentTextChanged.connect(self._task_changed)
        self.run_edit.textChanged.connect(lambda _text: self._update_buttons())
        init_browse.clicked.connect(self._browse_init)
        keypoints_browse.clicked.connect(self._browse_keypoints)
        run_browse.clicked.connect(self._browse_run)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(self.resume)
        self.export_button.clicked.connect(self.export_model)
        close_button.clicked.connect(self.close)
        self._task_changed()

    # ---------------------------------------------------------------------------------------------- choices

    @property
    def task(self) -> str:
        return self.task_combo.currentText()

    @property
    def run_dir(self) -> Path:
        return Path(self.run_edit.text().strip()).expanduser()

    def _task_changed(self, _text: str = "") -> None:
        self.keypoints_combo.setEnabled(self.task == "pose")
        # Only original checkpoints train (TorchScript and ONNX files carry no trainable parameters by name).
        self.init_combo.clear()
        self.init_combo.addItem("random initialisation", None)
        for model in discover(self.models_dir):
            if model.path.suffix == ".pth" and (model.card is None or model.card.task in (self.task, "pretrain")):
                self.init_combo.addItem(model.label, str(model.path))
        if self.state == "idle" and re.fullmatch(r".*_run\d+", self.run_dir.name):  # still the suggested name
            self.run_edit.setText(str(default_run_dir(self.project_folder, self.task)))
        self._update_buttons()

    def set_init(self, path: str | None) -> None:
        if path is None:
            self.init_combo.setCurrentIndex(0)
            return
        if self.init_combo.findData(path) < 0:
            self.init_combo.addItem(Path(path).name, path)
        self.init_combo.setCurrentIndex(self.init_combo.findData(path))

    def set_keypoints(self, name_or_path: str) -> None:
        if self.keypoints_combo.findText(name_or_path) < 0:
            self.keypoints_combo.addItem(name_or_path)
        self.keypoints_combo.setCurrentText(name_or_path)

    def _browse_init(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Start from checkpoint", str(self.models_dir), "*.pth")
        if path:
            self.set_init(path)

    def _browse_keypoints(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Keypoint set", str(self.project_folder), "*.json")
        if path:
            self.set_keypoints(path)

    def _browse_run(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Run folder", str(self.run_dir.parent))
        if path:
            self.run_edit.setText(path)

    def request(self) -> FinetuneRequest:
        """What the fields ask for; ValueError says which field is wrong."""
        if not self.run_edit.text().strip():
            raise ValueError("choose a run folder")
        keypoints = self.keypoints_combo.currentText()
        return FinetuneRequest(
            task=self.task,
            arch=self.arch_combo.currentText(),
            run_dir=self.run_dir,
            epochs=self.epochs.value(),
            batch_size=self.batch_size.value(),
            init=self.init_combo.currentData(),
            keypoints=None if keypoints == DEFAULT_KEYPOINTS else keypoints,
            device=self.device_combo.currentText(),
            gpus=self.gpus.value(),
            extra=parse_extra(self.extra_edit.text()),
        )

    # ---------------------------------------------------------------------------------------------- running

    def _set_state(self, state: str, text: str) -> None:
        self.state = state
        self.status.setText(text)
        self._update_buttons()
        self.state_changed.emit(state)

    def _update_buttons(self) -> None:
        busy = self.state in ("exporting", "training", "exporting model")
        run = self.run_dir
        self.start_button.setEnabled(not busy)
        self.stop_button.setEnabled(self.state in ("exporting", "training"))
        self.resume_button.setEnabled(not busy and (run / LAST_CHECKPOINT).is_file())
        has_model = (run / FINAL_CHECKPOINT).is_file() or (run / LAST_CHECKPOINT).is_file()
        self.export_button.setEnabled(not busy and has_model)

    def _fail(self, message: str) -> None:
        self.message = message
        self._set_state("failed", message)

    def start(self) -> Job | None:
        """Export the project into the run folder, then train (see ``_data_ready``)."""
        if self.state in ("exporting", "training", "exporting model"):
            return None
        try:
            request = self.request()
            split = parse_split(self.split_edit.text().strip())
        except ValueError as exc:
            self._fail(str(exc))
            return None
        if request.run_dir.exists() and any(request.run_dir.iterdir()):
            self._fail(f"{request.run_dir} already holds a run: Resume it, or choose a new run folder.")
            return None
        self.message = ""
        self.log.clear()
        self._set_state("exporting", f"Exporting {self.project_folder.name} for training…")
        only_reviewed = self.only_reviewed.isChecked()

        self._request = request

        def connect(job: Job) -> None:
            # Bound methods of this QObject: Qt queues them onto the GUI thread (a lambda would run on the job's).
            job.succeeded.connect(self._data_ready)
            job.failed.connect(self._fail)
            job.cancelled.connect(self._data_cancelled)
            job.finished.connect(self._job_ended)

        self.job = self.runner.start(
            "Finetune data",
            lambda report: export_training_data(self.project_folder, request.run_dir, split, only_reviewed, report),
            connect,
        )
        return self.job

    def _job_ended(self) -> None:
        self.job = None

    def _data_cancelled(self) -> None:
        self._set_state("stopped", "Export cancelled; nothing was trained.")

    def _data_ready(self, data: TrainingData) -> None:
        request = self._request
        held_out = f"{data.val_images} held out" if data.val else "none held out, so no eval curve"
        note = f"{data.train_images} training image(s), {held_out}."
        if data.problems:
            note += f" {len(data.problems)} document(s) left out: " + "; ".join(data.problems[:3])
        self._append_log(note + "\n")
        self._launch("train", finetune_args(request, data.train, data.val), f"Training… {note}")

    def resume(self) -> None:
        if self.state in ("exporting", "training", "exporting model"):
            return
        self.message = ""
        self._launch("train", resume_args(self.run_dir, self.gpus.value()), f"Resuming {self.run_dir.name}…")

    def _launch(self, purpose: str, args: list[str], text: str) -> None:
        self._purpose = purpose
        self._append_log("$ python " + " ".join(args) + "\n")
        if purpose == "train":
            self.curves.watch(self.run_dir)
        self._set_state("training" if purpose == "train" else "exporting model", text)
        self.process.start(args, self.run_dir.parent)

    def stop(self) -> None:
        if self.job is not None:
            self.job.cancel()
        elif self.process.running:
            again = self.process.stop_requested
            self.process.stop()
            self.status.setText("Killed." if again else "Stopping: saving a checkpoint after the current step…")

    def _process_finished(self, exit_code: int, message: str) -> None:
        if self._purpose == "train":
            self.curves.stop()
        if message:
            self._append_log(message + "\n")
            self._fail(message)
        elif self._purpose == "export":
            self._model_written()
        elif self.process.stop_requested and not (self.run_dir / FINAL_CHECKPOINT).is_file():
            self._set_state("stopped", f"Stopped; {LAST_CHECKPOINT} is saved. Resume continues where it stopped.")
        else:
            self._set_state("finished", "Training finished. Export and load the model to try it on this image.")

    # ---------------------------------------------------------------------------------------------- the result

    def run_task(self) -> str:
        """The task of the run in the run folder (its own config), whatever the combo shows now."""
        try:
            return str(json.loads((self.run_dir / RUN_CONFIG).read_text(encoding="utf-8"))["task"])
        except (OSError, ValueError, KeyError, TypeError):
            return self.task

    def export_model(self) -> None:
        if self.state in ("exporting", "training", "exporting model"):
            return
        self._launch("export", export_args(self.run_dir, self.models_dir), f"Exporting the model to {self.models_dir}…")

    def _model_written(self) -> None:
        # `trainer export` prints the model's path, then its card's.
        lines = [line.strip() for line in self.process.stdout.splitlines() if line.strip()]
        path = Path(lines[0]) if lines else None
        if path is None or not path.is_file():
            self._fail("The export finished but named no model file; see the log.")
            return
        self.exported_path = path
        self._set_state("exported", f"Exported {path.name}; it is now the {self.run_task()} model.")
        self.model_exported.emit(self.run_task(), str(path))

    # ---------------------------------------------------------------------------------------------- log

    def _append_log(self, text: str) -> None:
        """Append the process's output; a carriage return (a progress bar redrawing itself) rewrites the last line
        instead of adding one per update."""
        cursor = self.log.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        for piece in re.split(r"(\r\n|\r|\n)", text):
            if piece in ("\n", "\r\n"):
                cursor.insertText("\n")
                self._carriage_return = False
            elif piece == "\r":
                self._carriage_return = True
            elif piece:
                if self._carriage_return:
                    cursor.movePosition(QTextCursor.MoveOperation.StartOfBlock, QTextCursor.MoveMode.KeepAnchor)
                    cursor.removeSelectedText()
                    self._carriage_return = False
                cursor.insertText(piece)
        self.log.setTextCursor(cursor)
        self.log.ensureCursorVisible()

    def shutdown(self, msecs: int = 10000) -> None:
        """The app is closing: stop the run so it saves a checkpoint, and wait a while for it."""
        if self.job is not None:
            self.job.cancel()
        if self.process.running:
            self.process.stop()
            if not self.process.wait(msecs):
                self.process.stop()  # the second stop kills
                self.process.wait(2000)
        self.close()  # a top-level window of its own: it would otherwise outlive the main window
