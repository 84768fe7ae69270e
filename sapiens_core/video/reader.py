"""Reading a video file (or a camera) frame by frame, for headless processing: one frame in memory at a time.

Frames are numbered from 0 in the order the file gives them; a frame's time is ``index / fps`` (the container's
own timestamps are not used: OpenCV reports them unreliably for several containers, and a constant rate is what
PoseTrack-style frame ids assume). ``every=N`` keeps frames 0, N, 2N, …; the frames in between are only
grabbed (demuxed, not converted to RGB), which is cheaper than reading them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from .sources import SourceInfo, VideoError, end_of_video_message, open_capture, read_rgb, source_info, source_label

__all__ = ["VideoFrame", "VideoReader"]


@dataclass(frozen=True)
class VideoFrame:
    index: int  # position in the source, from 0
    time_s: float  # index / fps
    rgb: np.ndarray  # (H, W, 3) uint8


class VideoReader:
    """Iterate the frames of ``source`` (a file path or a camera index), keeping every ``every``-th.

    Opening reads the first frame, so a file OpenCV opens but cannot decode fails here with a VideoError, not
    later in the middle of a run. After the iteration, ``end_message`` says whether the file ended where its
    container said it would ("end of video") or earlier (a truncated file).
    """

    def __init__(self, source: int | str, every: int = 1):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive integer, not {every!r}")
        self.every = every
        self.end_message: str | None = None
        self._cap = open_capture(source)
        try:
            first = read_rgb(self._cap)
        except cv2.error as exc:
            self.close()
            raise VideoError(f"Cannot open {source_label(source)}: {exc}") from None
        if first is None:
            self.close()
            camera = isinstance(source, int)
            what = "gives no frames" if camera else "no frame could be read (damaged, or a codec OpenCV lacks)"
            raise VideoError(f"Cannot open {source_label(source)}: {what}")
        self.info: SourceInfo = source_info(self._cap, source, first)
        self._first: np.ndarray | None = first

    @property
    def fps(self) -> float:
        return self.info.fps

    @property
    def frame_count(self) -> int:
        """Frames the container says it holds; 0 when unknown (cameras, some containers)."""
        return self.info.frame_count

    def expected_frames(self) -> int:
        """How many frames the iteration should yield (0 when the frame count is unknown)."""
        return (self.frame_count + self.every - 1) // self.every

    def __iter__(self) -> Iterator[VideoFrame]:
        """One pass over the source (a second pass finds it at its end)."""
        if self._cap is None:
            raise VideoError(f"{self.info.label} is closed")
        index = 0
        while True:
            if self._first is not None:
                rgb, self._first = self._first, None
            elif index % self.every == 0:
                rgb = read_rgb(self._cap)
            else:
                rgb = None if not self._cap.grab() else _SKIPPED
            if rgb is None:
                self.end_message = end_of_video_message(index, self.frame_count)
                return
            if rgb is not _SKIPPED:
                yield VideoFrame(index, index / self.fps, rgb)
            index += 1

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_SKIPPED = np.empty(0, np.uint8)  # a frame that was grabbed, not decoded
