"""Live loss and eval curves of a run, polled from its ``metrics.jsonl`` (pyqtgraph ``PlotWidget``: plain
QGraphicsView drawing, so it works offscreen and over remote desktops where GL widgets do not)."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QWidget

from .metrics import METRICS_NAME, Curves, MetricsReader

# Distinct pens for the eval metrics (AP, AP50, AR, mIoU, ...), in the order they first appear.
_EVAL_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


class CurvesWidget(QWidget):
    POLL_MS = 500  # a timer, not QFileSystemWatcher: file watches miss appends on network drives and some OSes

    def __init__(self, parent=None):
        super().__init__(parent)
        self.loss_plot = pg.PlotWidget(title="Training loss")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.showGrid(x=True, y=True, alpha=0.3)
        self.loss_curve = self.loss_plot.plot([], [], pen=pg.mkPen("#1f77b4", width=2))
        self.eval_plot = pg.PlotWidget(title="Evaluation (held-out images)")
        self.eval_plot.setLabel("bottom", "step")
        self.eval_plot.showGrid(x=True, y=True, alpha=0.3)
        self.eval_plot.addLegend(offset=(-10, 10))
        self.eval_curves: dict[str, pg.PlotDataItem] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.eval_plot)
        self.reader: MetricsReader | None = None
        self.curves = Curves()
        self.timer = QTimer(self, interval=self.POLL_MS)
        self.timer.timeout.connect(self.poll)

    def watch(self, run_dir: Path) -> None:
        """Follow a run folder from the start of its metrics (a resumed run's earlier steps show too)."""
        self.reader = MetricsReader(Path(run_dir) / METRICS_NAME)
        self.curves = Curves()
        self.loss_curve.setData([], [])
        for item in self.eval_curves.values():
            self.eval_plot.removeItem(item)
        self.eval_curves.clear()
        self.poll()
        self.timer.start()

    def stop(self) -> None:
        """Stop polling after one last read (the trainer's final lines land just before it exits)."""
        self.poll()
        self.timer.stop()

    def poll(self) -> None:
        if self.reader is None or not self.curves.add(self.reader.read_new()):
            return
        self.loss_curve.setData(self.curves.steps, self.curves.losses)
        for name, (xs, ys) in self.curves.evals.items():
            if name not in self.eval_curves:
                colour = _EVAL_COLOURS[len(self.eval_curves) % len(_EVAL_COLOURS)]
                # Symbols: evaluations are few (one per epoch), a line alone would hide single points.
                pen = pg.mkPen(colour, width=2)
                self.eval_curves[name] = self.eval_plot.plot([], [], pen=pen, symbol="o", symbolBrush=colour, name=name)
            self.eval_curves[name].setData(xs, ys)
