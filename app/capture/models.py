"""The models the capture runs: which ones are chosen (``ModelChoice``), and the loaded pipeline kept across
capture sessions while that choice stays the same (``PipelineHolder``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from ..models.choice import describe_pipeline

log = logging.getLogger(__name__)


class ModelChoice:
    """The chosen models as a ``key`` (equal keys: the loaded pipeline is reused) and a ``factory`` that loads
    them (called off the GUI thread; None: no models, the frames alone)."""

    def __init__(self) -> None:
        self.key: Any = None
        self.factory: Callable[[], Any] | None = None
        # Asked at each open, Start and Step: (paths, device) the main window currently has chosen.
        self.provider: Callable[[], tuple[dict[str, str], str]] | None = None

    def set_paths(self, paths: dict[str, str], device: str = "auto") -> None:
        """Checkpoints to run, {task: path} (and the person detector's choice, see ``models.choice``); empty paths
        are left out, none at all means no models."""
        paths = {t: str(p) for t, p in paths.items() if p}
        if not paths:
            self.set_factory(None)
            return
        from ..models.choice import open_pipeline

        self.key = ("models", tuple(sorted(paths.items())), device)
        self.factory = partial(open_pipeline, paths, device=device)

    def set_factory(self, factory: Callable[[], Any] | None, key: Any = None) -> None:
        self.factory = factory
        self.key = ("factory", factory if key is None else key)


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


def describe_ready(pipeline: Any) -> str:
    if not isinstance(getattr(pipeline, "models", None), dict):  # a stand-in pipeline a caller injected
        return "models ready"
    return f"models ready ({describe_pipeline(pipeline)})"
