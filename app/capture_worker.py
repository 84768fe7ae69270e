"""Live capture off the GUI thread: one reader thread and one inference thread per opened source.

    reader --(newest frame only)--> inference --(newest result only)--> GUI

Both hand-offs are one-item slots (``LatestSlot``): a newer item replaces one nobody has taken yet, and
the replaced item counts as dropped. A slow model therefore never builds a queue: the display lags the
source by at most one inference, whatever the source's frame rate.

Pacing of video files (``realtime``):

* True (the default): frames are read at the file's native fps, as a camera would deliver them, and the
  ones that arrive while the model is busy are dropped. The video plays at its own speed, annotated as
  often as the model allows.
* False: the reader waits until the inference thread took the previous frame, so every frame is
  processed, as fast as inference allows (frame-by-frame analysis, the benchmark, deterministic tests).

Cameras are always real time: holding a camera back would only fill its driver buffer with stale frames.
"""

from __future__ import annotations

import collections
import copy
import logging
import math
import queue
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal

from sapiens_core.io.atomic import atomic_write_bytes
from sapiens_core.pipeline import Frame

from .inference import annotation_path

log = logging.getLogger(__name__)

DEFAULT_FPS = 25.0          # when a file does not say (or says something absurd)
CAMERA_FAIL_LIMIT = 20      # consecutive failed camera reads (~1 s) before we call the camera gone
CAMERA_RETRY_S = 0.05
POLL_S = 0.1                # how often idle threads look at their stop flag


class CaptureError(Exception):
    """A source cannot be opened or read; the message is one line for the user."""


# ---------------------------------------------------------------------------------------------- hand-off

