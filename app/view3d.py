"""The 3D view: the current image's depth as a point cloud to orbit, coloured by the photo or by body part,
linked back to the 2D canvas (click a point -> ``point_picked(x, y)`` with its source pixel).

Why it is built this way:

* A GL failure must never take the app down. The GL widget is only made once the view is first shown, and
  only after a probe (a throw-away QOpenGLContext made current on an off-screen surface) succeeded: the
  ``offscreen`` platform, a missing PyOpenGL, or a machine without OpenGL 2.1 get a label saying why. Errors
  raised later in ``initializeGL``/``paintGL`` swap the label in too. ``SAPIENS_NO_GL=1`` forces the label
  (an escape hatch for a driver that crashes while drawing). Export and "Open in Open3D" work either way.
* Open3D's window cannot be embedded in Qt and has its own event loop, so "Open in Open3D" starts
  ``python -m sapiens_core.geometry.viewer`` as a child process: a crash there is reported, not shared.
* Clouds of more than ``SYNC_PIXELS`` depth pixels are built on the JobRunner; results carry a generation
  number so a slow old build never overwrites a newer one. "auto" stride keeps at most ``MAX_POINTS``
  points, which software GL still orbits smoothly.
* Picking is done here, not with GL selection: project every point with the view's own projection and view
  matrices, keep the ones within a few pixels of the click, and of those the front surface (a click should
  not select a point hidden behind the body), nearest to the cursor.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QProcess, QProcessEnvironment, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QOffscreenSurface, QOpenGLContext
from PySide6.QtWidgets import (QComboBox, QDockWidget, QDoubleSpinBox, QFileDialog, QGridLayout, QLabel,
                               QPushButton, QSpinBox, QStackedWidget, QVBoxLayout, QWidget)

from sapiens_core.geometry import (DEFAULT_RELIEF, build_point_cloud, colors_from_image, colors_from_parts,
                                   depth_to_points, write_ply)
from sapiens_core.schema import class_schema

log = logging.getLogger(__name__)

MAX_POINTS = 300_000          # "auto" stride target: ~12 fps at 786k points on software GL, so well above 25 here
SYNC_PIXELS = 1_000_000       # depth maps larger than this are back-projected on the job runner
PICK_RADIUS_PX = 6.0          # how far from a point a click may land and still select it
FRONT_TOLERANCE = 0.02        # of the cloud's size: candidates this much behind the nearest still count as front
PLAIN_RGB = (0.8, 0.8, 0.8)   # colour when the chosen source is missing
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
def _gl_view_class():
    """The GLViewWidget subclass, defined on first use so pyqtgraph.opengl/PyOpenGL load only when needed."""
    import pyqtgraph.opengl as gl

    class CloudGLView(gl.GLViewWidget):
        clicked = Signal(float, float)  # a press and release without a drag (dragging orbits)
        gl_failed = Signal(str)

        def __init__(self, parent=None):
            super().__init__(parent)
            self._press: QPointF | None = None
            self._context = None  # the GL context our items' buffers were uploaded to
            self.on_new_context = None  # called, with the new context current, to replace all items
            self.failure: str | None = None

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
            When the context changes, rebuild the shader and let the owner replace the items."""
            context = QOpenGLContext.currentContext()
            if getattr(gl.GLScatterPlotItem, "_sapiens_context", None) is not context:
                gl.GLScatterPlotItem._shaderProgram = None
                gl.GLScatterPlotItem._sapiens_context = context
            if self._context is not context:
                replaced, self._context = self._context, context
                if replaced is not None and self.on_new_context is not None:
                    self.on_new_context()  # fresh items: their buffers are created in this context
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


def project_points(positions: np.ndarray, mvp: np.ndarray, width: float, height: float):
    """World (N, 3) -> widget pixels (N, 2) (origin top left), eye distance (N,), and in-front-of-camera mask."""
    homogeneous = np.column_stack([positions.astype(np.float64), np.ones(len(positions))])
    clip = homogeneous @ mvp.T
    w = clip[:, 3]
    in_front = w > 1e-9
    safe_w = np.where(in_front, w, 1.0)
    xy = np.column_stack([(clip[:, 0] / safe_w + 1) * 0.5 * width, (1 - clip[:, 1] / safe_w) * 0.5 * height])
    return xy, w, in_front


