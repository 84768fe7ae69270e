"""The main window: composes the canvas, the panels and the actions; owns no labels itself."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
)

from sapiens_core.annotation import Annotation
from sapiens_core.errors import SapiensError
from sapiens_core.io.images import IMAGE_SUFFIXES, find_images, read_image
from sapiens_core.pipeline import QUICK_MODEL_ID
from sapiens_core.project import RESULTS_FOLDER, is_document
from sapiens_core.quick import install_hint, quick_available
from sapiens_core.schema import class_schema

from .actions import ActionRegistry, ActionSpec
from .canvas import CanvasScene, CanvasView
from .canvas.tools.measure import MeasureTool
from .capture import CapturePanel
from .editing import DocumentModel
from .editing.canvas_editor import CanvasEditor
from .editing.history_actions import HistoryActions
from .editing.locations import document_path, is_fallback, open_project
from .editing.metric_depth import MetricDepthAction
from .editing.model_output import ModelOutput
from .editing.paint_editor import PaintEditor
from .editing.pose_in_box import PoseInBox
from .editing.workflow import Workflow
from .finetune.launcher import FinetuneLauncher
from .inference import InferenceController, load_existing
from .models.choice import DETECTOR, choose_models, describe_models
from .models.dialog import ModelManagerDialog
from .panels.file_list import FileListPanel
from .panels.history import HistoryPanel
from .panels.layers import LayersPanel
from .settings import Settings
from .view3d import View3DWidget
from .workers import JobRunner

log = logging.getLogger(__name__)
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v"}


class MainWindow(QMainWindow):
    annotation_shown = Signal(str)  # path whose results are on the canvas (tests and --screenshot wait for it)

    def __init__(self, settings: Settings | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Sapiens Studio")
        self.setObjectName("MainWindow")
        self.setAcceptDrops(True)
        self.settings = settings or Settings()
        self.runner = JobRunner(self)
        self.inference = InferenceController(self.runner, self)
        self.current_path: str | None = None
        self.current_image = None
        # The open documents and their histories; the canvas and panels only render ``documents.current``.
        self.documents = DocumentModel(parent=self)
        self.history_actions = HistoryActions(self.documents, self)
        self.model_output = ModelOutput(self.documents, self)  # Run's results merged into documents, then saved
        self.model_overrides: dict[str, str] = {}

        self.scene = CanvasScene(self)
        self.view = CanvasView(self.scene)
        self.setCentralWidget(self.view)
        self.scene.apply_style(self.settings.layer_style())

        self.files = FileListPanel()
        self.layers = LayersPanel(self.scene.style)
        self.capture = CapturePanel()
        self.capture.set_models_provider(lambda: (self.model_paths(), self.device_combo.currentText()))
        self.capture.apply_style(self.scene.style)
        self.view3d = View3DWidget(self.runner)
        self._dock("Images", self.files, Qt.DockWidgetArea.LeftDockWidgetArea)
        layers_dock = self._dock("Layers", self.layers, Qt.DockWidgetArea.RightDockWidgetArea)
        self.view3d_dock = self._dock("3D", self.view3d, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(layers_dock, self.view3d_dock)
        self.history = HistoryPanel(self.documents)
        self.history_dock = self._dock("History", self.history, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(layers_dock, self.history_dock)
        # Keypoint and person editing on the canvas (tools, the keypoint list, Edit/Person actions).
        self.editor = CanvasEditor(self.documents, self.scene, self.view, self)
        self.keypoints_dock = self._dock("Keypoints", self.editor.panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(layers_dock, self.keypoints_dock)
        # Painting the body-part map and the person mask (tools, class picker, the Paint menu); built after the
        # keypoint editor so a paint tool gets the canvas's mouse first.
        self.painter = PaintEditor(self.documents, self.scene, self.view, self.layers, self)
        self.parts_dock = self._dock("Body parts", self.painter.panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(layers_dock, self.parts_dock)
        # Metric distances on the canvas (pointmap or metric depth); last, so its clicks come first while on.
        self.measure = MeasureTool(self.view, self.scene, self.documents, self)
        self.metric_depth = MetricDepthAction(self.documents, self)  # View → Make depth metric… (v1 depth)
        layers_dock.raise_()  # the 3D view builds its cloud only once it is shown
        self.capture_dock = self._dock("Capture", self.capture, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.capture_dock.hide()  # opened by a video, a camera or the View menu
        self.models_dialog: ModelManagerDialog | None = None

        self.progress = QProgressBar(maximumWidth=220, visible=False)
        self.cancel_button = QPushButton("Cancel", visible=False)
        self.device_combo = QComboBox()
        self.device_combo.addItems(["auto", "cpu", "cuda"])
        self.device_combo.setCurrentText(self.settings.device)
        self.device_badge = QLabel("no models loaded")
        self.device_badge.setObjectName("deviceBadge")
        self.hover_label = QLabel()
        bar = self.statusBar()
        bar.addWidget(self.hover_label, 1)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)
        bar.addPermanentWidget(QLabel("Device:"))
        bar.addPermanentWidget(self.device_combo)
        bar.addPermanentWidget(self.device_badge)

        # Autosave and recovery, the review panel, file-list states and Export (registers its actions below).
        self.workflow = Workflow(self)
        self.finetune = FinetuneLauncher(self)  # Run → Finetune…: the trainer as a child process
        self.actions = ActionRegistry(self)
        self._register_actions()
        self.actions.build_menus()
        self.actions.build_toolbar()

        self.files.current_changed.connect(self.show_image)
        self.documents.opened.connect(self._show_document)
        self.documents.changed.connect(self._document_changed)
        self.layers.style_changed.connect(self._style_changed)
        self.scene.keypoint_hovered.connect(self.hover_label.setText)
        self.editor.tool.message.connect(lambda m: self.statusBar().showMessage(m, 5000))
        self.painter.controller.message.connect(lambda m: self.statusBar().showMessage(m, 5000))
        self.measure.message.connect(lambda m: self.statusBar().showMessage(m, 15000))
        self.metric_depth.message.connect(lambda m: self.statusBar().showMessage(m, 15000))
        self.painter.settled.connect(lambda: self.view3d.set_data(self.current_image, self.annotation))
        pose = PoseInBox(self.documents, self.inference, lambda: self.model_paths().get("pose"), self._device, self)
        self.editor.attach_pose(pose)  # a drawn person's box gets the chosen pose model run inside it
        self.inference.image_done.connect(self._image_done)
        self.inference.image_failed.connect(lambda p, m: self.statusBar().showMessage(f"{Path(p).name}: {m}", 8000))
        self.model_output.failed.connect(lambda p, m: self.notify("Results not saved", f"{Path(p).name}: {m}"))
        self.inference.pipeline_ready.connect(self.device_badge.setText)
        self.inference.pipeline_failed.connect(lambda m: self.device_badge.setText("model error"))
        self.device_combo.currentTextChanged.connect(self._device_changed)
        self.cancel_button.clicked.connect(self.runner.cancel_all)
        self.runner.job_started.connect(self._job_started)
        # The runner's own signal: it fires after the job left `active`, so the last job hides the bar.
        self.runner.job_finished.connect(self._job_finished)
        self.capture.snapshot_taken.connect(self._snapshot_taken)
        self.view3d.point_picked.connect(self.show_pixel)
        self.settings.restore_window(self)
        self.refresh_models()  # the badge says what Run will use (the quick model on a fresh install)

    def notify(self, title: str, message: str) -> QMessageBox:
        """Tell the user without blocking the event loop (open(), not exec())."""
        log.warning("%s: %s", title, message)
        self.statusBar().showMessage(f"{title}: {message}", 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("notification")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def _dock(self, title: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _register_actions(self) -> None:
        add = self.actions.add
        add(ActionSpec("open", "&Open images…", "&File", "Ctrl+O", toolbar=True), self.open_images_dialog)
        add(ActionSpec("open_folder", "Open &folder…", "&File", "Ctrl+Shift+O"), self.open_folder_dialog)
        self.history_actions.register(self.actions)  # Save (File), Undo and Redo (Edit)
        self.editor.register(self.actions)  # keypoint and person commands (Edit, Person)
        self.painter.register(self.actions)  # the Paint menu: brush, eraser, fills, brush size
        self.measure.register(self.actions)  # View → Measure distance (M)
        self.metric_depth.register(self.actions)  # View → Make depth metric… (Shift+M)
        self.workflow.register(self.actions)  # Export (File), the Review menu
        add(ActionSpec("quit", "&Quit", "&File", "Ctrl+Q"), self.close)
        add(ActionSpec("next", "&Next image", "&View", "D"), lambda: self.files.step(1))
        add(ActionSpec("previous", "&Previous image", "&View", "A"), lambda: self.files.step(-1))
        add(ActionSpec("fit", "&Fit to window", "&View", "F"), self.view.fit)
        add(ActionSpec("run", "&Run on this image", "&Run", "Ctrl+R", toolbar=True), self.run_current)
        add(ActionSpec("run_all", "Run on &all images", "&Run", "Ctrl+Shift+R", toolbar=True), self.run_all)
        add(ActionSpec("cancel", "&Cancel running jobs", "&Run", "Esc"), self.runner.cancel_all)
        add(ActionSpec("models", "&Models…", "&Run", "Ctrl+M", toolbar=True), self.open_models_dialog)
        self.finetune.register(self.actions)
        add(
            ActionSpec(
                "quick_pose",
                "&Quick pose model (MediaPipe, CPU)",
                "&Run",
                checkable=True,
                tip="Pose from the quick CPU model: no download, a fraction of a second an image. By default it "
                "runs when no Sapiens pose checkpoint is chosen; check it to prefer it anyway.",
            ),
            self._quick_pose_toggled,
        )
        add(
            ActionSpec(
                "detect_persons",
                "&Detect persons before pose",
                "&Run",
                checkable=True,
                tip="One box per person, then pose inside each (several people per image): the installed "
                "official detector, else the body-part model's foreground. Off: the whole image is one person.",
            ),
            self._detect_persons_toggled,
        )
        for value, text, tip in (
            ("auto", "Precision: &Faithful (default)", "Each model file in the dtype its official scripts run it in"),
            ("bf16", "Precision: &bf16 (faster on GPU)", "fp32 models autocast to bf16: results within bf16 tolerance"),
        ):
            spec = ActionSpec(f"precision_{value}", text, "&Run", group="precision", tip=tip)
            add(spec, partial(self._precision, value))
        self.model_output.register(self.actions)
        add(ActionSpec("open_video", "Open &video…", "&File", "Ctrl+Shift+V"), self._open_video_dialog)
        add(ActionSpec("capture", "&Capture panel", "&View", "Ctrl+Shift+C"), self._show_capture)
        add(ActionSpec("view3d", "&3D view", "&View", "Ctrl+3"), self._show_3d)

    # ---- opening
    def add_paths(self, paths) -> int:
        # A project folder (documents, as `predict --out` writes them) opens as its documents' images, whose labels
        # stay in it; its side files and overlays are no images to label.
        projects = [Path(p) for p in paths if Path(p).is_dir() and any(map(is_document, Path(p).glob("*.json")))]
        images = [image for folder in projects for image in open_project(folder)]
        others = [Path(p) for p in paths if Path(p).exists() and Path(p) not in projects]
        found = find_images(others)
        # A processed folder holds our results folder (part maps, overlays as PNG): those are not images to label.
        images += [p for p in found if Path(p).parent.name != RESULTS_FOLDER]
        added = self.files.add_paths(images)
        for p in images:
            if document_path(p).is_file():
                self.files.set_done(str(p))
        if images and self.files.current_path() is None:
            self.files.select(str(images[0]))
        if images:
            self.settings.last_folder = str(Path(images[0]).parent)
        return added

    def open_images_dialog(self) -> None:
        patterns = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
        paths, _ = QFileDialog.getOpenFileNames(self, "Open images", self.settings.last_folder, f"Images ({patterns})")
        self.add_paths(paths)

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open folder", self.settings.last_folder)
        if folder:
            self.add_paths([folder])

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        videos = [p for p in paths if Path(p).suffix.lower() in VIDEO_SUFFIXES]
        self.add_paths([p for p in paths if p not in videos])
        if videos:
            self.open_video(videos[0])
        event.acceptProposedAction()

    def open_video(self, path: str) -> None:
        self._show_capture()
        self.capture.open_video(path)

    def _open_video_dialog(self) -> None:
        self._show_capture()
        self.capture.open_video_dialog()

    def _show_capture(self) -> None:
        self.capture_dock.show()
        self.capture_dock.raise_()

    def _show_3d(self) -> None:
        self.view3d_dock.show()
        self.view3d_dock.raise_()

    def _snapshot_taken(self, path: str) -> None:
        """A frame saved from the camera or video joins the list, with its predictions, ready to correct."""
        self.add_paths([path])
        self.files.set_done(path, load_existing(path) is not None)
        self.files.select(str(Path(path)))

    def show_pixel(self, x: int, y: int) -> None:
        """Centre the canvas on a pixel picked in the 3D view and ring it."""
        self.scene.show_marker(x, y)
        self.view.centerOn(x + 0.5, y + 0.5)
        self.statusBar().showMessage(f"pixel ({x}, {y})", 5000)

    # ---- models
    def open_models_dialog(self) -> ModelManagerDialog:
        if self.models_dialog is None:
            self.models_dialog = ModelManagerDialog(self.settings, self.runner, self)
            self.models_dialog.settings_changed.connect(self.refresh_models)
        self.models_dialog.refresh()
        self.models_dialog.show()
        self.models_dialog.raise_()
        return self.models_dialog

    def refresh_models(self) -> None:
        """The dialog writes the settings; take over its device and show what will run."""
        self.device_combo.setCurrentText(self.settings.device)
        models = self.model_paths()
        self.device_badge.setText(describe_models(models))
        self.actions["quick_pose"].setChecked(models.get("pose") == QUICK_MODEL_ID)
        detect = self.actions["detect_persons"]  # setChecked does not trigger it: only a user's click does
        detect.setChecked(DETECTOR in models if self.model_overrides else self.settings.detect_persons)
        detect.setEnabled(not self.model_overrides)  # models from the command line are exactly what runs
        self.actions[f"precision_{self.settings.precision}"].setChecked(True)
        if self.models_dialog is not None:
            self.models_dialog.update_quick_note()

    def _precision(self, value: str) -> None:
        self.settings.precision = value
        self.refresh_models()  # the badge names it; the next Run opens the models in it

    def _detect_persons_toggled(self, checked: bool) -> None:
        self.settings.detect_persons = checked
        self.refresh_models()

    def _quick_pose_toggled(self, checked: bool) -> None:
        if checked and not quick_available():
            self.notify("Quick model not installed", f"Install it with: {install_hint()}")
            checked = False
        # An explicit choice either way: "on" keeps it even beside a Sapiens pose checkpoint, "off" never runs it.
        self.settings.quick_pose = "on" if checked else "off"
        self.refresh_models()

    # ---- showing
    @property
    def annotation(self) -> Annotation | None:
        """The document on screen (owned by ``documents``; edit it through ``documents.push``)."""
        entry = self.documents.current
        return entry.doc if entry is not None else None

    def show_image(self, path: str) -> None:
        try:
            image = read_image(path)
        except SapiensError as exc:
            self.notify("Cannot open", str(exc))
            return
        doc, problem = None, None
        if self.documents.entry(path) is None:  # an image opened before keeps its document, history and edits
            try:
                doc = load_existing(path)
            except SapiensError as exc:  # malformed, foreign or newer: the image shows, the file stays as it is
                problem = str(exc)
        self.current_path, self.current_image = path, image
        self.scene.set_image(image)
        self.documents.open(path, document_path(path), doc)  # -> _show_document
        self.view.fit()
        if is_fallback(path):
            self.statusBar().showMessage(
                f"{Path(path).parent} cannot be written: labels of its images are kept in {document_path(path).parent}",
                15000,
            )
        if problem:
            self.notify(
                "Labels not read",
                f"{problem}\n\nThe file is left as it is and nothing is saved over it; "
                "move or repair it to label this image.",
            )

    def set_annotation(self, doc: Annotation | None) -> None:
        """Show ``doc`` as the current image's document with a fresh history (scripts, tests)."""
        path = self.current_path or (doc.image_path if doc is not None else "")
        self.documents.replace(path, document_path(path), doc)

    def _show_document(self, entry) -> None:
        doc = entry.doc if entry is not None else None
        self.scene.set_annotation(doc)
        self.layers.set_persons(doc.persons if doc else [])
        self.layers.set_classes(class_schema(doc.class_schema) if doc and doc.class_schema else None)
        self.view3d.set_data(self.current_image, doc)
        if doc is not None and self.current_path:
            self.annotation_shown.emit(self.current_path)

    def _document_changed(self, change) -> None:
        """Repaint what an edit, undo or redo touched: one person's item for a point edit, all for the rest."""
        doc = self.annotation
        if change.structure:
            self._show_document(self.documents.current)
            return
        if change.layers:
            self.painter.layers_changed(change)  # only the tiles a stroke touched
        if change.boxes:
            self.scene.refresh_boxes()
        index = {p.id: i for i, p in enumerate(doc.persons)}
        for pid in change.persons:
            if pid in index:
                self.scene.refresh_person(index[pid])

    def _style_changed(self, style) -> None:
        self.scene.apply_style(style)
        self.capture.apply_style(style)
        self.settings.set_layer_style(style)

    # ---- running models
    def model_paths(self) -> dict[str, str]:
        """What Run uses: ``{task: checkpoint path or QUICK_MODEL_ID}`` (see :mod:`.model_choice`)."""
        return choose_models(self.settings, self.model_overrides, quick_available)

    def _device(self) -> str:
        return self.device_combo.currentText()

    def _device_changed(self, device: str) -> None:
        self.settings.device = device

    def _check_models(self) -> dict[str, str] | None:
        models = self.model_paths()
        if not models:
            hint = (
                ""
                if quick_available()
                else f" Or install the quick pose model, which needs no download: {install_hint()}"
            )
            self.notify("No models", f"Choose at least one model in the model manager first.{hint}")
            return None
        return models

    def run_current(self, connect=None):
        if self.current_path is None or (models := self._check_models()) is None:
            return None
        return self.inference.predict(
            [self.current_path], models, self.device_combo.currentText(), "Predict image", connect
        )

    def run_all(self, connect=None):
        paths = self.files.paths()
        if not paths or (models := self._check_models()) is None:
            return None
        return self.inference.predict(paths, models, self.device_combo.currentText(), "Predict all", connect)

    def _image_done(self, path: str, doc: Annotation) -> None:
        if self.model_output.apply(path, doc):  # merged keeping corrections, saved; the canvas follows
            self.files.set_done(path)

    def _job_started(self, job) -> None:
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.progress.setRange(0, 0)
        job.progress.connect(self._job_progress)
        job.failed.connect(lambda msg: self.notify("Job failed", msg))

    def _job_progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, max(total, 0))
        self.progress.setValue(done)
        self.progress.setFormat(f"{text} %v/%m" if total else text)

    def _job_finished(self, _job=None) -> None:
        if not self.runner.active:
            self.progress.setVisible(False)
            self.cancel_button.setVisible(False)

    def closeEvent(self, event) -> None:
        self.capture.shutdown()
        self.view3d.close_viewers()
        self.runner.cancel_all()
        self.runner.wait(5000)
        self.inference.close()
        self.workflow.close()  # writes pending recovery files: unsaved edits survive the window
        self.settings.save_window(self)
        self.settings.sync()
        super().closeEvent(event)
