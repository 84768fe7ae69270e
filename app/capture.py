"""The capture panel: a camera or a video file, annotated live by the chosen models, with snapshots.

The panel only drives and displays; reading and inference run in a ``CaptureSession`` (see
``capture_worker``), so the GUI thread never waits on a camera, a decoder or a model. It shows the newest
result only, and what is on screen is what a snapshot saves: when paused, results read before the pause are
ignored, so the display stays frozen on the frame the user saw.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QStandardPaths, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QToolButton,
                               QVBoxLayout, QWidget)

from .canvas import CanvasScene, CanvasView, LayerStyle
from .capture_worker import (CaptureResult, CaptureSession, PipelineHolder, SourceInfo, probe_cameras,
                             source_label, write_snapshot)

log = logging.getLogger(__name__)

SNAPSHOT_FOLDER = "sapiens_studio_snapshots"
VIDEO_FILTER = "Videos (*.mp4 *.avi *.mkv *.mov *.webm *.m4v);;All files (*)"
CHOOSE_FILE = "choose"


class CapturePanel(QWidget):
    snapshot_taken = Signal(str)      # PNG path; its annotation (if any) is already saved beside it
    frame_shown = Signal(int)         # frame index now on screen, with its annotation
    state_changed = Signal(str)       # "idle", "opening", "paused", "playing"
    _snapshot_done = Signal(str, str)  # PNG path, error ("" on success): from the writer thread
    _cameras_found = Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("CapturePanel")
        self.realtime = True                      # video files at native fps, dropping frames; False: every frame
        self.snapshot_folder: Path | None = None  # None: beside the video, or in Pictures for a camera
        self.frames_shown = 0
        self.shown_index: int | None = None       # frame index of the shown result (None before the first)
        self.current_frame: np.ndarray | None = None
        self.current_annotation = None
        self.state = "idle"
        self._source: int | str | None = None
        self._shown_source: int | str | None = None
        self._session: CaptureSession | None = None
        self._old_sessions: list[CaptureSession] = []
        self._holder = PipelineHolder()
        self._model_key: Any = None
        self._factory: Callable[[], Any] | None = None
        self._models_provider: Callable[[], tuple[dict[str, str], str]] | None = None
        self._token = 0
        self._play_token: int | None = None
        self._step_tokens: set[int] = set()
        self._autoplay = False
        self._dropped_before = 0                  # drops of earlier sessions since the counters were reset
        self._shown_times: collections.deque = collections.deque(maxlen=30)
        self._snapshot_names: set[Path] = set()
        self._writers: list[threading.Thread] = []
        self._build()
        self._snapshot_done.connect(self._on_snapshot_done)
        self._cameras_found.connect(self._fill_cameras)
        self.refresh_cameras()
        self._set_state("idle")

    # ------------------------------------------------------------------------------------------- widgets
    def _build(self) -> None:
        self.source_combo = QComboBox()
        self.source_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.source_combo.addItem("Video file…", CHOOSE_FILE)
        self.refresh_button = QToolButton(text="↻", toolTip="Look for cameras again")
        self.start_button, self.pause_button, self.step_button, self.stop_button, self.snapshot_button = (
            QPushButton(text) for text in ("Start", "Pause", "Step", "Stop", "Snapshot to annotate"))
        self.step_button.setToolTip("Show the next frame (while paused)")
        self.snapshot_button.setToolTip("Save the shown frame and its annotation, and add it to the images")
        self.scene = CanvasScene(self)
        self.view = CanvasView(self.scene)
        self.message_label = QLabel(objectName="captureMessage", wordWrap=True)
        self.stats_label = QLabel(objectName="captureStats")

        source_row = QHBoxLayout()
        source_row.addWidget(QLabel("Source:"))
        source_row.addWidget(self.source_combo, 1)
        source_row.addWidget(self.refresh_button)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.step_button, self.stop_button, self.snapshot_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(source_row)
        layout.addLayout(buttons)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.message_label)
        layout.addWidget(self.stats_label)

        self.source_combo.activated.connect(self._source_chosen)
        self.refresh_button.clicked.connect(self.refresh_cameras)
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.pause)
        self.step_button.clicked.connect(self.step_frame)
        self.stop_button.clicked.connect(self.stop)
        self.snapshot_button.clicked.connect(self.snapshot)

    @property
    def message(self) -> str:
        return self.message_label.text()

    def _say(self, text: str) -> None:
        self.message_label.setText(text)
        if text:
            log.info("capture: %s", text)

    def _set_state(self, state: str) -> None:
        self.state = state
        live = state in ("opening", "paused", "playing")
        self.start_button.setEnabled(state != "playing")
        self.start_button.setText("Resume" if state == "paused" and self._play_token is not None else "Start")
        self.pause_button.setEnabled(state in ("playing", "opening"))
        self.step_button.setEnabled(state != "playing" and (live or isinstance(self._source, str)))
        self.stop_button.setEnabled(live)
        self.snapshot_button.setEnabled(self.current_frame is not None)
        self.state_changed.emit(state)

    # ------------------------------------------------------------------------------------------- models
    def set_models(self, paths: dict[str, str], device: str = "auto") -> None:
        """Which checkpoints run on the frames ({task: path}); loaded off the GUI thread, once, and kept while
        unchanged. A change while capturing applies from the next frame."""
        paths = {t: str(p) for t, p in paths.items() if p}
        if not paths:
            self.set_pipeline_factory(None)
            return
        from sapiens_core.pipeline import Pipeline
        self._model_key = ("models", tuple(sorted(paths.items())), device)
        self._factory = partial(Pipeline.from_paths, paths, device=device)
        if self._session is not None:
            self._session.set_models(self._model_key, self._factory)

    def set_models_provider(self, provider: Callable[[], tuple[dict[str, str], str]] | None) -> None:
        """A callable answering ``(paths, device)``, asked (on the GUI thread) at each open, Start and Step, so the
        panel always runs what the main window currently has chosen."""
        self._models_provider = provider

    def _refresh_models(self) -> None:
        if self._models_provider is not None:
            paths, device = self._models_provider()
            self.set_models(paths, device)

    def set_pipeline_factory(self, factory: Callable[[], Any] | None, key: Any = None) -> None:
        """A callable returning an object with ``run([Frame]) -> [Annotation]`` (and optionally ``close()``);
        called once off the GUI thread. None: show the frames without models. The panel closes what the
        factory returned when the models change and at ``shutdown``."""
        self._factory = factory
        self._model_key = ("factory", factory if key is None else key)
        if self._session is not None:
            self._session.set_models(self._model_key, self._factory)

    def apply_style(self, style: LayerStyle) -> None:
        self.scene.apply_style(style)

    # ------------------------------------------------------------------------------------------- sources
    def refresh_cameras(self) -> None:
        """Probe camera indices in the background; the combo is filled when the answer comes."""
        def probe():
            try:
                self._cameras_found.emit(probe_cameras())
            except RuntimeError:  # the panel was deleted meanwhile
                pass
            except Exception:  # a broken camera driver: no cameras listed, files still work
                log.exception("probing cameras")
        threading.Thread(target=probe, name="camera-probe", daemon=True).start()

    def _fill_cameras(self, indices: list) -> None:
        combo = self.source_combo
        for i in reversed(range(combo.count())):
            if isinstance(combo.itemData(i), int):
                combo.removeItem(i)
        for n, index in enumerate(indices):
            combo.insertItem(n, f"Camera {index}", index)
        self._select_source_item()

    def _select_source_item(self) -> None:
        index = self.source_combo.findData(self._source) if self._source is not None else -1
        if index >= 0:
            self.source_combo.setCurrentIndex(index)

    def _source_chosen(self, row: int) -> None:
        data = self.source_combo.itemData(row)
        if data == CHOOSE_FILE:
            self._select_source_item()  # until a file is chosen, the combo keeps showing the current source
            self.open_video_dialog()
        elif isinstance(data, int):
            self.open_camera(data)
        elif data:
            self.open_video(data)

    def open_video_dialog(self) -> None:
        folder = str(Path(self._source).parent) if isinstance(self._source, str) else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open video", folder, VIDEO_FILTER)
        if path:
            self.open_video(path)

    def open_video(self, path: str | os.PathLike) -> None:
        """Open a video file, show its first frame and wait (paused) for Start or Step."""
        path = str(path)
        self._end_session()
        self._refresh_models()
        self._source = path
        if self.source_combo.findData(path) < 0:
            self.source_combo.insertItem(self.source_combo.count() - 1, Path(path).name, path)
        self._select_source_item()
        self._open_session(autoplay=False)

    def open_camera(self, index: int) -> None:
        """Choose a camera; it is opened (and its light goes on) at Start."""
        self._end_session()
        self._source = int(index)
        self._select_source_item()
        self._say(f"Camera {index} selected: press Start")
        self._set_state("idle")

    # ------------------------------------------------------------------------------------------- control
    def start(self) -> None:
        if self.state == "playing":
            return
        self._refresh_models()
        if self.state == "idle":
            if self._source is None:
                self._say("Choose a camera or a video file first")
                return
            self._open_session(autoplay=True)
        elif self.state == "opening":
            self._autoplay = True
        else:
            self._play()

    def pause(self) -> None:
        if self.state == "opening":
            self._autoplay = False
            return
        if self.state != "playing":
            return
        self._session.command("pause")
        self._play_token = -1  # results read before the pause are no longer shown
        if not self._session.is_camera:
            # Carry on (Step/Resume) from the frame after the one on screen, not from where the reader got to.
            self._session.command("seek", 0 if self.shown_index is None else self.shown_index + 1)
        self._set_state("paused")
        self._say("paused")

    def step_frame(self) -> None:
        """Show the next frame with its annotation (pauses first when playing)."""
        if self.state == "playing":
            self.pause()
        self._refresh_models()
        if self.state == "idle":
            if not isinstance(self._source, str):
                return
            self._open_session(autoplay=False)
        self._token += 1
        self._step_tokens.add(self._token)
        self._session.command("step", self._token)

    def stop(self) -> None:
        if self._session is None:
            return
        self._end_session()
        self._say("stopped")
        self._set_state("idle")

    def _play(self) -> None:
        self._token += 1
        self._play_token = self._token
        self._session.command("play", self._token)
        self._set_state("playing")
        self._say(f"playing {source_label(self._source)}")

    # ------------------------------------------------------------------------------------------- sessions
    def _open_session(self, autoplay: bool) -> None:
        self._end_session()
        self.frames_shown, self._dropped_before, self.shown_index = 0, 0, None
        self._shown_times.clear()
        session = CaptureSession(self._source, self._holder, self._model_key, self._factory, self.realtime)
        # Bound methods, so Qt drops the connections if the panel is deleted first; the slots ask sender()
        # which session spoke, and ignore any but the current one.
        session.opened.connect(self._on_opened)
        session.failed.connect(self._on_failed)
        session.status.connect(self._on_status)
        session.result_ready.connect(self._on_result)
        session.finished.connect(self._on_finished)
        self._session, self._autoplay, self._play_token = session, autoplay, None
        self._step_tokens.clear()
        self._say(f"opening {source_label(self._source)}…")
        self._set_state("opening")
        session.start()

    def _current_sender(self) -> CaptureSession | None:
        sender = self.sender()
        return sender if sender is not None and sender is self._session else None

    def _end_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            self._dropped_before += session.dropped
            session.stop()
            # Keep it referenced until its threads are gone: they still emit (ignored) signals.
            self._old_sessions = [s for s in self._old_sessions if not s.join(0)] + [session]
        self._play_token = None

    def _on_opened(self, info: SourceInfo, first: np.ndarray | None) -> None:
        if (session := self._current_sender()) is None:
            return
        if first is not None and not session.is_camera:
            self._display(first, None, fit=True)  # the first frame as a preview, without overlays
        count = f", {info.frame_count} frames" if info.frame_count else ""
        self._say(f"{info.label}: {info.width}×{info.height}, {info.fps:.3g} fps{count}")
        self._set_state("paused")
        if self._autoplay:
            self._play()

    def _on_status(self, text: str) -> None:
        if self._current_sender() is not None:
            self.stats_label.setText(text)

    def _on_failed(self, message: str) -> None:
        if (session := self._current_sender()) is None:
            return
        self._end_session()
        if isinstance(self._source, str) and session.unreadable:
            # Not a readable video: forget it as a source so Start does not try it again.
            row = self.source_combo.findData(self._source)
            if row >= 0:
                self.source_combo.removeItem(row)
            self._source = None
        self._say(message)
        self._set_state("idle")

    def _on_finished(self, reason: str) -> None:
        if (session := self._current_sender()) is None:
            return
        self._end_session()
        self._say(reason)  # the last frame and its annotation stay on screen, ready for a snapshot
        self._set_state("idle")

    def _on_result(self) -> None:
        if (session := self._current_sender()) is None:
            return
        result: CaptureResult | None = session.results.take_nowait()
        if result is None:
            return
        if result.token in self._step_tokens:
            self._step_tokens.discard(result.token)
        elif result.token != self._play_token:
            return  # read before a pause: the display stays frozen
        self._display(result.rgb, result.doc, fit=self.shown_index is None)
        self.shown_index = result.index
        self.frames_shown += 1
        self._update_stats(result, session)
        self.frame_shown.emit(result.index)

    def _display(self, rgb: np.ndarray, doc, fit: bool) -> None:
        resized = self.current_frame is None or self.current_frame.shape != rgb.shape
        self.scene.set_image(rgb)
        self.scene.set_annotation(doc)
        self.current_frame, self.current_annotation = rgb, doc
        self._shown_source = self._source  # snapshots are named after what is on screen, even after a switch
        if fit or resized:
            self.view.fit()
        self.snapshot_button.setEnabled(True)

    def _update_stats(self, result: CaptureResult, session: CaptureSession) -> None:
        now = time.perf_counter()
        self._shown_times.append(now)
        times = self._shown_times
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
        info = session.info
        position = f"frame {result.index + 1}/{info.frame_count}" if info and info.frame_count \
            else f"frame {result.index}"
        self.stats_label.setText(f"{position} · {fps:.1f} fps · latency {(now - result.t_read) * 1000:.0f} ms · "
                                 f"model {result.infer_s * 1000:.0f} ms · dropped {self.frames_dropped}")

    @property
    def frames_dropped(self) -> int:
        """Frames read but never shown because a newer one replaced them (since the last open)."""
        return self._dropped_before + (self._session.dropped if self._session else 0)

    @property
    def session(self) -> CaptureSession | None:
        return self._session

    # ------------------------------------------------------------------------------------------- snapshots
    def default_snapshot_folder(self) -> Path:
        if isinstance(self._shown_source, str):
            beside = Path(self._shown_source).parent
            if os.access(beside, os.W_OK):
                return beside / SNAPSHOT_FOLDER
        pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
        return Path(pictures or Path.home()) / SNAPSHOT_FOLDER

    def snapshot(self) -> Path | None:
        """Save the shown frame (lossless PNG) and its annotation in the background; ``snapshot_taken`` follows.
        Returns the PNG path it will have."""
        if self.current_frame is None:
            self._say("Nothing to snapshot yet")
            return None
        folder = Path(self.snapshot_folder) if self.snapshot_folder else self.default_snapshot_folder()
        source = self._shown_source
        if isinstance(source, str):
            stem = f"{Path(source).stem}_frame{self.shown_index or 0:06d}"
        else:
            stem = f"camera{source if source is not None else ''}_{time.strftime('%Y%m%d-%H%M%S')}"
        png = folder / f"{stem}.png"
        n = 1
        while png.exists() or png in self._snapshot_names:
            png = folder / f"{stem}-{n}.png"
            n += 1
        self._snapshot_names.add(png)
        rgb, doc = self.current_frame, self.current_annotation

        def write():
            try:
                write_snapshot(png, rgb, doc)
                error = ""
            except Exception as exc:  # disk full, no permission: tell the user, keep running
                log.exception("snapshot")
                error = str(exc)
            try:
                self._snapshot_done.emit(str(png), error)
            except RuntimeError:  # the panel was deleted meanwhile; the files are written all the same
                pass

        writer = threading.Thread(target=write, name="capture-snapshot")
        self._writers = [w for w in self._writers if w.is_alive()] + [writer]
        writer.start()
        return png

    def _on_snapshot_done(self, png: str, error: str) -> None:
        self._snapshot_names.discard(Path(png))
        if error:
            self._say(f"Snapshot failed: {error}")
            return
        self._say(f"snapshot saved: {png}")
        self.snapshot_taken.emit(png)

    # ------------------------------------------------------------------------------------------- shutdown
    def shutdown(self, timeout: float = 5.0) -> bool:
        """Stop capturing, finish pending snapshots, release the models. True when every thread ended in time
        (an inference still running is left to finish in the background; its threads are daemons)."""
        self._end_session()
        self._set_state("idle")
        deadline = time.perf_counter() + timeout
        for writer in self._writers:
            writer.join(max(0.0, deadline - time.perf_counter()))
        done = all(s.join(max(0.0, deadline - time.perf_counter())) for s in self._old_sessions)
        self._holder.close_later()
        return done

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.view.fit()

    def closeEvent(self, event) -> None:
        self.shutdown(timeout=1.0)
        super().closeEvent(event)
