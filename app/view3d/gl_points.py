"""The embedded OpenGL point-cloud view (pyqtgraph.opengl), and the probe that says whether one can be made.

A GL failure must never take the app down: the probe makes a throw-away QOpenGLContext current on an
off-screen surface before any GL widget exists, and the ``offscreen`` platform, a missing PyOpenGL, or a
machine without OpenGL 2.1 get a reason instead. Errors raised later in ``initializeGL``/``paintGL`` are
reported through ``gl_failed`` once the GL callback has returned. ``SAPIENS_NO_GL=1`` forces a reason (an
escape hatch for a driver that crashes while drawing).
"""

from __future__ import annotations

import functools
import logging
import math
import os

import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QOffscreenSurface, QOpenGLContext

from .cloud import project_points

log = logging.getLogger(__name__)

MARKER_RGBA = (1.0, 0.1, 0.9, 1.0)
BACKGROUND_RGB = (26, 26, 31)
NO_GL_PLATFORMS = {"offscreen", "minimal", "vnc"}


@functools.lru_cache(maxsize=1)
def gl_unavailable_reason() -> str | None:
    """None when the embedded GL view can be made, else why not. Never raises; probed once per process."""
    if os.environ.get("SAPIENS_NO_GL"):
        return "the 3D view is switched off (SAPIENS_NO_GL is set)"
    platform = QGuiApplication.platformName()
    if platform in NO_GL_PLATFORMS:
        return f"the '{platform}' Qt platform has no OpenGL"
    try:
        import OpenGL.GL  # noqa: F401  (pyqtgraph.opengl needs PyOpenGL)
        import pyqtgraph.opengl  # noqa: F401
    except Exception as exc:  # ImportError, or a broken libGL raising on load
        return f"PyOpenGL/pyqtgraph.opengl cannot be loaded ({exc})"
    context, surface = QOpenGLContext(), QOffscreenSurface()
    try:
        if not context.create():
            return "no OpenGL context can be created"
        surface.setFormat(context.format())
        surface.create()
        if not context.makeCurrent(surface):
            return "the OpenGL context cannot be made current"
        version = context.format().majorVersion(), context.format().minorVersion()
        context.doneCurrent()
        if not context.isOpenGLES() and version < (2, 1):
            return f"OpenGL {version[0]}.{version[1]} is older than the 2.1 this view needs"
    except Exception as exc:
        return f"OpenGL probe failed ({exc})"
    finally:
        surface.destroy()
    return None