class LatestSlot:
    """A one-item mailbox: ``put`` replaces what is there (counted in ``dropped``), ``take`` empties it.

    ``close(reason)`` tells the consumer no more items will come; items already in the slot are still taken
    first, so the last frame of a video is processed before "end of video" is reported.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Any = None
        self._full = False
        self.closed: str | None = None
        self.dropped = 0

    def put(self, item: Any) -> bool:
        """Store ``item``; True when the slot was empty (the consumer may need a wake-up call)."""
        with self._cond:
            was_empty = not self._full
            if self._full:
                self.dropped += 1
            self._item, self._full = item, True
            self._cond.notify_all()
            return was_empty

    def take(self, timeout: float | None = None) -> Any:
        """The item, or None after ``timeout`` or once closed and empty."""
        with self._cond:
            self._cond.wait_for(lambda: self._full or self.closed is not None, timeout)
            return self._pop()

    def take_nowait(self) -> Any:
        with self._cond:
            return self._pop()

    def clear(self) -> None:
        """Forget the item without counting it as dropped (it was discarded on purpose)."""
        with self._cond:
            self._pop()

    def wait_empty(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._full, timeout)

    def close(self, reason: str) -> None:
        with self._cond:
            if self.closed is None:
                self.closed = reason
            self._cond.notify_all()

    def _pop(self) -> Any:
        if not self._full:
            return None
        item, self._item, self._full = self._item, None, False
        self._cond.notify_all()
        return item


# ---------------------------------------------------------------------------------------------- sources

@dataclass
class SourceInfo:
    kind: str                 # "camera" or "file"
    source: int | str         # camera index or file path
    label: str                # "Camera 0" or the file name
    width: int
    height: int
    fps: float
    frame_count: int          # 0 when unknown (cameras, some containers)


@dataclass
class CaptureResult:
    index: int                # frame number in the source (files: position in the video)
    rgb: np.ndarray
    doc: Any                  # Annotation, or None when no models are chosen
    token: int                # which play/step command read it (the panel shows only current tokens)
    t_read: float             # perf_counter() when the frame was read
    infer_s: float            # time inside pipeline.run


def source_label(source: int | str) -> str:
    return f"Camera {source}" if isinstance(source, int) else Path(source).name


def probe_cameras(max_index: int = 4) -> list[int]:
    """Camera indices that open. On Linux only /dev/video* nodes are tried, so a machine without cameras
    answers at once; elsewhere indices 0..max_index-1 are tried (run this off the GUI thread)."""
    if sys.platform.startswith("linux"):
        nodes = sorted(int(p.name[5:]) for p in Path("/dev").glob("video*") if p.name[5:].isdigit())
        candidates = nodes[:8]
    else:
        candidates = list(range(max_index))
    found = []
    for index in candidates:
        cap = cv2.VideoCapture(index)
        try:
            if cap.isOpened():
                found.append(index)
        finally:
            cap.release()
    return found


def open_capture(source: int | str) -> cv2.VideoCapture:
    """An opened ``cv2.VideoCapture`` or a CaptureError saying why not."""
    if isinstance(source, int):
        cap = cv2.VideoCapture(source)
        if not cap.isOpened():
            cap.release()
            raise CaptureError(f"Camera {source} is not available (unplugged, or in use by another program?)")
        return cap
    path = Path(source)
    if not path.is_file():
        raise CaptureError(f"Cannot open {path.name}: no such file")
    # FFmpeg first: the default backend choice may treat image files or names with % as image sequences.
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise CaptureError(f"Cannot open {path.name}: not a video file OpenCV can read")
    return cap


def _read_rgb(cap: cv2.VideoCapture) -> np.ndarray | None:
    ok, bgr = cap.read()
    if not ok or bgr is None or bgr.ndim != 3:
        return None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


# ---------------------------------------------------------------------------------------------- pipeline

class PipelineHolder:
    """The loaded pipeline, kept across sessions while the chosen models stay the same.

    ``lock`` is held around every load and run: a stopped session's last inference may still be running
    when the next session starts, and two threads must never use (or close) one pipeline together.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._key: Any = None
        self._pipeline: Any = None

    def get(self, key: Any, factory: Callable[[], Any]) -> Any:
        """Call with ``lock`` held, off the GUI thread: the pipeline for ``key``, loading it on a change."""
        if self._pipeline is None or self._key != key:
            self._close()
            self._pipeline = factory()
            self._key = key
        return self._pipeline

    def holds(self, key: Any) -> bool:
        return self._pipeline is not None and self._key == key

    def close_later(self) -> None:
        """Close the pipeline once no run holds it, without making the caller (the GUI) wait."""
        def close():
            with self.lock:
                self._close()
        threading.Thread(target=close, name="capture-pipeline-close", daemon=True).start()

    def _close(self) -> None:
        if self._pipeline is not None and hasattr(self._pipeline, "close"):
            try:
                self._pipeline.close()
            except Exception:  # closing must never take anything down
                log.exception("closing the capture pipeline")
        self._pipeline, self._key = None, None


def describe_pipeline(pipeline: Any) -> str:
    models = getattr(pipeline, "models", None)
    if not isinstance(models, dict):
        return "models ready"
    parts = [f"{t}: {getattr(getattr(m, 'backend', None), 'provider', '?')}" for t, m in models.items()]
    return "models ready (" + ", ".join(parts) + ")"


# ---------------------------------------------------------------------------------------------- session

