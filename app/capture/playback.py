"""Playback for the capture panel: one ``CaptureSession`` at a time, and which of its results go on screen.

Play and step commands carry a token, and results carry the token of the command that read them: after a
pause only results of later steps are passed on, so the display stays frozen on the frame the user saw.
Sessions that were ended are kept until their threads are gone, and anything they still say is ignored.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from .models import ModelChoice, PipelineHolder
from .worker import CaptureResult, CaptureSession


class CapturePlayback(QObject):
    """Signals come from the current session only, in the GUI thread."""

    opened = Signal(object, object)  # SourceInfo, first frame (RGB) or None
    failed = Signal(str, bool)  # one line for the user, whether the source itself is unreadable
    finished = Signal(str)  # the source ended by itself ("end of video", "camera … stopped …")
    status = Signal(str)  # "loading models…", "models ready (…)"
    shown = Signal(object, bool)  # a CaptureResult to show now, whether it is the first since the open

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.realtime = True  # for sessions opened from now on (see ``worker``)
        self._smooth = False  # One-Euro keypoint smoothing per track (off by default)
        self.models = ModelChoice()
        self.holder = PipelineHolder()
        self.session: CaptureSession | None = None
        self.frames_shown = 0
        self.shown_index: int | None = None  # frame index of the current session's last shown result
        self._old_sessions: list[CaptureSession] = []
        self._token = 0
        self._play_token: int | None = None  # None: not played since the open; -1: paused
        self._step_tokens: set[int] = set()
        self._dropped_before = 0  # drops of earlier sessions since the counters were reset
        self._shown_times: collections.deque = collections.deque(maxlen=30)

    @property
    def dropped(self) -> int:
        """Frames read but never shown because a newer one replaced them (since the last open)."""
        return self._dropped_before + (self.session.dropped if self.session else 0)

    @property
    def smooth(self) -> bool:
        return self._smooth

    @smooth.setter
    def smooth(self, value: bool) -> None:
        """Applies to the running session from its next frame, and to sessions opened later."""
        self._smooth = bool(value)
        if self.session is not None:
            self.session.smooth = self._smooth

    @property
    def has_played(self) -> bool:
        """Play was pressed since the open (Start then reads "Resume")."""
        return self._play_token is not None

    def open(self, source: int | str) -> None:
        """End the current session and start reading ``source``; ``opened`` or ``failed`` follows."""
        self.close()
        self.frames_shown, self._dropped_before, self.shown_index = 0, 0, None
        self._shown_times.clear()
        session = CaptureSession(
            source, self.holder, self.models.key, self.models.factory, self.realtime, smooth=self._smooth
        )
        # Bound methods, so Qt drops the connections if this object is deleted first; the slots ask sender()
        # which session spoke, and ignore any but the current one.
        session.opened.connect(self._on_opened)
        session.failed.connect(self._on_failed)
        session.status.connect(self._on_status)
        session.result_ready.connect(self._on_result)
        session.finished.connect(self._on_finished)
        self.session, self._play_token = session, None
        self._step_tokens.clear()
        session.start()

    def close(self) -> None:
        """End the current session (returns at once; its threads end in the background)."""
        session, self.session = self.session, None
        if session is not None:
            self._dropped_before += session.dropped
            session.stop()
            # Keep it referenced until its threads are gone: they still emit (ignored) signals.
            self._old_sessions = [s for s in self._old_sessions if not s.join(0)] + [session]
        self._play_token = None

    def join(self, timeout: float) -> bool:
        """Wait for the threads of ended sessions; True when all of them are gone."""
        deadline = time.perf_counter() + timeout
        return all(s.join(max(0.0, deadline - time.perf_counter())) for s in self._old_sessions)

    # ---- models (a change while a session runs applies from its next frame)
    def choose_models(self, paths: dict[str, str], device: str = "auto") -> None:
        self.models.set_paths(paths, device)
        self._models_changed()

    def choose_factory(self, factory: Callable[[], Any] | None, key: Any = None) -> None:
        self.models.set_factory(factory, key)
        self._models_changed()

    def refresh_models(self) -> None:
        """Ask the models provider, if there is one, which models are chosen now."""
        if self.models.provider is not None:
            paths, device = self.models.provider()
            self.choose_models(paths, device)

    def _models_changed(self) -> None:
        if self.session is not None:
            self.session.set_models(self.models.key, self.models.factory)

    # ---- commands (with a session open)
    def play(self) -> None:
        self._token += 1
        self._play_token = self._token
        self.session.command("play", self._token)

    def pause(self) -> None:
        self.session.command("pause")
        self._play_token = -1  # results read before the pause are no longer shown
        if not self.session.is_camera:
            # Carry on (Step/Resume) from the frame after the one on screen, not from where the reader got to.
            self.session.command("seek", 0 if self.shown_index is None else self.shown_index + 1)

    def step(self) -> None:
        self._token += 1
        self._step_tokens.add(self._token)
        self.session.command("step", self._token)

    # ---- from the session
    def _current_sender(self) -> CaptureSession | None:
        sender = self.sender()
        return sender if sender is not None and sender is self.session else None

    def _on_opened(self, info, first) -> None:
        if self._current_sender() is not None:
            self.opened.emit(info, first)

    def _on_status(self, text: str) -> None:
        if self._current_sender() is not None:
            self.status.emit(text)

    def _on_failed(self, message: str) -> None:
        if (session := self._current_sender()) is None:
            return
        self.close()
        self.failed.emit(message, session.unreadable)

    def _on_finished(self, reason: str) -> None:
        if self._current_sender() is None:
            return
        self.close()
        self.finished.emit(reason)

    def _on_result(self) -> None:
        if (session := self._current_sender()) is None:
            return
        result: CaptureResult | None = session.results.take_nowait()
        if result is None:
            return
        if result.token in self._step_tokens:
            self._step_tokens.discard(result.token)
        elif result.token != self._play_token:
            return  # read before a pause: the display stays frozen
        first = self.shown_index is None
        self.shown_index = result.index
        self.frames_shown += 1
        self._shown_times.append(time.perf_counter())
        self.shown.emit(result, first)

    def stats_text(self, result: CaptureResult) -> str:
        """The stats line for ``result``, just shown: position, display rate, latency, model time, drops."""
        now = time.perf_counter()
        times = self._shown_times
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
        info = self.session.info if self.session is not None else None
        position = (
            f"frame {result.index + 1}/{info.frame_count}" if info and info.frame_count else f"frame {result.index}"
        )
        return (
            f"{position} · {fps:.1f} fps · latency {(now - result.t_read) * 1000:.0f} ms · "
            f"model {result.infer_s * 1000:.0f} ms · dropped {self.dropped}"
        )