@functools.lru_cache(maxsize=1)
def gl_view_class():
    """The ``CloudGLView`` class, defined on first use so pyqtgraph.opengl/PyOpenGL load only when needed."""
    import pyqtgraph.opengl as gl
    from OpenGL import GL
    from pyqtgraph import Vector

    class CloudGLView(gl.GLViewWidget):
        """Points (``show_points``) and a pick marker (``mark``); a click without a drag emits ``clicked``."""

        clicked = Signal(float, float)  # a press and release without a drag (dragging orbits)
        gl_failed = Signal(str)

        def __init__(self, parent=None):
            super().__init__(parent)
            self._press: QPointF | None = None
            self._context = None  # the GL context our items' buffers were uploaded to
            self.failure: str | None = None
            self.positions = np.zeros((0, 3), np.float32)  # what is shown, kept to rebuild the items
            self._rgba = np.ones((0, 4), np.float32)
            self._size = 2.0
            self._scatter = self._marker = None
            self.setBackgroundColor(BACKGROUND_RGB)
            self._make_items()

        def show_points(self, positions: np.ndarray, rgba: np.ndarray, size: float) -> None:
            """Show ``positions`` (N, 3) in ``rgba`` (N, 4), ``size`` px each; the pick marker is hidden."""
            self.positions, self._rgba, self._size = positions, rgba, size
            self._scatter.setData(pos=positions, color=rgba, size=size)
            self._marker.setData(pos=np.zeros((0, 3), np.float32))

        def set_point_size(self, size: float) -> None:
            self._size = size
            self._scatter.setData(size=size)

        def mark(self, index: int) -> None:
            """Ring the point at ``index`` of the shown positions (drawn on top of the cloud)."""
            self._marker.setData(pos=self.positions[index : index + 1], size=self._size * 2 + 8)

        def look_from_camera(self) -> None:
            """Look at the points from the photo's camera, far enough back to see all of them."""
            tan_half_fov = math.tan(math.radians(self.opts["fov"]) / 2)  # pyqtgraph's fov is horizontal
            aspect = max(self.height(), 1) / max(self.width(), 1)
            size = np.ptp(self.positions, axis=0) if len(self.positions) else np.ones(3)
            distance = 1.1 * max(size[0], size[2] / aspect) / (2 * tan_half_fov) + size[1] / 2
            self.setCameraPosition(pos=Vector(0, 0, 0), distance=float(distance), elevation=0, azimuth=-90)

        def screen_positions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """Every shown point's position in widget pixels, its distance from the eye, and in-front mask."""
            viewport = self.getViewport()
            matrix = self.projectionMatrix(viewport, viewport) * self.viewMatrix()
            mvp = np.array(matrix.copyDataTo(), np.float64).reshape(4, 4)  # copyDataTo is row-major
            return project_points(self.positions, mvp, viewport[2], viewport[3])

        def _make_items(self) -> None:
            """(Re)create the cloud and the pick marker, showing what was shown."""
            for item in (self._scatter, self._marker):
                if item is not None:
                    self.removeItem(item)
            self._scatter = gl.GLScatterPlotItem(pos=np.zeros((0, 3), np.float32), pxMode=True, glOptions="opaque")
            self._marker = gl.GLScatterPlotItem(
                pos=np.zeros((0, 3), np.float32),
                color=MARKER_RGBA,
                glOptions={GL.GL_DEPTH_TEST: False, GL.GL_BLEND: False},
            )  # on top
            self.addItem(self._scatter)
            self.addItem(self._marker)
            self.show_points(self.positions, self._rgba, self._size)

        def mousePressEvent(self, ev):
            self._press = ev.position() if ev.button() == Qt.MouseButton.LeftButton else None
            super().mousePressEvent(ev)

        def mouseReleaseEvent(self, ev):
            press, self._press = self._press, None
            if press is not None and ev.button() == Qt.MouseButton.LeftButton:
                moved = ev.position() - press
                if abs(moved.x()) + abs(moved.y()) <= 3:
                    self.clicked.emit(ev.position().x(), ev.position().y())
            super().mouseReleaseEvent(ev)

        def initializeGL(self):
            self._guard(super().initializeGL)

        def paintGL(self):
            if self.failure is None:
                self._guard(self._paint_in_current_context)

        def _paint_in_current_context(self) -> None:
            """Floating or re-docking the dock gives this widget a new GL context (unless the app shares contexts)
            and pyqtgraph does not notice: its scatter items keep vertex buffers of the old context and the point
            shader is cached per class for whichever context built it, so nothing (or a GLError) is drawn.
            When the context changes, rebuild the shader and replace the items."""
            context = QOpenGLContext.currentContext()
            if getattr(gl.GLScatterPlotItem, "_sapiens_context", None) is not context:
                gl.GLScatterPlotItem._shaderProgram = None
                gl.GLScatterPlotItem._sapiens_context = context
            if self._context is not context:
                replaced, self._context = self._context, context
                if replaced is not None:
                    self._make_items()  # fresh items: their buffers are created in this context
            super().paintGL()

        def _guard(self, call) -> None:
            try:
                call()
            except Exception as exc:  # report after this GL callback returns, never replace widgets inside it
                log.exception("3D view: OpenGL failed")
                self.failure = f"OpenGL failed: {exc}"
                QTimer.singleShot(0, self._report_failure)

        def _report_failure(self) -> None:
            self.gl_failed.emit(self.failure or "OpenGL failed")

    return CloudGLView