class CaptureSession(QObject):
    """One opened source, from open to stop / end / error. Signals arrive queued in the GUI thread."""

    opened = Signal(object, object)   # SourceInfo, first frame (RGB) or None
    failed = Signal(str)              # cannot open, cannot load the models, model error: one line
    status = Signal(str)              # "loading models…", "models ready (…)"
    result_ready = Signal()           # a CaptureResult waits in ``results``
    finished = Signal(str)            # the source ended by itself: "end of video", "camera … stopped …"

    def __init__(self, source: int | str, holder: PipelineHolder, model_key: Any,
                 factory: Callable[[], Any] | None, realtime: bool = True):
        super().__init__()
        self.source = source
        self.is_camera = isinstance(source, int)
        self.realtime = realtime or self.is_camera
        self.info: SourceInfo | None = None
        self.unreadable = False              # the source itself could not be opened or read
        self.frames = LatestSlot()
        self.results = LatestSlot()
        self.infer_times: collections.deque = collections.deque(maxlen=1000)  # pipeline.run s (the bench reads)
        self.ready_at: float | None = None   # perf_counter() when the models were loaded
        self._holder = holder
        self._models = (model_key, factory)  # one tuple, swapped whole: the inference thread reads it per frame
        self._commands: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._threads = [threading.Thread(target=self._read_loop, name="capture-reader", daemon=True),
                         threading.Thread(target=self._infer_loop, name="capture-inference", daemon=True)]

    @property
    def dropped(self) -> int:
        return self.frames.dropped + self.results.dropped

    def set_models(self, model_key: Any, factory: Callable[[], Any] | None) -> None:
        """Use other models from the next frame on (loaded in the inference thread, not here)."""
        self._models = (model_key, factory)

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def command(self, name: str, arg: int = 0) -> None:
        """``play``/``step`` (arg: the token frames are tagged with), ``pause``, ``seek`` (arg: frame)."""
        self._commands.put((name, arg))

    def stop(self) -> None:
        """Ask both threads to end; returns at once (an inference in progress finishes in the background)."""
        self._stop.set()
        self.frames.close("stopped")
        self._commands.put(("quit", 0))

    def join(self, timeout: float) -> bool:
        deadline = time.perf_counter() + timeout
        for t in self._threads:
            if t.is_alive():
                t.join(max(0.0, deadline - time.perf_counter()))
        return not any(t.is_alive() for t in self._threads)

    # ---- reader thread
    def _read_loop(self) -> None:
        try:
            cap = open_capture(self.source)
        except Exception as exc:  # CaptureError, or an OpenCV backend error: a message, never a crash
            self.unreadable = True
            self._fail(str(exc) if isinstance(exc, CaptureError) else f"Cannot open {source_label(self.source)}: {exc}")
            return
        try:
            self._read_frames(cap)
        except Exception as exc:
            log.exception("capture reader")
            self._fail(f"{source_label(self.source)}: reading failed: {exc}")
        finally:
            cap.release()

    def _read_frames(self, cap: cv2.VideoCapture) -> None:
        first = _read_rgb(cap)
        if first is None:
            what = "gives no frames" if self.is_camera else "no frame could be read (damaged, or a codec OpenCV lacks)"
            self.unreadable = True
            self._fail(f"Cannot open {source_label(self.source)}: {what}")
            return
        fps = cap.get(cv2.CAP_PROP_FPS)
        fps = fps if math.isfinite(fps) and 0.5 <= fps <= 240 else DEFAULT_FPS
        count = 0 if self.is_camera else max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
        self.info = SourceInfo("camera" if self.is_camera else "file", self.source, source_label(self.source),
                               first.shape[1], first.shape[0], float(fps), count)
        self.opened.emit(self.info, first)
        # A file's first frame is frame 0 and is handed on when playing starts; a camera's is stale by then.
        pending = None if self.is_camera else first
        next_index = 0 if pending is not None else 1
        playing, play_token = False, 0
        clock: tuple[float, int] | None = None    # (time, frame index) pacing started from
        camera_fails = 0

        while not self._stop.is_set():
            try:
                name, arg = self._commands.get(block=not playing, timeout=POLL_S)
            except queue.Empty:
                name, arg = "", 0
            step_token = None
            if name == "quit":
                return
            if name == "play":
                playing, play_token, clock = True, arg, None
            elif name == "pause":
                playing = False
                self.frames.clear()  # read before the pause: the panel would not show it anyway
            elif name == "seek" and not self.is_camera and arg != next_index:
                cap.set(cv2.CAP_PROP_POS_FRAMES, arg)
                pending, next_index, clock = None, arg, None
            elif name == "step":
                step_token = arg
            if name and name != "step":
                continue  # drain all commands before reading: the newest state wins
            if step_token is None:
                if not playing:
                    continue
                if not self._ready.wait(POLL_S):
                    continue  # models still loading: a video waits for them rather than play unseen
                if not self.realtime:
                    if not self.frames.wait_empty(POLL_S):
                        continue  # every-frame mode: the model has not taken the previous frame yet
                elif not self.is_camera:
                    now = time.perf_counter()
                    if clock is None or now - (clock[0] + (next_index - clock[1]) / fps) > 1.0:
                        clock = (now, next_index)  # (re)start pacing; also after a long stall, no burst
                    due = clock[0] + (next_index - clock[1]) / fps
                    if due > now:
                        time.sleep(min(due - now, POLL_S))  # short naps: a pause still answers at once
                        continue
            token = play_token if step_token is None else step_token
            if pending is not None:
                rgb, pending = pending, None
            else:
                rgb = _read_rgb(cap)
            if rgb is None:
                if not self.is_camera:
                    self.frames.close(self._end_of_video(next_index, count))
                    return
                camera_fails += 1
                if camera_fails >= CAMERA_FAIL_LIMIT:
                    self.frames.close(f"{source_label(self.source)} stopped sending frames (unplugged?)")
                    return
                time.sleep(CAMERA_RETRY_S)
                if step_token is not None:
                    self._commands.put(("step", step_token))  # keep the step for the next try
                continue
            camera_fails = 0
            self.frames.put((next_index, rgb, token, time.perf_counter()))
            next_index += 1

    @staticmethod
    def _end_of_video(index: int, count: int) -> str:
        if count and index < count - 1:
            return f"end of video (after frame {index} of {count}: the file may be truncated)"
        return "end of video"

    # ---- inference thread
    def _pipeline(self) -> Any:
        """Call with the holder's lock held: the pipeline for the chosen models (loading them on a change)."""
        key, factory = self._models
        if factory is None:
            return None
        if not self._holder.holds(key):
            self.status.emit("loading models…")
            try:
                pipeline = self._holder.get(key, factory)
            except Exception as exc:
                log.exception("loading the capture models")
                raise CaptureError(f"Cannot load the models: {exc}") from exc
            self.status.emit(describe_pipeline(pipeline))
        return self._holder.get(key, factory)

    def _infer_loop(self) -> None:
        try:
            with self._holder.lock:
                self._pipeline()  # before the first frame: a video waits for its models rather than play unseen
        except CaptureError as exc:
            self._fail(str(exc))
            return
        self.ready_at = time.perf_counter()
        self._ready.set()
        while True:
            item = self.frames.take(POLL_S)
            if self._stop.is_set():
                return
            if item is None:
                if self.frames.closed is not None:
                    self.finished.emit(self.frames.closed)
                    return
                continue
            index, rgb, token, t_read = item
            doc, t0 = None, time.perf_counter()
            try:
                with self._holder.lock:
                    if self._stop.is_set():
                        return
                    # Asked under the lock each time: the models may have changed since the last frame.
                    pipeline = self._pipeline()
                    if pipeline is not None:
                        t0 = time.perf_counter()
                        doc = pipeline.run([Frame(rgb, f"{source_label(self.source)}#{index}")])[0]
            except CaptureError as exc:
                self._fail(str(exc))
                return
            except Exception as exc:
                log.exception("capture inference")
                self._fail(f"The model failed on frame {index}: {exc}")
                return
            infer_s = time.perf_counter() - t0
            self.infer_times.append(infer_s)
            if self._stop.is_set():
                return
            if self.results.put(CaptureResult(index, rgb, doc, token, t_read, infer_s)):
                self.result_ready.emit()

    def _fail(self, message: str) -> None:
        if not self._stop.is_set():
            self.failed.emit(message)
        self.stop()


# ---------------------------------------------------------------------------------------------- snapshots

def write_snapshot(png_path: Path, rgb: np.ndarray, doc: Any) -> Path | None:
    """Write ``rgb`` as a lossless PNG (atomically) and ``doc`` next to it, retargeted at the PNG.

    Returns the annotation path, or None without a document. Raises OSError / ValueError on failure;
    the PNG is written first, so a failing annotation save still leaves the picture.
    """
    png_path.parent.mkdir(parents=True, exist_ok=True)
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"could not encode {png_path.name} as PNG")
    atomic_write_bytes(png_path, encoded.tobytes())
    if doc is None:
        return None
    saved = copy.copy(doc)  # shallow: the arrays are shared, only the path (and revision) differ
    saved.image_path = str(png_path)
    return saved.save(annotation_path(png_path))
