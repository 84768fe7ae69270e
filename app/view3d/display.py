"""The 3D view's drawing area: the GL point-cloud view once it can be made, else a message saying why not;
framing the cloud and picking the clicked point."""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QLabel, QStackedWidget

from .cloud import PICK_RADIUS_PX, pick_index
from .gl_points import gl_unavailable_reason, gl_view_class

log = logging.getLogger(__name__)


class CloudDisplay(QStackedWidget):
    """Pages: ``message`` and, once made, ``view`` (a ``CloudGLView``). Without GL, ``no_gl`` says why and
    everything that would draw does nothing."""

    point_clicked = Signal(int)  # index of the clicked point among the shown ones
    gl_lost = Signal()  # the GL view failed and is gone (``no_gl`` says why)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.message = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True, objectName="view3dMessage")
        self.addWidget(self.message)
        self.view = None  # the CloudGLView once made; None before, or without GL
        self.no_gl: str | None = None  # why there is no GL view, once known
        self.positions = np.zeros((0, 3), np.float32)  # display frame: centred, z up
        self.extent = 1.0  # the cloud's size, for picking the front surface
        self._rgba = np.ones((0, 4), np.float32)
        self._size = 2.0
        self._auto_fit = True  # re-frame the cloud on resizes until the user moves the camera

    def make_view(self) -> bool:
        """Make the GL view unless it exists or cannot be made; True when one was made just now."""
        if self.view is not None or self.no_gl is not None:
            return False
        reason = gl_unavailable_reason()
        if reason is None:
            try:
                self.view = gl_view_class()()
                self.view.show_points(self.positions, self._rgba, self._size)
            except Exception as exc:
                log.exception("3D view: cannot create the GL widget")
                reason = f"the OpenGL view cannot be created ({exc})"
                self.view = None
            else:
                self.view.clicked.connect(self._clicked)
                self.view.gl_failed.connect(self._gl_failed)
                self.view.installEventFilter(self)
                self.addWidget(self.view)
                return True
        self._drop_view(reason)
        return False

    def show_page(self, view: bool) -> None:
        """The GL view when there is one and ``view``, else the message."""
        self.setCurrentWidget(self.view if view and self.view is not None else self.message)

    def show_points(self, positions: np.ndarray, extent: float, rgba: np.ndarray, size: float) -> None:
        self.positions, self.extent, self._rgba, self._size = positions, extent, rgba, size
        if self.view is not None:
            self.view.show_points(positions, rgba, size)

    def set_point_size(self, size: float) -> None:
        self._size = size
        if self.view is not None:
            self.view.set_point_size(size)

    def reset_view(self) -> None:
        """Look at the cloud from the photo's camera, and keep it framed on resizes until the user moves."""
        if self.view is not None:
            self._auto_fit = True
            self.view.look_from_camera()

    def pick(self, x: float, y: float) -> int | None:
        """Index of the point under GL-view pixel (x, y), or None."""
        if self.view is None or not len(self.positions):
            return None
        xy, depth, in_front = self.view.screen_positions()
        return pick_index(xy, depth, in_front, x, y, max(PICK_RADIUS_PX, self._size), self.extent)

    def mark(self, index: int) -> None:
        if self.view is not None:
            self.view.mark(index)

    def eventFilter(self, watched, event) -> bool:
        """Keep the cloud framed while the view is resized (the dock is laid out after the view is made),
        until the user moves the camera."""
        if watched is self.view and self.view is not None:
            kind = event.type()
            if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.Wheel, QEvent.Type.KeyPress):
                self._auto_fit = False
            elif kind == QEvent.Type.Resize and self._auto_fit:
                self.reset_view()
        return super().eventFilter(watched, event)

    def _clicked(self, x: float, y: float) -> None:
        index = self.pick(x, y)
        if index is not None:
            self.point_clicked.emit(index)

    def _gl_failed(self, reason: str) -> None:
        self._drop_view(reason)
        self.gl_lost.emit()

    def _drop_view(self, reason: str) -> None:
        self.no_gl = reason
        if self.view is not None:
            self.removeWidget(self.view)
            self.view.deleteLater()
            self.view = None
