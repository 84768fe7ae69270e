"""The background capture session: one reader thread and one inference thread per opened source.

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

Persons keep their IDs from frame to frame (``sapiens_core.track``: box IoU and keypoint similarity, a person
hidden for a few frames comes back with the same ID); ``smooth`` also filters each track's keypoints over time
(One-Euro), for overlays that do not jitter. A frame that is not after the last one (a seek back, a replay)
starts the tracks afresh.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal

from sapiens_core.pipeline import Frame
from sapiens_core.track import DocumentTracker, KeypointSmoother
from sapiens_core.video import (
    LatestSlot,
    SourceInfo,
    VideoError,
    end_of_video_message,
    open_capture,
    read_rgb,
    source_info,
    source_label,
)

from .models import PipelineHolder, describe_ready

log = logging.getLogger(__name__)

CAMERA_FAIL_LIMIT = 20  # consecutive failed camera reads (~1 s) before we call the camera gone
CAMERA_RETRY_S = 0.05
POLL_S = 0.1  # how often idle threads look at their stop flag
# One-Euro for overlays: with beta 0 a person walking 160 px/s trails by ~25 px at 20 fps; beta 0.01 cuts that
# to ~6 px while still taking about 40 % of the jitter out (measured on a synthetic walk with 3 px noise).
LIVE_SMOOTHING = {"min_cutoff": 1.0, "beta": 0.01}


class ModelLoadError(Exception):
    """The chosen models cannot be loaded; the message is one line for the user."""


@dataclass
class CaptureResult:
    index: int  # frame number in the source (files: position in the video)
    rgb: np.ndarray
    doc: Any  # Annotation, or None when no models are chosen
    token: int  # which play/step command read it (the panel shows only current tokens)
    t_read: float  # perf_counter() when the frame was read
    infer_s: float  # time inside pipeline.run


class CaptureSession(QObject):
    """One opened source, from open to stop / end / error. Signals arrive queued in the GUI thread."""

    opened = Signal(object, object)  # SourceInfo, first frame (RGB) or None
    failed = Signal(str)  # cannot open, cannot load the models, model error: one line
    status = Signal(str)  # "loading models…", "models ready (…)"
    result_ready = Signal()  # a CaptureResult waits in ``results``
    finished = Signal(str)  # the source ended by itself: "end of video", "camera … stopped …"

    def __init__(
        self,
        source: int | str,
        holder: PipelineHolder,
        model_key: Any,
        factory: Callable[[], Any] | None,
        realtime: bool = True,
        smooth: bool = False,
    ):
        super().__init__()
        self.source = source
        self.is_camera = isinstance(source, int)
        self.realtime = realtime or self.is_camera
        self.info: SourceInfo | None = None
        self.unreadable = False  # the source itself could not be opened or read
        self.frames = LatestSlot()
        self.results = LatestSlot()
        self.infer_times: collections.deque = collections.deque(maxlen=1000)  # pipeline.run s (the bench reads)
        self.ready_at: float | None = None  # perf_counter() when the models were loaded
        self.smooth = smooth  # read by the inference thread per frame: a checkbox may change it while playing
        self._tracker = DocumentTracker()
        self._smoother = KeypointSmoother(**LIVE_SMOOTHING)
        self._last_index: int | None = None
        self._holder = holder
        self._models = (model_key, factory)  # one tuple, swapped whole: the inference thread reads it per frame
        self._commands: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._threads = [
            threading.Thread(target=self._read_loop, name="capture-reader", daemon=True),
            threading.Thread(target=self._infer_loop, name="capture-inference", daemon=True),
        ]

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
        except Exception as exc:  # VideoError, or an OpenCV backend error: a message, never a crash
            self.unreadable = True
            self._fail(str(exc) if isinstance(exc, VideoError) else f"Cannot open {source_label(self.source)}: {exc}")
            return
        try:
            self._read_frames(cap)
        except Exception as exc:
            log.exception("capture reader")
            self._fail(f"{source_label(self.source)}: reading failed: {exc}")
        finally:
            cap.release()

    def _read_frames(self, cap: cv2.VideoCapture) -> None:
        first = read_rgb(cap)
        if first is None:
            what = "gives no frames" if self.is_camera else "no frame could be read (damaged, or a codec OpenCV lacks)"
            self.unreadable = True
            self._fail(f"Cannot open {source_label(self.source)}: {what}")
            return
        self.info = source_info(cap, self.source, first)
        fps, count = self.info.fps, self.info.frame_count
        self.opened.emit(self.info, first)
        # A file's first frame is frame 0 and is handed on when playing starts; a camera's is stale by then.
        pending = None if self.is_camera else first
        next_index = 0 if pending is not None else 1
        playing, play_token = False, 0
        clock: tuple[float, int] | None = None  # (time, frame index) pacing started from
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
                rgb = read_rgb(cap)
            if rgb is None:
                if not self.is_camera:
                    self.frames.close(end_of_video_message(next_index, count))
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
                raise ModelLoadError(f"Cannot load the models: {exc}") from exc
            self.status.emit(describe_ready(pipeline))
        return self._holder.get(key, factory)

    def _infer_loop(self) -> None:
        try:
            with self._holder.lock:
                self._pipeline()  # before the first frame: a video waits for its models rather than play unseen
        except ModelLoadError as exc:
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
            except ModelLoadError as exc:
                self._fail(str(exc))
                return
            except Exception as exc:
                log.exception("capture inference")
                self._fail(f"The model failed on frame {index}: {exc}")
                return
            infer_s = time.perf_counter() - t0
            self.infer_times.append(infer_s)
            if doc is not None:
                self._follow(doc, index, t_read)
            if self._stop.is_set():
                return
            if self.results.put(CaptureResult(index, rgb, doc, token, t_read, infer_s)):
                self.result_ready.emit()

    def _follow(self, doc: Any, index: int, t_read: float) -> None:
        """Track IDs (and, when asked, smoothed keypoints) for the persons of this frame, in place."""
        if self._last_index is not None and index <= self._last_index:
            self._tracker, self._smoother = DocumentTracker(), KeypointSmoother(**LIVE_SMOOTHING)
        self._last_index = index
        self._tracker.update_document(doc)
        if self.smooth:
            fps = self.info.fps if self.info is not None and not self.is_camera else 0.0
            # A file's own clock (frames may be dropped, never reordered); a camera's is the read time.
            self._smoother.smooth(index / fps if fps > 0 else t_read, doc.persons)

    def _fail(self, message: str) -> None:
        if not self._stop.is_set():
            self.failed.emit(message)
        self.stop()
