"""``python main.py PROJECT_DIR --script FILE.py``: run a Python file against the running app.

The file sees a ``studio`` object that drives the same edits as the menus and the canvas, through the document's
history (so ``studio.undo()`` undoes them, autosave keeps them, and the file list marks them unsaved). The script
runs on the GUI thread; calls that wait (``run``, ``export``, ``wait``) keep the event loop turning meanwhile, so
autosave, background jobs and repaints go on as in an interactive session. The app exits when the script ends:
status 0, or 1 with the traceback on stderr when it raised.
"""

from __future__ import annotations

import runpy
import sys
import time
import traceback
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

from sapiens_core.annotation import Annotation
from sapiens_core.annotation.edits import move_keypoints, set_visibility
from sapiens_core.annotation.tile_edits import paint_mask
from sapiens_core.errors import SapiensError
from sapiens_core.export.split import parse_split
from sapiens_core.schema import class_schema, keypoint_schema

from .jobs.export import ExportRequest, start_export

__all__ = ["Studio", "run_script"]


class ScriptError(SapiensError):
    """A script asked for something the app cannot do (no image open, an unknown keypoint name, …)."""


class Studio:
    """What a script drives. Every edit is one undoable step of the current image's history."""

    def __init__(self, window):
        self.window = window

    # ---------------------------------------------------------------------------------------------- documents

    def open(self, image_path) -> Annotation | None:
        """Show ``image_path`` (adding it to the list) and return its document (None when it has none yet)."""
        path = str(Path(image_path))
        if not Path(path).is_file():
            raise ScriptError(f"no image at {path}")
        window = self.window
        window.add_paths([path])
        window.files.select(path)
        if window.current_path != path:
            window.show_image(path)
        self._settle()
        return self.annotation

    @property
    def annotation(self) -> Annotation | None:
        """The current document (read it freely; change it only through the methods here)."""
        return self.window.annotation

    @property
    def image_path(self) -> str | None:
        return self.window.current_path

    def _doc(self) -> Annotation:
        doc = self.annotation
        if doc is None:
            raise ScriptError("no labels are open: open() an image that has labels, or run() the models first")
        return doc

    def _index(self, doc: Annotation, name: str | int) -> int:
        if isinstance(name, (int, np.integer)):
            return int(name)
        if not doc.keypoint_schema:
            raise ScriptError("the document names no keypoint schema; give keypoint indices instead of names")
        return keypoint_schema(doc.keypoint_schema).index(name)

    def _push(self, edit) -> None:
        documents = self.window.documents
        documents.seal()
        if edit is not None:
            documents.push(edit)
        documents.seal()
        self._settle()

    # ---------------------------------------------------------------------------------------------- edits

    def move_keypoint(self, person_id: int, keypoint_name: str | int, x: float, y: float) -> None:
        doc = self._doc()
        self._push(move_keypoints(doc, person_id, [self._index(doc, keypoint_name)], [[x, y]]))

    def set_visibility(self, person_id: int, keypoint_name: str | int, v: int) -> None:
        doc = self._doc()
        self._push(set_visibility(doc, person_id, [self._index(doc, keypoint_name)], int(v)))

    def paint_polygon(self, class_name: str, points) -> int:
        """Fill the polygon (image pixels, [(x, y), ...]) with ``class_name`` on the part map; returns how many
        pixels changed class."""
        doc = self._doc()
        if doc.part_map is None or not doc.class_schema:
            raise ScriptError("the document has no part map to paint on (run a segmentation model first)")
        value = class_schema(doc.class_schema).index(class_name)
        mask = np.zeros(doc.part_map.shape, np.uint8)
        polygon = np.round(np.asarray(points, np.float64).reshape(-1, 2)).astype(np.int32)
        cv2.fillPoly(mask, [polygon], 1)
        before = doc.part_map.copy()
        self._push(paint_mask(doc, "part_map", mask.astype(bool), value))
        return int((before != doc.part_map).sum())

    def undo(self) -> None:
        self.window.documents.undo()
        self._settle()

    def redo(self) -> None:
        self.window.documents.redo()
        self._settle()

    def save(self) -> Path | None:
        path = self.window.documents.save()
        self._settle()
        return path

    # ---------------------------------------------------------------------------------------------- jobs

    def run(self, timeout: float = 900) -> Annotation | None:
        """Run the chosen models on the current image (as Ctrl+R) and wait for the result."""
        job = self.window.run_current()
        if job is None:
            raise ScriptError("nothing to run: open an image and choose models first")
        self._wait_job(job, timeout)
        return self.annotation

    def export(self, format: str, out, only_reviewed: bool = False, split: str | None = None, seed: int = 0):
        """Export the current image's project folder (unsaved edits are saved first); returns the summary."""
        folder = self.window.workflow.project_folder()
        if folder is None:
            raise ScriptError("open an image first: its project folder is what gets exported")
        self.window.workflow.save_all()
        request = ExportRequest(folder, format, Path(out), only_reviewed, parse_split(split, seed) if split else None)
        job = start_export(self.window.runner, request)
        self._wait_job(job, 3600)
        return job.result

    def _wait_job(self, job, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not job.done.is_set() or job in self.window.runner.active:
            if time.monotonic() > deadline:
                job.cancel()
                raise ScriptError(f"{job.name} did not finish within {timeout:g} s")
            self._spin(0.02)
        self._settle()
        if job.error:
            raise ScriptError(job.error)
        if job.is_cancelled:
            raise ScriptError(f"{job.name} was cancelled")

    # ---------------------------------------------------------------------------------------------- time

    def wait(self, seconds: float) -> None:
        """Let ``seconds`` pass with the event loop running (autosave, jobs and repaints carry on)."""
        deadline = time.monotonic() + float(seconds)
        while (left := deadline - time.monotonic()) > 0:
            self._spin(min(left, 0.05))

    def autosave_now(self) -> None:
        """Write the recovery files now instead of after the autosave delay, and wait for them."""
        self.window.workflow.autosave.flush()
        self.window.workflow.autosave.wait_idle()

    @staticmethod
    def _spin(seconds: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(max(int(seconds * 1000), 0), loop.quit)
        loop.exec()

    @staticmethod
    def _settle() -> None:
        QCoreApplication.processEvents()

    # ---------------------------------------------------------------------------------------------- recovery

    def recovery_available(self) -> bool:
        """Unsaved edits left by an earlier session (a crash) are waiting to be restored."""
        return bool(self.window.workflow.pending_recovery)

    def restore_recovery(self) -> list[str]:
        """Open them as unsaved edits; returns the images restored."""
        restored = self.window.workflow.restore_recovery()
        self._settle()
        return restored


def run_script(app, window, script: Path) -> int:
    """Run ``script`` once the event loop runs; quit when it ends. Returns the exit status."""
    result = {"code": 0}

    def body() -> None:
        try:
            runpy.run_path(str(script), init_globals={"studio": Studio(window)}, run_name="__main__")
        except SystemExit as exc:
            result["code"] = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            result["code"] = 1
        finally:
            sys.stdout.flush()
            window.close()
            app.quit()

    QTimer.singleShot(0, body)
    app.exec()
    return result["code"]
