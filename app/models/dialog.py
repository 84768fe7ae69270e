"""The model manager: official cards to download and verify, files to import, and which model runs per task.

Every slow step (download, verify, import check and copy; diagnostics, in its own window) runs as a JobRunner
job; the dialog only reacts to the job's signals, always through bound methods of this QObject so Qt queues them
onto the GUI thread.
Settings are written as soon as the user changes them: there is no OK/Cancel to forget.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
)

from sapiens_core import hub
from sapiens_core.cards import ModelCard, card_for_filename
from sapiens_core.errors import CheckpointError
from sapiens_core.licences import licence_for, write_licence_copy
from sapiens_core.memory_fit import MachineMemory, machine_memory
from sapiens_core.models_dir import (
    CHECKPOINT_SUFFIXES,
    Imported,
    Inventory,
    default_models_dir,
    import_checkpoint,
    remove_partial_download,
    task_from_name,
)
from sapiens_core.quick import install_hint, quick_available

from ..settings import TASKS, Settings
from ..workers import Job, JobCancelled, JobRunner
from .choice import DETECTOR, quick_note
from .diagnostics import DiagnosticsDialog
from .licence import LicenceDialog, ask_licence, licence_summary
from .table import ALL_CARDS, CardTableModel

DEVICES = ("auto", "cpu", "cuda")
DownloadFn = Callable[..., Path]  # like hub.download(card, models_dir, progress=callback) -> installed path
# Card ids being downloaded by any dialog: a download outlives a closed dialog, and two into one folder collide.
_downloading: set[str] = set()
_downloading_lock = threading.Lock()


class ModelManagerDialog(QDialog):
    settings_changed = Signal()  # a model choice, the enabled tasks or the device changed

    def __init__(
        self,
        settings: Settings,
        runner: JobRunner,
        parent=None,
        *,
        models_dir: Path | None = None,
        download_fn: DownloadFn = hub.download,
        machine: MachineMemory | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("ModelManagerDialog")
        self.setWindowTitle("Models")
        self.resize(980, 640)
        self.settings, self.runner = settings, runner
        self.models_dir = Path(models_dir) if models_dir else default_models_dir()
        self._download_fn = download_fn
        self.machine = machine or machine_memory()  # what a model may use: a card that cannot fit is not offered
        self.job: Job | None = None  # the download / verify / import in progress (one at a time)
        self._job_kind = ""
        self.diagnostics_dialog: DiagnosticsDialog | None = None
        self.error_box: QMessageBox | None = None
        self.inventory = Inventory(self.models_dir, [])
        self._build()
        self.refresh()

    # ---- layout
    def _build(self) -> None:
        self.task_filter = QComboBox(objectName="taskFilter")
        self.task_filter.addItem("all tasks", None)
        for task in dict.fromkeys(card.task for card in ALL_CARDS):  # every task a card is for, in card order
            self.task_filter.addItem(task, task)
        self.table_model = CardTableModel(self)
        self.table_model.set_machine_memory(self._memory_for_device())
        self.table = QTableView(objectName="cardTable")
        self.table.setModel(self.table_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.download_button = QPushButton("Download", objectName="downloadButton")
        self.verify_button = QPushButton("Verify", objectName="verifyButton")
        self.use_button = QPushButton("Use", objectName="useButton")
        self.import_button = QPushButton("Import file…", objectName="importButton")
        self.import_task = QComboBox(objectName="importTaskCombo")
        self.import_task.addItem("task from file name", None)
        for task in TASKS:
            self.import_task.addItem(task, task)
        self.progress = QProgressBar(objectName="progressBar", visible=False)
        self.cancel_button = QPushButton("Cancel", objectName="cancelButton", enabled=False)
        self.status = QLabel(objectName="statusLabel", wordWrap=True)
        self.licence_info = QLabel(objectName="licenceInfo", wordWrap=True, openExternalLinks=True)
        self.memory_info = QLabel(objectName="memoryInfo", wordWrap=True, visible=False)
        self.licence_dialog: LicenceDialog | None = None  # the licence asked for, while it is open
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        top = QHBoxLayout()
        top.addWidget(QLabel("Show:"))
        top.addWidget(self.task_filter)
        top.addStretch(1)
        top.addWidget(QLabel(f"Models folder: {self.models_dir}", objectName="modelsDirLabel"))
        actions = QHBoxLayout()
        for widget in (self.download_button, self.verify_button, self.use_button):
            actions.addWidget(widget)
        actions.addStretch(1)
        actions.addWidget(self.import_button)
        actions.addWidget(QLabel("as"))
        actions.addWidget(self.import_task)
        job_row = QHBoxLayout()
        job_row.addWidget(self.progress, 1)
        job_row.addWidget(self.cancel_button)

        chosen = QGroupBox("Models that run", objectName="taskSelectors")
        grid = QGridLayout(chosen)
        self.enabled_checks: dict[str, QCheckBox] = {}
        self.model_combos: dict[str, QComboBox] = {}
        enabled = self.settings.enabled_tasks()
        for row, task in enumerate(TASKS):
            check = QCheckBox(task, objectName=f"enabled_{task}", checked=task in enabled)
            combo = QComboBox(objectName=f"modelCombo_{task}")
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(48)
            check.toggled.connect(self._enabled_changed)
            combo.currentIndexChanged.connect(lambda _i, t=task: self._model_chosen(t))
            grid.addWidget(check, row, 0)
            grid.addWidget(combo, row, 1)
            self.enabled_checks[task], self.model_combos[task] = check, combo
        grid.setColumnStretch(1, 1)
        self.device_combo = QComboBox(objectName="deviceCombo")
        self.device_combo.addItems(DEVICES)
        self.device_combo.setCurrentText(self.settings.device if self.settings.device in DEVICES else "auto")
        self.device_combo.currentTextChanged.connect(self._device_changed)
        self.diagnostics_button = QPushButton("Diagnostics…", objectName="diagnosticsButton")
        device_row = QHBoxLayout()
        device_row.addWidget(QLabel("Device:"))
        device_row.addWidget(self.device_combo)
        device_row.addWidget(self.diagnostics_button)
        device_row.addStretch(1)
        grid.addLayout(device_row, len(TASKS), 0, 1, 2)
        self.quick_note = QLabel(objectName="quickNote", wordWrap=True)
        self.quick_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # copy the hint
        grid.addWidget(self.quick_note, len(TASKS) + 1, 0, 1, 2)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.licence_info)
        layout.addWidget(self.memory_info)
        layout.addLayout(actions)
        layout.addLayout(job_row)
        layout.addWidget(self.status)
        layout.addWidget(chosen)
        layout.addWidget(buttons)

        self.task_filter.currentIndexChanged.connect(self._filter_changed)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._update_buttons())
        self.download_button.clicked.connect(self.download_selected)
        self.verify_button.clicked.connect(self.verify_selected)
        self.use_button.clicked.connect(self.use_selected)
        self.import_button.clicked.connect(lambda: self.import_file())
        self.cancel_button.clicked.connect(self.cancel_job)
        self.diagnostics_button.clicked.connect(self.show_diagnostics)

    # ---- state shown
    def refresh(self) -> None:
        """Rescan the models folder and update the table, the per-task choices and the buttons."""
        self.inventory = Inventory.scan(self.models_dir)
        in_use = {self.settings.model_path(t) for t in (*TASKS, DETECTOR)}
        self.table_model.set_install_state(self.inventory, in_use)
        for task, combo in self.model_combos.items():
            current = self.settings.model_path(task)
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("(none)", "")
            for model, known in self.inventory.for_task(task):
                label = self.inventory.label(model)
                combo.addItem(label if known else f"{label} (task unknown)", str(model.path))
                combo.setItemData(combo.count() - 1, str(model.path), Qt.ItemDataRole.ToolTipRole)
            if current and combo.findData(current) < 0:
                # A file chosen elsewhere (e.g. on the command line or outside the folder) stays chosen, not lost.
                where = "missing" if not Path(current).is_file() else "outside the models folder"
                combo.addItem(f"{Path(current).name} ({where})", current)
            combo.setCurrentIndex(max(combo.findData(current), 0))
            combo.blockSignals(False)
        self.update_quick_note()
        self._update_buttons()

    def update_quick_note(self) -> None:
        self.quick_note.setText(quick_note(self.settings, quick_available(), install_hint()))

    def selected_card(self) -> ModelCard | None:
        return self.table_model.card_at(self.table.currentIndex().row())

    def select_card(self, card_id: str) -> bool:
        row = self.table_model.row_of(card_id)
        if row >= 0:
            self.table.selectRow(row)
        return row >= 0

    def _update_buttons(self) -> None:
        card = self.selected_card()
        installed = card is not None and self.table_model.installed_path(card) is not None
        idle = self.job is None
        too_big = self.table_model.too_big(card) if card is not None else ""
        self.download_button.setEnabled(idle and card is not None and not installed and not too_big)
        self.memory_info.setText(f"Not offered on this machine: {too_big}." if too_big else "")
        self.memory_info.setVisible(bool(too_big))
        self.verify_button.setEnabled(idle and installed)
        # A task the app does not run has no "Use"; the detector's is "Use as person detector".
        self.use_button.setEnabled(installed and card.task in (*TASKS, "detect"))
        self.licence_info.setText(licence_summary(card, self.settings) if card else "")
        self.licence_info.setVisible(bool(self.licence_info.text()))
        self.use_button.setText(
            ("Use as person detector" if card.task == "detect" else f"Use for {card.task}") if card else "Use"
        )
        self.import_button.setEnabled(idle)
        self.cancel_button.setEnabled(not idle)

    def _filter_changed(self) -> None:
        card = self.selected_card()
        self.table_model.set_task_filter(self.task_filter.currentData())
        if card is None or not self.select_card(card.id):
            self.table.clearSelection()
        self._update_buttons()

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet("color: #c0392b;" if error else "")
        self.status.setText(text)

    def _error(self, title: str, message: str) -> None:
        """Tell the user without blocking the event loop (open(), not exec())."""
        self._say(message, error=True)
        if self.error_box is not None:
            self.error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("modelsError")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.destroyed.connect(self._error_box_gone)
        box.open()
        self.error_box = box

    def _error_box_gone(self) -> None:
        self.error_box = None

    # ---- settings
    def _enabled_changed(self) -> None:
        self.settings.set_enabled_tasks({t for t, check in self.enabled_checks.items() if check.isChecked()})
        self.update_quick_note()
        self.settings_changed.emit()

    def _model_chosen(self, task: str) -> None:
        self.settings.set_model_path(task, self.model_combos[task].currentData() or "")
        self.table_model.set_install_state(self.inventory, {self.settings.model_path(t) for t in (*TASKS, DETECTOR)})
        self.update_quick_note()
        self.settings_changed.emit()

    def _device_changed(self, device: str) -> None:
        self.settings.device = device
        self.table_model.set_machine_memory(self._memory_for_device())
        self._update_buttons()
        self.settings_changed.emit()

    def _memory_for_device(self) -> MachineMemory:
        """The memory the chosen device gives a model: the GPU's, or the RAM when the CPU is chosen."""
        if self.settings.device == "cpu":
            return MachineMemory(None, "", self.machine.ram_bytes)
        return self.machine

    def use_model(self, task: str, path: Path) -> None:
        if task == "detect":  # the person detector: boxes before pose, not a task of its own
            self.settings.set_model_path(DETECTOR, str(path))
            self.settings.detect_persons = True
            self.refresh()
            self._say(f"{Path(path).name} now finds the persons before pose.")
            self.settings_changed.emit()
            return
        self.settings.set_model_path(task, str(path))
        self.enabled_checks[task].setChecked(True)  # choosing a model for a task means wanting that task to run
        self.refresh()
        self._say(f"{Path(path).name} now runs for {task}.")
        self.settings_changed.emit()

    def use_selected(self) -> None:
        card = self.selected_card()
        path = self.table_model.installed_path(card) if card else None
        if card is not None and path is not None:
            self.use_model(card.task, path)

    # ---- jobs
    def _start(self, kind: str, name: str, fn) -> Job:
        def connect(job: Job) -> None:
            job.progress.connect(self._job_progress)
            job.succeeded.connect(self._job_succeeded)
            job.failed.connect(self._job_failed)
            job.cancelled.connect(self._job_cancelled)
            job.finished.connect(self._job_finished)

        self.job, self._job_kind = self.runner.start(name, fn, connect), kind
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self._update_buttons()
        return self.job

    def cancel_job(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self._say(f"Cancelling {self.job.name}…")

    def _job_progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, max(total, 0))
        self.progress.setValue(min(done, total) if total else 0)
        self.progress.setFormat(f"{text} %p%" if total else text)

    def _job_succeeded(self, result) -> None:
        if self._job_kind == "download":
            self._say(f"Downloaded {Path(result).name}.")
        elif self._job_kind == "verify":
            self._say(str(result))
        elif self._job_kind == "import":
            self._imported(result)

    def _job_failed(self, message: str) -> None:
        self._error(
            {"download": "Download failed", "verify": "Verification failed", "import": "Cannot import"}.get(
                self._job_kind, "Failed"
            ),
            message,
        )

    def _job_cancelled(self) -> None:
        removed = "; partial files were removed" if self._job_kind in ("download", "import") else ""
        self._say(f"{self.job.name if self.job else 'Job'} cancelled{removed}.")

    def _job_finished(self) -> None:
        self.job, self._job_kind = None, ""
        self.progress.setVisible(False)
        self.refresh()

    def download_selected(self) -> None:
        """Download the selected card, after its licence is accepted where it has one that asks for it."""
        card = self.selected_card()
        if card is None or self.job is not None or self.licence_dialog is not None:
            return
        if reason := self.table_model.too_big(card):
            self._say(f"Not downloaded: {reason}.")
            return
        self.licence_dialog = ask_licence(self, self.settings, card, lambda: self._download(card))
        if self.licence_dialog is not None:
            self.licence_dialog.finished.connect(self._licence_closed)
            self._say(f"{card.id}: accept the {self.licence_dialog.licence.name} to download it.")

    def _licence_closed(self, result: int) -> None:
        self.licence_dialog = None
        if result != QDialog.DialogCode.Accepted:
            self._say("Licence declined; nothing was downloaded.")
        self._update_buttons()

    def _download(self, card) -> Job | None:
        if self.job is not None:
            return None
        with _downloading_lock:
            if card.id in _downloading:
                self._error("Download running", f"{card.id} is already being downloaded.")
                return None
            _downloading.add(card.id)
        models_dir, download, licence = self.models_dir, self._download_fn, licence_for(card)
        text = f"Downloading {card.id} (KiB)"

        def work(report):
            def progress(done: int, total: int) -> bool:
                try:  # KiB: the progress signal carries C ints, which overflow past 2 GiB
                    report(int(done) >> 10, int(total) >> 10, text)
                except JobCancelled:
                    return False  # hub.download then removes its staging files and raises DownloadCancelled
                return True

            try:
                report(0, 0, text)
                path = Path(download(card, models_dir, progress=progress))
                if licence is not None:  # the licence asks for a copy to travel with the weights
                    write_licence_copy(licence, path.parent)
                return path
            except (hub.DownloadCancelled, JobCancelled):
                remove_partial_download(models_dir / card.id)
                raise JobCancelled() from None
            finally:
                with _downloading_lock:
                    _downloading.discard(card.id)

        self._say(f"Downloading {card.id} from {card.hf_repo} (about {card.approx_bytes / 1e9:.1f} GB)…")
        return self._start("download", f"Download {card.id}", work)

    def verify_selected(self) -> Job | None:
        card = self.selected_card()
        path = self.table_model.installed_path(card) if card else None
        if card is None or path is None or self.job is not None:
            return None

        def work(report):
            from sapiens_core.backends import detect_format

            report(0, 0, f"Verifying {path.name}")
            verdict = hub.verify_file(path)
            fmt = detect_format(path)
            if fmt != card.backend_format:
                raise CheckpointError(f"{path.name} holds a {fmt} model, but {card.id} files are {card.backend_format}")
            return f"OK — {verdict}."

        self._say(f"Verifying {path}…")
        return self._start("verify", f"Verify {path.name}", work)

    def import_file(self, path: str | None = None) -> Job | None:
        """Ask for a file (unless given), then check and copy it in a job; the result shows when it ends."""
        if self.job is not None:
            return None
        if path is None:
            patterns = " ".join(f"*{s}" for s in CHECKPOINT_SUFFIXES)
            path, _ = QFileDialog.getOpenFileName(
                self, "Import a model file", self.settings.last_folder, f"Model files ({patterns});;All files (*)"
            )
        if not path:
            return None
        source = Path(path)
        card = card_for_filename(source.name)
        task = card.task if card else (self.import_task.currentData() or task_from_name(source.name))
        models_dir = self.models_dir
        self._say(f"Checking {source.name}…")
        return self._start(
            "import", f"Import {source.name}", lambda report: import_checkpoint(source, models_dir, task, report)
        )

    def _imported(self, result: Imported) -> None:
        self.refresh()
        what = "Imported" if result.copied else "Already installed:"
        if result.task is None:
            self._say(
                f"{what} {result.path.name} ({result.format}). Its task is not known from the name, so it is "
                "offered for every task below."
            )
            return
        if not self.settings.model_path(result.task):
            self.use_model(result.task, result.path)  # the first model of a task is the one a user wants to run
            self._say(f"{what} {result.path.name} ({result.format}); it now runs for {result.task}.")
        else:
            self._say(f"{what} {result.path.name} ({result.format}) for {result.task}; choose it below to run it.")

    # ---- diagnostics
    def show_diagnostics(self) -> QDialog:
        if self.diagnostics_dialog is None:
            self.diagnostics_dialog = DiagnosticsDialog(self.runner, self)
        self.diagnostics_dialog.refresh()
        return self.diagnostics_dialog
