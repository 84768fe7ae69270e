"""The capture panel: a camera or a video file, annotated live by the chosen models, with snapshots.

The panel only drives and displays; reading and inference run in a ``CaptureSession`` (see
``worker``), so the GUI thread never waits on a camera, a decoder or a model. It shows the newest
result only, and what is on screen is what a snapshot saves: when paused, results read before the pause are
ignored, so the display stays frozen on the frame the user saw.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from sapiens_core.video import SourceInfo, source_label

from ..canvas import CanvasScene, CanvasView, LayerStyle
from .playback import CapturePlayback
from .snapshot import SnapshotWriter, default_snapshot_folder, snapshot_stem
from .source_picker import SourcePicker
from .worker import CaptureResult, CaptureSession

log = logging.getLogger(__name__)


class CapturePanel(QWidget):
    snapshot_taken = Signal(str)  # PNG path; its annotation (if any) is already saved beside it
    frame_shown = Signal(int)  # frame index now on screen, with its annotation
    state_changed = Signal(str)  # "idle", "opening", "paused", "playing"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("CapturePanel")
        self.snapshot_folder: Path | None = None  # None: beside the video, or in Pictures for a camera
        self.current_frame: np.ndarray | None = None
        self.current_annotation = None
        self.state = "idle"
        self._shown_source: int | str | None = None  # where the frame on screen came from, and its index:
        self._shown_frame: int | None = None  # snapshots are named after it, even after a switch
        self._autoplay = False  # play as soon as the source is open
        self.playback = CapturePlayback(self)
        self.playback.opened.connect(self._on_opened)
        self.playback.failed.connect(self._on_failed)
        self.playback.finished.connect(self._on_finished)
        self.playback.shown.connect(self._on_shown)
        self._snapshots = SnapshotWriter(self)
        self._snapshots.done.connect(self._on_snapshot_done)
        self._build()
        self.playback.status.connect(self.stats_label.setText)
        self._set_state("idle")

    # ------------------------------------------------------------------------------------------- widgets
    def _build(self) -> None:
        self.sources = SourcePicker()
        self.source_combo = self.sources.combo
        self.start_button, self.pause_button, self.step_button, self.stop_button, self.snapshot_button = (
            QPushButton(text) for text in ("Start", "Pause", "Step", "Stop", "Snapshot to annotate")
        )
        self.step_button.setToolTip("Show the next frame (while paused)")
        self.snapshot_button.setToolTip("Save the shown frame and its annotation, and add it to the images")
        self.scene = CanvasScene(self)
        self.view = CanvasView(self.scene)
        self.smooth_check = QCheckBox("Smooth keypoints")
        self.smooth_check.setToolTip(
            "Filter each person's keypoints over time (One-Euro, per track): steadier overlays, a little lag"
        )
        self.message_label = QLabel(objectName="captureMessage", wordWrap=True)
        self.stats_label = QLabel(objectName="captureStats")

        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.step_button, self.stop_button, self.snapshot_button):
            buttons.addWidget(b)
        buttons.addWidget(self.smooth_check)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.sources)
        layout.addLayout(buttons)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.message_label)
        layout.addWidget(self.stats_label)

        self.sources.camera_chosen.connect(self.open_camera)
        self.sources.video_chosen.connect(self.open_video)
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.pause)
        self.step_button.clicked.connect(self.step_frame)
        self.stop_button.clicked.connect(self.stop)
        self.snapshot_button.clicked.connect(self.snapshot)
        self.smooth_check.toggled.connect(lambda on: setattr(self.playback, "smooth", on))

    @property
    def message(self) -> str:
        return self.message_label.text()

    @property
    def source(self) -> int | str | None:
        """The chosen camera index or video path (None before a choice, or after an unreadable file)."""
        return self.sources.current

    def _say(self, text: str) -> None:
        self.message_label.setText(text)
        if text:
            log.info("capture: %s", text)

    def _set_state(self, state: str) -> None:
        self.state = state
        live = state in ("opening", "paused", "playing")
        self.start_button.setEnabled(state != "playing")
        self.start_button.setText("Resume" if state == "paused" and self.playback.has_played else "Start")
        self.pause_button.setEnabled(state in ("playing", "opening"))
        self.step_button.setEnabled(state != "playing" and (live or isinstance(self.source, str)))
        self.stop_button.setEnabled(live)
        self.snapshot_button.setEnabled(self.current_frame is not None)
        self.state_changed.emit(state)

    # ------------------------------------------------------------------------------------------- models
    def set_models(self, paths: dict[str, str], device: str = "auto") -> None:
        """Which checkpoints run on the frames ({task: path}); loaded off the GUI thread, once, and kept while
        unchanged. A change while capturing applies from the next frame."""
        self.playback.choose_models(paths, device)

    def set_models_provider(self, provider: Callable[[], tuple[dict[str, str], str]] | None) -> None:
        """A callable answering ``(paths, device)``, asked (on the GUI thread) at each open, Start and Step, so the
        panel always runs what the main window currently has chosen."""
        self.playback.models.provider = provider

    def set_pipeline_factory(self, factory: Callable[[], Any] | None, key: Any = None) -> None:
        """A callable returning an object with ``run([Frame]) -> [Annotation]`` (and optionally ``close()``);
        called once off the GUI thread. None: show the frames without models. The panel closes what the
        factory returned when the models change and at ``shutdown``."""
        self.playback.choose_factory(factory, key)

    def apply_style(self, style: LayerStyle) -> None:
        self.scene.apply_style(style)

    # ------------------------------------------------------------------------------------------- sources
    def open_video_dialog(self) -> None:
        self.sources.choose_video_file()

    def open_video(self, path: str | os.PathLike) -> None:
        """Open a video file, show its first frame and wait (paused) for Start or Step."""
        path = str(path)
        self.playback.close()
        self.playback.refresh_models()
        self.sources.show_source(path)
        self._open_session(autoplay=False)

    def open_camera(self, index: int) -> None:
        """Choose a camera; it is opened (and its light goes on) at Start."""
        self.playback.close()
        self.sources.show_source(int(index))
        self._say(f"Camera {index} selected: press Start")
        self._set_state("idle")

    # ------------------------------------------------------------------------------------------- control
    def start(self) -> None:
        if self.state == "playing":
            return
        self.playback.refresh_models()
        if self.state == "idle":
            if self.source is None:
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
        self.playback.pause()
        self._set_state("paused")
        self._say("paused")

    def step_frame(self) -> None:
        """Show the next frame with its annotation (pauses first when playing)."""
        if self.state == "playing":
            self.pause()
        self.playback.refresh_models()
        if self.state == "idle":
            if not isinstance(self.source, str):
                return
            self._open_session(autoplay=False)
        self.playback.step()

    def stop(self) -> None:
        if self.playback.session is None:
            return
        self.playback.close()
        self._say("stopped")
        self._set_state("idle")

    def _play(self) -> None:
        self.playback.play()
        self._set_state("playing")
        self._say(f"playing {source_label(self.source)}")

    # ------------------------------------------------------------------------------------------- playback
    def _open_session(self, autoplay: bool) -> None:
        self.playback.open(self.source)
        self._autoplay = autoplay
        self._say(f"opening {source_label(self.source)}…")
        self._set_state("opening")

    def _on_opened(self, info: SourceInfo, first: np.ndarray | None) -> None:
        if first is not None and info.kind != "camera":
            self._display(first, None, 0, fit=True)  # the first frame (frame 0) as a preview, without overlays
        count = f", {info.frame_count} frames" if info.frame_count else ""
        self._say(f"{info.label}: {info.width}×{info.height}, {info.fps:.3g} fps{count}")
        self._set_state("paused")
        if self._autoplay:
            self._play()

    def _on_failed(self, message: str, unreadable: bool) -> None:
        if isinstance(self.source, str) and unreadable:
            self.sources.forget(self.source)  # not a readable video: Start must not try it again
        self._say(message)
        self._set_state("idle")

    def _on_finished(self, reason: str) -> None:
        self._say(reason)  # the last frame and its annotation stay on screen, ready for a snapshot
        self._set_state("idle")

    def _on_shown(self, result: CaptureResult, first: bool) -> None:
        self._display(result.rgb, result.doc, result.index, fit=first)
        self.stats_label.setText(self.playback.stats_text(result))
        self.frame_shown.emit(result.index)

    def _display(self, rgb: np.ndarray, doc, index: int, fit: bool) -> None:
        resized = self.current_frame is None or self.current_frame.shape != rgb.shape
        self.scene.set_image(rgb)
        self.scene.set_annotation(doc)
        self.current_frame, self.current_annotation = rgb, doc
        self._shown_source, self._shown_frame = self.source, index
        if fit or resized:
            self.view.fit()
        self.snapshot_button.setEnabled(True)

    @property
    def realtime(self) -> bool:
        """Video files at their native fps, dropping frames the model has no time for; False: every frame."""
        return self.playback.realtime

    @realtime.setter
    def realtime(self, value: bool) -> None:
        self.playback.realtime = bool(value)

    @property
    def frames_shown(self) -> int:
        return self.playback.frames_shown

    @property
    def shown_index(self) -> int | None:
        """Frame index of the current session's last shown result (None before the first)."""
        return self.playback.shown_index

    @property
    def frames_dropped(self) -> int:
        """Frames read but never shown because a newer one replaced them (since the last open)."""
        return self.playback.dropped

    @property
    def session(self) -> CaptureSession | None:
        return self.playback.session

    # ------------------------------------------------------------------------------------------- snapshots
    def default_snapshot_folder(self) -> Path:
        return default_snapshot_folder(self._shown_source)

    def snapshot(self) -> Path | None:
        """Save the shown frame (lossless PNG) and its annotation in the background; ``snapshot_taken`` follows.
        Returns the PNG path it will have."""
        if self.current_frame is None:
            self._say("Nothing to snapshot yet")
            return None
        folder = Path(self.snapshot_folder) if self.snapshot_folder else self.default_snapshot_folder()
        png = self._snapshots.free_path(folder, snapshot_stem(self._shown_source, self._shown_frame))
        self._snapshots.write(png, self.current_frame, self.current_annotation)
        return png

    def _on_snapshot_done(self, png: str, error: str) -> None:
        if error:
            self._say(f"Snapshot failed: {error}")
            return
        self._say(f"snapshot saved: {png}")
        self.snapshot_taken.emit(png)

    # ------------------------------------------------------------------------------------------- shutdown
    def shutdown(self, timeout: float = 5.0) -> bool:
        """Stop capturing, finish pending snapshots, release the models. True when every thread ended in time
        (an inference still running is left to finish in the background; its threads are daemons)."""
        self.playback.close()
        self._set_state("idle")
        deadline = time.perf_counter() + timeout
        written = self._snapshots.join(timeout)
        ended = self.playback.join(max(0.0, deadline - time.perf_counter()))
        self.playback.holder.close_later()
        return written and ended

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.view.fit()

    def closeEvent(self, event) -> None:
        self.shutdown(timeout=1.0)
        super().closeEvent(event)
