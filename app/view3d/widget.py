"""The 3D view: the current image's depth as a point cloud to orbit, coloured by the photo or by body part,
linked back to the 2D canvas (click a point -> ``point_picked(x, y)`` with its source pixel). Where the image has
a Sapiens2 pointmap, that is shown instead: a metric cloud (meters) that needs no focal length or relief, with the
focal length the model implies in the status line.

Why it is built this way:

* A GL failure must never take the app down. The GL widget (``gl_points``) is only made once the view is
  first really shown, and only after the GL probe succeeded; otherwise, and when GL fails later, the
  drawing area (``display``) shows a label saying why. Export and "Open in Open3D" work either way.
* Open3D's window cannot be embedded in Qt, so "Open in Open3D" runs it as a separate process
  (``open3d_launcher``): a crash there is reported, not shared.
* Clouds of more than ``SYNC_PIXELS`` depth pixels are built on the JobRunner; results carry a generation
  number so a slow old build never overwrites a newer one. "auto" stride keeps at most ``MAX_POINTS``
  points, which software GL still orbits smoothly. The cloud itself, its colours and picking are plain
  arrays (``cloud``).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QVBoxLayout, QWidget

from sapiens_core.geometry import build_point_cloud, write_ply

from .cloud import Cloud, build_cloud, build_metric_cloud, cloud_colors, display_positions, plain_colors, rgba
from .controls import View3DControls
from .display import CloudDisplay
from .open3d_launcher import Open3DViewers

log = logging.getLogger(__name__)

SYNC_PIXELS = 1_000_000  # depth maps larger than this are back-projected on the job runner


class View3DWidget(QWidget):
    point_picked = Signal(int, int)  # source pixel (x, y) of the clicked point
    cloud_changed = Signal(int)  # number of points now shown (0: nothing to show)
    file_written = Signal(str)  # an exported .ply
    viewer_finished = Signal(str)  # "" when the Open3D window closed normally, else what went wrong

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
        self.cloud: Cloud | None = None
        self.colors: np.ndarray | None = None  # (N, 3) of the shown cloud
        self._positions = np.zeros((0, 3), np.float32)  # display frame: centred, z up
        self._extent = 1.0  # the cloud's size
        self._generation = 0
        self._dirty = False
        self._reset_camera = True  # frame the next cloud from the photo's camera
        self._dock = None  # the QDockWidget we live in, if any
        self._note = "No image yet."  # why there is nothing to show, "" when there is
        self.viewers = Open3DViewers(self)
        self.viewers.finished.connect(self._viewer_finished)
        self._build_ui()

    def _build_ui(self) -> None:
        self.controls = View3DControls()
        c = self.controls
        self.color_combo, self.focal_spin, self.relief_spin, self.size_spin, self.stride_spin = (
            c.color_combo,
            c.focal_spin,
            c.relief_spin,
            c.size_spin,
            c.stride_spin,
        )
        self.reset_button, self.export_button, self.open3d_button = c.reset_button, c.export_button, c.open3d_button
        self.stack = CloudDisplay()
        self.message = self.stack.message
        self.status = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.status)

        self._rebuild_timer = QTimer(self, singleShot=True, interval=120)  # one rebuild per burst of spin steps
        self._rebuild_timer.timeout.connect(self._rebuild)
        c.shape_changed.connect(self._schedule_rebuild)
        self.color_combo.currentIndexChanged.connect(self._recolor)
        self.size_spin.valueChanged.connect(self.stack.set_point_size)
        self.reset_button.clicked.connect(self.reset_view)
        self.export_button.clicked.connect(self._export_dialog)
        self.open3d_button.clicked.connect(self.open_in_open3d)
        self.stack.point_clicked.connect(self._clicked)
        self.stack.gl_lost.connect(self._refresh)
        self._refresh()

    @property
    def view(self):
        """The GL view (a ``CloudGLView``) once made; None while hidden or without GL."""
        return self.stack.view

    def _refresh(self) -> None:
        """The message (why no GL, why no cloud), which page shows, and which buttons work."""
        has_points = self.cloud is not None and len(self.cloud.points) > 0
        no_gl = self.stack.no_gl
        lines = [f"3D view unavailable: {no_gl}."] if no_gl else []
        lines += [self._note] if self._note else []
        if no_gl and has_points:
            lines.append('"Export .ply…" and "Open in Open3D" still work.')
        self.message.setText("\n".join(lines))
        self.stack.show_page(view=not self._note)
        self.controls.enable(has_points, self.view is not None)

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
        self._create_view()
        if self._dirty:
            self._schedule_rebuild(immediately=True)

    def _create_view(self) -> None:
        """Make the GL view if it can be made and is not made yet."""
        if self.stack.make_view() and self._reset_camera:
            self.reset_view()
        self._refresh()

    # ------------------------------------------------------------------ data
    def set_data(self, image_rgb, annotation) -> None:
        """Show ``annotation``'s depth (with ``image_rgb`` for colours); either may be None to clear."""
        old = self.annotation
        self.image, self.annotation = image_rgb, annotation
        self.controls.allow_parts(
            bool(annotation is not None and annotation.part_map is not None and annotation.class_schema)
        )
        # New results for the same image keep the user's viewpoint; another image starts from its camera.
        same_image = old is not None and annotation is not None and old.image_path == annotation.image_path
        self._reset_camera = self._reset_camera or not same_image or not len(self._positions)
        self._schedule_rebuild(immediately=True)

    def _schedule_rebuild(self, *_, immediately: bool = False) -> None:
        if not self._really_shown():  # a hidden dock costs nothing; _activate catches up
            self._dirty = True
            return
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
        metric = doc is not None and doc.pointmap is not None
        self.controls.set_metric(metric)  # focal and relief only shape a relative depth's cloud
        if doc is None or (doc.depth is None and not metric):
            self._cloud_ready(None, "No image yet." if doc is None else "No depth for this image: run a depth model.")
            return
        if metric:
            build = functools.partial(
                build_metric_cloud, self._generation, doc.pointmap, doc.foreground, self.stride_spin.value()
            )
        else:
            build = functools.partial(
                build_cloud,
                self._generation,
                doc.depth,
                doc.foreground,
                self.focal_spin.value() * max(doc.depth.shape),
                self.relief_spin.value(),
                self.stride_spin.value(),
            )
        pixels = doc.pointmap.shape[0] * doc.pointmap.shape[1] if metric else doc.depth.size
        if self.runner is not None and pixels > SYNC_PIXELS:
            self.status.setText("Building the point cloud…")
            self.runner.start(
                "3D point cloud",
                lambda report: build(),
                lambda job: self._job_slots.__setitem__(job, self._cloud_ready),
            )
            return
        try:
            self._cloud_ready(build())
        except ValueError as exc:  # e.g. a foreground mask of another size
            self._cloud_ready(None, f"Cannot build the point cloud: {exc}")

    def _cloud_ready(self, cloud: Cloud | None, note: str = "") -> None:
        if cloud is not None and cloud.generation != self._generation:
            return  # a newer build was requested meanwhile
        self.cloud = cloud
        positions, extent = display_positions(cloud.points if cloud is not None else np.zeros((0, 3)))
        if cloud is not None and not len(positions):
            note = "No foreground depth to show."
        self._positions, self._extent, self._note = positions, extent, note
        self.status.setText(self._describe(cloud, len(positions)) if len(positions) else "")
        self._recolor()
        if self._reset_camera and self.view is not None:
            self.reset_view()
        self._refresh()
        self.cloud_changed.emit(len(positions))

    def _describe(self, cloud: Cloud, count: int) -> str:
        text = f"{count:,} points, stride {cloud.stride}"
        if not cloud.metric:
            return text
        focal = (self.annotation.models.get("pointmap") or {}).get("focal_length_px") if self.annotation else None
        implied = f"; focal length implied by the model: {focal:.0f} px" if focal else ""
        return f"{text}; metric (pointmap, meters){implied}"

    def _recolor(self, *_) -> None:
        try:
            self.colors = cloud_colors(self.cloud, self.controls.color_source, self.image, self.annotation)
        except (ValueError, KeyError) as exc:  # an image of another size, an unknown class set
            self.status.setText(f"Cannot colour the points: {exc}")
            self.colors = plain_colors(0 if self.cloud is None else len(self.cloud.pixels))
        self._show_cloud()

    def _show_cloud(self) -> None:
        count = len(self._positions)
        self.stack.show_points(self._positions, self._extent, rgba(self.colors, count), self.size_spin.value())

    def reset_view(self) -> None:
        """Look at the cloud from the photo's camera, far enough back to see all of it."""
        if self.view is not None:  # else done when the GL view is made
            self._reset_camera = False
            self.stack.reset_view()

    # ------------------------------------------------------------------ picking
    def screen_positions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every shown point's position in GL-view pixels, its distance from the eye, and in-front mask."""
        return self.view.screen_positions()

    def pick(self, x: float, y: float) -> int | None:
        """Index of the point under pixel (x, y) of the GL view, or None."""
        return self.stack.pick(x, y)

    def _clicked(self, index: int) -> None:
        self.stack.mark(index)
        px, py = (int(v) for v in self.cloud.pixels[index])
        self.status.setText(f"{len(self._positions):,} points; picked pixel ({px}, {py})")
        self.point_picked.emit(px, py)

    # ------------------------------------------------------------------ files and the Open3D viewer
    def _stem(self) -> str:
        return Path(self.annotation.image_path).stem if self.annotation is not None else "cloud"

    def _export_dialog(self) -> None:
        folder = Path(self.annotation.image_path).parent if self.annotation is not None else Path.home()
        path, _ = QFileDialog.getSaveFileName(
            self, "Export point cloud", str(folder / f"{self._stem()}_cloud.ply"), "PLY point cloud (*.ply)"
        )
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
        return self.export_ply(self.viewers.new_path(self._stem()), then=self._start_viewer)

    def _start_viewer(self, path: str):
        process = self.viewers.start(path, self.size_spin.value(), f"{Path(path).stem} - Sapiens Studio")
        self.status.setText("Opened in Open3D's window (a separate program).")
        return process

    def _viewer_finished(self, message: str) -> None:
        if message:
            self.status.setText(message)
        self.viewer_finished.emit(message)

    def close_viewers(self) -> None:
        """Close any Open3D windows and remove the temporary files (call when the app closes)."""
        self.viewers.close_all()
