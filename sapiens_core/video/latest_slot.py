"""A one-item hand-off between threads that keeps only the newest item (the capture's frames and results)."""

from __future__ import annotations

import threading
from typing import Any


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
