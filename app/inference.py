"""Loads the chosen models once and runs them on images in background jobs; each result is handed on.

The controller never writes a document: ``image_done`` carries each prediction to the GUI side
(``app.editing.model_output``), which merges it into the image's document keeping a person's corrections and
saves it at once (``<folder>/sapiens_studio/<stem>.json`` plus side files), so a batch over thousands of images
never holds more than one result in memory and a crash loses nothing already predicted.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from sapiens_core.annotation import Annotation
from sapiens_core.errors import SapiensError
from sapiens_core.io.images import read_image
from sapiens_core.pipeline import Frame, Pipeline

from .editing.locations import document_path
from .models.choice import describe_pipeline, open_pipeline
from .workers import JobRunner, Report

log = logging.getLogger(__name__)


def load_existing(image_path: str | Path) -> Annotation | None:
    path = document_path(image_path)
    return Annotation.load(path) if path.is_file() else None


class InferenceController(QObject):
    image_done = Signal(str, object)  # image path, Annotation (emitted from the worker thread; queued to the GUI)
    boxes_done = Signal(str, object)  # the same for a run inside given person boxes (not a whole image's labels)
    image_failed = Signal(str, str)  # image path, why
    pipeline_ready = Signal(str)  # a one-line description of what runs where
    pipeline_failed = Signal(str)

    def __init__(self, runner: JobRunner, parent=None):
        super().__init__(parent)
        self.runner = runner
        self._pipeline: Pipeline | None = None
        self._key: tuple | None = None
        self._lock = threading.Lock()  # one job at a time touches the pipeline

    def _pipeline_for(self, models: dict[str, str], device: str, report: Report) -> Pipeline:
        key = (tuple(sorted(models.items())), device)
        if self._pipeline is None or self._key != key:
            report(0, 0, "loading models…")
            if self._pipeline is not None:
                self._pipeline.close()
                self._pipeline = None
            self._pipeline = open_pipeline(models, device=device)
            self._key = key
            self.pipeline_ready.emit(describe_pipeline(self._pipeline))
        return self._pipeline

    def predict(
        self,
        paths: list[str],
        models: dict[str, str],
        device: str,
        name: str = "Predict",
        connect=None,
        boxes=None,
    ):
        """Start a job predicting ``paths`` one by one; returns the Job (progress, cancel, result = count).
        ``connect(job)`` runs before the job starts (see ``JobRunner.start``). With ``boxes`` ((N, 5) xyxy+score,
        one person each) pose runs inside them and results come as ``boxes_done``, not ``image_done``."""
        done_signal = self.image_done if boxes is None else self.boxes_done
        models = {t: p for t, p in models.items() if p}

        def job(report: Report) -> int:
            with self._lock:
                try:
                    pipeline = self._pipeline_for(models, device, report)
                except Exception as exc:
                    self.pipeline_failed.emit(str(exc))
                    raise
                done = 0
                for i, path in enumerate(paths):
                    report(i, len(paths), Path(path).name)
                    try:
                        image = read_image(path)
                        doc = pipeline.run([Frame(image, str(path), boxes)])[0]
                        del image
                    except (SapiensError, OSError) as exc:  # one bad image must not stop the batch
                        self.image_failed.emit(str(path), str(exc))
                        continue
                    done_signal.emit(str(path), doc)
                    done += 1
                report(len(paths), len(paths), "done")
                return done

        return self.runner.start(name, job, connect)

    def close(self) -> None:
        with self._lock:
            if self._pipeline is not None:
                self._pipeline.close()
                self._pipeline = None