def viewer_command(ply_path: str, point_size: float, title: str) -> list[str]:
    """Program and arguments of the Open3D viewer process (a function so tests can substitute a fake).
    A frozen (PyInstaller) app has no ``-m``: its executable must hand ``--open3d-viewer ARGS`` to the viewer."""
    launcher = [sys.executable, "--open3d-viewer"] if getattr(sys, "frozen", False) else \
        [sys.executable, "-m", "sapiens_core.geometry.viewer"]
    return [*launcher, ply_path, "--point-size", f"{point_size:g}", "--title", title]


@dataclass
class _Cloud:
    generation: int
    points: np.ndarray   # (N, 3) camera frame: x right, y down, z forward
    pixels: np.ndarray   # (N, 2) source pixel (x, y)
    stride: int


class View3DWidget(QWidget):
    point_picked = Signal(int, int)   # source pixel (x, y) of the clicked point
    cloud_changed = Signal(int)       # number of points now shown (0: nothing to show)
    file_written = Signal(str)        # an exported .ply
    viewer_finished = Signal(str)     # "" when the Open3D window closed normally, else what went wrong

    def __init__(self, runner=None, parent=None):
        """``runner``: the app's JobRunner, for building big clouds and writing files off the GUI thread."""
        super().__init__(parent)
        self.runner = runner
        self._job_slots: dict[object, object] = {}  # our running jobs -> what receives their result
        if runner is not None:
            # Results come through the runner's job_finished (connected before any job starts): a job's own
            # signals can fire before a caller connects to them, losing the result of a quick job.
            runner.job_finished.connect(self._job_finished)
        self.image = self.annotation = None
        self.cloud: _Cloud | None = None
        self.colors: np.ndarray | None = None       # (N, 3) of the shown cloud
        self.view = None                            # the CloudGLView once made; None while hidden or without GL
        self._scatter = self._marker = None
        self._positions = np.zeros((0, 3), np.float32)  # display frame: centred, z up
        self._extent = 1.0
        self._generation = 0
        self._dirty = False
        self._reset_camera = True
        self._auto_fit = True                       # re-frame the cloud on resizes until the user moves the camera
        self._no_gl: str | None = None              # why there is no GL view, once known
        self._dock = None                           # the QDockWidget we live in, if any
        self._note = "No image yet."                # why there is nothing to show, "" when there is
        self._processes: list[QProcess] = []
        self._temp_dir: str | None = None
        self._viewer_count = 0
        self._build_ui()

    def _build_ui(self) -> None:
        self.color_combo = QComboBox()
        self.color_combo.addItem("Image colours", "image")
        self.color_combo.addItem("Body parts", "parts")
        self.focal_spin = QDoubleSpinBox(minimum=0.2, maximum=10.0, singleStep=0.1, value=1.0, suffix=" × size",
                                         toolTip="Focal length as a multiple of the image's larger side: smaller "
                                                 "is wider-angle (stronger perspective), larger is flatter.")
        self.relief_spin = QDoubleSpinBox(minimum=0.0, maximum=3.0, singleStep=0.05, value=DEFAULT_RELIEF,
                                          toolTip="Depth is relative: front-to-back extent of the cloud as a "
                                                  "multiple of the image's larger side.")
        self.size_spin = QDoubleSpinBox(minimum=1.0, maximum=20.0, singleStep=0.5, value=2.0, suffix=" px")
        self.stride_spin = QSpinBox(minimum=0, maximum=64, value=0, specialValueText="auto",
                                    toolTip=f"Use every n-th pixel; auto keeps at most {MAX_POINTS:,} points. "
                                            "Exports use the same points as shown.")
        self.reset_button = QPushButton("Reset view")
        self.export_button = QPushButton("Export .ply…")
        self.open3d_button = QPushButton("Open in Open3D")
        self.status = QLabel(wordWrap=True)
        self.message = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True, objectName="view3dMessage")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.message)

        grid = QGridLayout()
        for i, (text, widget) in enumerate((("Colour", self.color_combo), ("Focal", self.focal_spin),
                                            ("Depth", self.relief_spin), ("Point", self.size_spin),
                                            ("Stride", self.stride_spin))):
            grid.addWidget(QLabel(text), i // 2, 2 * (i % 2))
            grid.addWidget(widget, i // 2, 2 * (i % 2) + 1)
        grid.addWidget(self.reset_button, 2, 2, 1, 2)
        grid.addWidget(self.export_button, 3, 0, 1, 2)
        grid.addWidget(self.open3d_button, 3, 2, 1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.status)

        self._rebuild_timer = QTimer(self, singleShot=True, interval=120)  # one rebuild per burst of spin steps
        self._rebuild_timer.timeout.connect(self._rebuild)
        for spin in (self.focal_spin, self.relief_spin, self.stride_spin):
            spin.valueChanged.connect(self._schedule_rebuild)
        self.color_combo.currentIndexChanged.connect(self._recolor)
        self.size_spin.valueChanged.connect(self._apply_point_size)
        self.reset_button.clicked.connect(self.reset_view)
        self.export_button.clicked.connect(self._export_dialog)
        self.open3d_button.clicked.connect(self.open_in_open3d)
        self._refresh()

    def _refresh(self) -> None:
        """The message (why no GL, why no cloud), which page shows, and which buttons work."""
        has_points = self.cloud is not None and len(self.cloud.points) > 0
        lines = [f"3D view unavailable: {self._no_gl}."] if self._no_gl else []
        lines += [self._note] if self._note else []
        if self._no_gl and has_points:
            lines.append('"Export .ply…" and "Open in Open3D" still work.')
        self.message.setText("\n".join(lines))
        self.stack.setCurrentWidget(self.view if self.view is not None and not self._note else self.message)
        self.export_button.setEnabled(has_points)
        self.open3d_button.setEnabled(has_points)
        self.reset_button.setEnabled(self.view is not None)

    # ------------------------------------------------------------------ GL view (made when first shown)
    def showEvent(self, event) -> None:
        super().showEvent(event)
        dock = self.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        if dock is not None and dock is not self._dock:
            # A dock behind another's tab stays "visible", parked off-screen: only this signal tells us when its
            # tab is chosen.
            self._dock = dock
            dock.visibilityChanged.connect(self._dock_visibility_changed)
        QTimer.singleShot(0, self, self._activate)  # once the layout has placed us (cancelled if we are deleted)

    def _dock_visibility_changed(self, _visible: bool) -> None:
        QTimer.singleShot(0, self, self._activate)

    def _really_shown(self) -> bool:
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def _activate(self) -> None:
        """Make the GL view and catch up on data once the user can actually see this widget."""
        if not self._really_shown():
            return
        if self.view is None and self._no_gl is None:
            self._create_view()
        if self._dirty:
            self._schedule_rebuild(immediately=True)

    def _create_view(self) -> None:
        reason = gl_unavailable_reason()
        if reason is None:
            try:
                self.view = _gl_view_class()()
                self.view.setBackgroundColor(BACKGROUND_RGB)
                self._make_items()
            except Exception as exc:
                log.exception("3D view: cannot create the GL widget")
                reason = f"the OpenGL view cannot be created ({exc})"
                self.view = self._scatter = self._marker = None
            else:
                self.view.clicked.connect(self._clicked)
                self.view.gl_failed.connect(self._gl_failed)
                self.view.on_new_context = self._make_items
                self.view.installEventFilter(self)
                self.stack.addWidget(self.view)
                if self._reset_camera:
                    self.reset_view()
        if reason is not None:
            self._gl_failed(reason)
        self._refresh()

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

    def _make_items(self) -> None:
        """(Re)create the cloud and the pick marker in the view, showing the current cloud."""
        import pyqtgraph.opengl as gl
        from OpenGL import GL

        for item in (self._scatter, self._marker):
            if item is not None:
                self.view.removeItem(item)
        self._scatter = gl.GLScatterPlotItem(pos=np.zeros((0, 3), np.float32), pxMode=True, glOptions="opaque")
        self._marker = gl.GLScatterPlotItem(pos=np.zeros((0, 3), np.float32), color=MARKER_RGBA,
                                            glOptions={GL.GL_DEPTH_TEST: False, GL.GL_BLEND: False})  # on top
        self.view.addItem(self._scatter)
        self.view.addItem(self._marker)
        self._show_cloud()

    def _gl_failed(self, reason: str) -> None:
        self._no_gl = reason
        if self.view is not None:
            self.stack.removeWidget(self.view)
            self.view.deleteLater()
            self.view = self._scatter = self._marker = None
        self._refresh()

    # ------------------------------------------------------------------ data
    def set_data(self, image_rgb, annotation) -> None:
        """Show ``annotation``'s depth (with ``image_rgb`` for colours); either may be None to clear."""
        old = self.annotation
        self.image, self.annotation = image_rgb, annotation
        parts_ok = bool(annotation is not None and annotation.part_map is not None and annotation.class_schema)
        self.color_combo.model().item(1).setEnabled(parts_ok)
        if not parts_ok and self.color_combo.currentData() == "parts":
            self.color_combo.setCurrentIndex(0)
        # New results for the same image keep the user's viewpoint; another image starts from its camera.
        same_image = old is not None and annotation is not None and old.image_path == annotation.image_path
        self._reset_camera = self._reset_camera or not same_image or not len(self._positions)
        self._schedule_rebuild(immediately=True)

    def _schedule_rebuild(self, *_, immediately: bool = False) -> None:
        if not self._really_shown():  # a hidden dock costs nothing; _activate catches up
            self._dirty = True
            return
        if self.view is None and self._no_gl is None:
            self._create_view()
        if immediately:
            self._rebuild_timer.stop()
            self._rebuild()
        else:
            self._rebuild_timer.start()

    def _rebuild(self) -> None:
        self._dirty = False
        self._generation += 1
        doc = self.annotation
        if doc is None or doc.depth is None:
            self._cloud_ready(None, "No image yet." if doc is None else "No depth for this image: run a depth model.")
            return
        depth, mask, generation = doc.depth, doc.foreground, self._generation
        focal, relief, stride = self.focal_spin.value() * max(depth.shape), self.relief_spin.value(), \
            self.stride_spin.value()

        def build(report=None) -> _Cloud:
            chosen = stride
            if chosen == 0:
                count = int(np.count_nonzero(np.isfinite(depth) if mask is None else np.isfinite(depth) & mask))
                chosen = max(1, math.ceil(math.sqrt(count / MAX_POINTS)))
            points, pixels = depth_to_points(depth, focal=focal, mask=mask, stride=chosen, relief=relief)
            return _Cloud(generation, points, pixels, chosen)

        if self.runner is not None and depth.size > SYNC_PIXELS:
            self.status.setText("Building the point cloud…")
            self.runner.start("3D point cloud", build, lambda job: self._job_slots.__setitem__(job, self._cloud_ready))
            return
        try:
            self._cloud_ready(build())
        except ValueError as exc:  # e.g. a foreground mask of another size
            self._cloud_ready(None, f"Cannot build the point cloud: {exc}")

    def _cloud_ready(self, cloud: _Cloud | None, note: str = "") -> None:
        if cloud is not None and cloud.generation != self._generation:
            return  # a newer build was requested meanwhile
        self.cloud = cloud
        positions = np.zeros((0, 3), np.float32)
        if cloud is not None and len(cloud.points):
            p = cloud.points
            # Display frame for pyqtgraph (z up): x right, depth away from the viewer along +y, image up = +z.
            positions = np.column_stack([p[:, 0], p[:, 2], -p[:, 1]])
            lo, hi = positions.min(axis=0), positions.max(axis=0)
            positions -= (lo + hi) / 2  # orbit around the middle of the cloud
            self._extent = float(max(np.max(hi - lo), 1e-6))
        elif cloud is not None:
            note = "No foreground depth to show."
        self._positions, self._note = positions.astype(np.float32), note
        self.status.setText(f"{len(positions):,} points, stride {cloud.stride}" if len(positions) else "")
        self._recolor()
        if self._reset_camera and self.view is not None:
            self.reset_view()
        self._refresh()
        self.cloud_changed.emit(len(positions))

    def _recolor(self, *_) -> None:
        cloud, doc, source = self.cloud, self.annotation, self.color_combo.currentData()
        colors = None
        try:
            if cloud is not None and source == "parts" and doc.part_map is not None and doc.class_schema:
                colors = colors_from_parts(doc.part_map, cloud.pixels, class_schema(doc.class_schema).colors)
            elif cloud is not None and source == "image" and self.image is not None:
                colors = colors_from_image(self.image, cloud.pixels)
        except (ValueError, KeyError) as exc:  # an image of another size, an unknown class set
            self.status.setText(f"Cannot colour the points: {exc}")
        if colors is None:
            colors = np.tile(np.float32(PLAIN_RGB), (0 if cloud is None else len(cloud.pixels), 1))
        self.colors = colors
        self._show_cloud()

    def _show_cloud(self) -> None:
        if self._scatter is None:
            return
        rgba = np.ones((len(self._positions), 4), np.float32)
        if self.colors is not None and len(self.colors) == len(rgba):
            rgba[:, :3] = self.colors
        self._scatter.setData(pos=self._positions, color=rgba, size=self.size_spin.value())
        self._marker.setData(pos=np.zeros((0, 3), np.float32))

    def _apply_point_size(self, size: float) -> None:
        if self._scatter is not None:
            self._scatter.setData(size=size)

    def reset_view(self) -> None:
        """Look at the cloud from the photo's camera, far enough back to see all of it."""
        from pyqtgraph import Vector

        self._reset_camera, self._auto_fit = False, True
        tan_half_fov = math.tan(math.radians(self.view.opts["fov"]) / 2)  # pyqtgraph's fov is horizontal
        aspect = max(self.view.height(), 1) / max(self.view.width(), 1)
        size = np.ptp(self._positions, axis=0) if len(self._positions) else np.ones(3)
        distance = 1.1 * max(size[0], size[2] / aspect) / (2 * tan_half_fov) + size[1] / 2
        self.view.setCameraPosition(pos=Vector(0, 0, 0), distance=float(distance), elevation=0, azimuth=-90)

    # ------------------------------------------------------------------ picking
    def screen_positions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every shown point's position in GL-widget pixels, its distance from the eye, and in-front mask."""
        viewport = self.view.getViewport()
        matrix = self.view.projectionMatrix(viewport, viewport) * self.view.viewMatrix()
        mvp = np.array(matrix.copyDataTo(), np.float64).reshape(4, 4)  # copyDataTo is row-major
        return project_points(self._positions, mvp, viewport[2], viewport[3])

    def pick(self, x: float, y: float) -> int | None:
        """Index of the point under widget pixel (x, y) of the GL view, or None."""
        if self.view is None or not len(self._positions):
            return None
        xy, depth, in_front = self.screen_positions()
        distance = np.hypot(xy[:, 0] - x, xy[:, 1] - y)
        near = np.flatnonzero(in_front & (distance <= max(PICK_RADIUS_PX, self.size_spin.value())))
        if not len(near):
            return None
        front = near[depth[near] <= depth[near].min() + FRONT_TOLERANCE * self._extent]
        return int(front[np.argmin(distance[front])])

    def _clicked(self, x: float, y: float) -> None:
        index = self.pick(x, y)
        if index is None:
            return
        self._marker.setData(pos=self._positions[index:index + 1], size=self.size_spin.value() * 2 + 8)
        px, py = (int(v) for v in self.cloud.pixels[index])
        self.status.setText(f"{len(self._positions):,} points; picked pixel ({px}, {py})")
        self.point_picked.emit(px, py)

    # ------------------------------------------------------------------ files and the Open3D process
    def _stem(self) -> str:
        return Path(self.annotation.image_path).stem if self.annotation is not None else "cloud"

    def _export_dialog(self) -> None:
        folder = Path(self.annotation.image_path).parent if self.annotation is not None else Path.home()
        path, _ = QFileDialog.getSaveFileName(self, "Export point cloud", str(folder / f"{self._stem()}_cloud.ply"),
                                              "PLY point cloud (*.ply)")
        if path:
            self.export_ply(path if path.lower().endswith(".ply") else path + ".ply")

    def export_ply(self, path: str, then=None):
        """Write the shown cloud (points and colours) to ``path``, on the runner when there is one; ``then(path)``
        runs on the GUI thread once it is written. Returns the Job, or None when already done (or impossible)."""
        if self.cloud is None or not len(self.cloud.points):
            self.status.setText("Nothing to export.")
            return None
        points, colors = self.cloud.points, self.colors

        def write(report=None) -> str:
            return str(write_ply(path, build_point_cloud(points, colors)))

        if self.runner is not None:
            slot = functools.partial(self._written, then)
            return self.runner.start("Export point cloud", write, lambda job: self._job_slots.__setitem__(job, slot))
        try:
            self._written(then, write())
        except (OSError, ValueError, ImportError) as exc:
            self.status.setText(f"Export failed: {exc}")
        return None

    def _job_finished(self, job) -> None:
        slot = self._job_slots.pop(job, None)  # None: not one of ours
        if slot is not None and job.error is not None:
            self.status.setText(job.error)
        elif slot is not None and job.is_cancelled:
            self.status.setText("Cancelled.")
        elif slot is not None:
            slot(job.result)

    def _written(self, then, path: str) -> None:
        self.status.setText(f"Wrote {path}")
        self.file_written.emit(path)
        if then is not None:
            then(path)

    def open_in_open3d(self):
        """Write the cloud to a temporary .ply and show it in Open3D's window, in a separate process."""
        self._temp_dir = self._temp_dir or tempfile.mkdtemp(prefix="sapiens-3d-")
        self._viewer_count += 1
        path = os.path.join(self._temp_dir, f"{self._stem()}-{self._viewer_count}.ply")
        return self.export_ply(path, then=self._start_viewer)

    def _start_viewer(self, path: str) -> QProcess:
        program, *args = viewer_command(path, self.size_spin.value(), f"{Path(path).stem} - Sapiens Studio")
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        # The child must find sapiens_core even when the app runs from a source checkout that is not installed.
        env.insert("PYTHONPATH", os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[1]),
                                                            env.value("PYTHONPATH")) if p))
        process.setProcessEnvironment(env)
        process.setStandardOutputFile(QProcess.nullDevice())  # Open3D chats on stdout; stderr carries errors
        process.finished.connect(functools.partial(self._viewer_finished, process, path))
        process.errorOccurred.connect(functools.partial(self._viewer_error, process, path))
        self._processes.append(process)
        process.start(program, args)
        self.status.setText("Opened in Open3D's window (a separate program).")
        return process

    def _viewer_error(self, process: QProcess, path: str, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:  # other errors are followed by finished
            self._viewer_finished(process, path, -1, None, f"could not start: {process.errorString()}")

    def _viewer_finished(self, process: QProcess, path: str, code: int, status, why: str = "") -> None:
        if process not in self._processes:
            return
        self._processes.remove(process)
        if status == QProcess.ExitStatus.CrashExit:
            why = "crashed (the app is unaffected)"
        elif code != 0 and not why:
            lines = bytes(process.readAllStandardError()).decode(errors="replace").strip().splitlines()
            why = f"failed: {lines[-1] if lines else f'exit code {code}'}"
        message = f"The Open3D viewer {why}" if why else ""
        process.deleteLater()
        Path(path).unlink(missing_ok=True)
        if message:
            self.status.setText(message)
        self.viewer_finished.emit(message)

    def close_viewers(self) -> None:
        """Close any Open3D windows and remove the temporary files (call when the app closes)."""
        processes, self._processes = self._processes, []  # closed on purpose: no "crashed" message
        for process in processes:
            process.kill()
            process.waitForFinished(3000)
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None
