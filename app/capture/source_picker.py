"""The capture panel's source chooser: a combo of the cameras found (probed in the background), the video
files opened so far, and "Video file…" to open another."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from sapiens_core.video import probe_cameras

log = logging.getLogger(__name__)

VIDEO_FILTER = "Videos (*.mp4 *.avi *.mkv *.mov *.webm *.m4v);;All files (*)"
CHOOSE_FILE = "choose"


class SourcePicker(QWidget):
    """Shows ``current`` (set with ``show_source``) and says when the user picks another source."""

    camera_chosen = Signal(int)
    video_chosen = Signal(str)
    _cameras_found = Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.current: int | str | None = None
        self.combo = QComboBox()
        self.combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.combo.addItem("Video file…", CHOOSE_FILE)
        self.refresh_button = QToolButton(text="↻", toolTip="Look for cameras again")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Source:"))
        row.addWidget(self.combo, 1)
        row.addWidget(self.refresh_button)
        self.combo.activated.connect(self._chosen)
        self.refresh_button.clicked.connect(self.refresh_cameras)
        self._cameras_found.connect(self._fill_cameras)
        self.refresh_cameras()

    def show_source(self, source: int | str | None) -> None:
        """Make ``source`` the current one (a video file is added to the list)."""
        self.current = source
        if isinstance(source, str) and self.combo.findData(source) < 0:
            self.combo.insertItem(self.combo.count() - 1, Path(source).name, source)
        self._select_current()

    def forget(self, path: str) -> None:
        """Drop a video file from the list (it cannot be read); it is no longer the current source."""
        row = self.combo.findData(path)
        if row >= 0:
            self.combo.removeItem(row)
        if self.current == path:
            self.current = None

    def choose_video_file(self) -> None:
        folder = str(Path(self.current).parent) if isinstance(self.current, str) else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open video", folder, VIDEO_FILTER)
        if path:
            self.video_chosen.emit(path)

    def refresh_cameras(self) -> None:
        """Probe camera indices in the background; the combo is filled when the answer comes."""

        def probe():
            try:
                self._cameras_found.emit(probe_cameras())
            except RuntimeError:  # the widget was deleted meanwhile
                pass
            except Exception:  # a broken camera driver: no cameras listed, files still work
                log.exception("probing cameras")

        threading.Thread(target=probe, name="camera-probe", daemon=True).start()

    def _fill_cameras(self, indices: list) -> None:
        combo = self.combo
        for i in reversed(range(combo.count())):
            if isinstance(combo.itemData(i), int):
                combo.removeItem(i)
        for n, index in enumerate(indices):
            combo.insertItem(n, f"Camera {index}", index)
        self._select_current()

    def _select_current(self) -> None:
        index = self.combo.findData(self.current) if self.current is not None else -1
        if index >= 0:
            self.combo.setCurrentIndex(index)

    def _chosen(self, row: int) -> None:
        data = self.combo.itemData(row)
        if data == CHOOSE_FILE:
            self._select_current()  # until a file is chosen, the combo keeps showing the current source
            self.choose_video_file()
        elif isinstance(data, int):
            self.camera_chosen.emit(data)
        elif data:
            self.video_chosen.emit(data)
