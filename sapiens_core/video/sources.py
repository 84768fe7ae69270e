"""Video sources: finding cameras, opening a camera or a video file with OpenCV, reading RGB frames.

Everything here may block (a camera driver, a slow disk): the app calls it off the GUI thread.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import SapiensError

DEFAULT_FPS = 25.0  # when a file does not say (or says something absurd)


class VideoError(SapiensError):
    """A camera or video file cannot be opened or read; the message is one line for the user."""


@dataclass
class SourceInfo:
    kind: str  # "camera" or "file"
    source: int | str  # camera index or file path
    label: str  # "Camera 0" or the file name
    width: int
    height: int
    fps: float
    frame_count: int  # 0 when unknown (cameras, some containers)


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
    """An opened ``cv2.VideoCapture`` or a VideoError saying why not."""
    if isinstance(source, int):
        cap = cv2.VideoCapture(source)
        if not cap.isOpened():
            cap.release()
            raise VideoError(f"Camera {source} is not available (unplugged, or in use by another program?)")
        return cap
    path = Path(source)
    if not path.is_file():
        raise VideoError(f"Cannot open {path.name}: no such file")
    # FFmpeg first: the default backend choice may treat image files or names with % as image sequences.
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise VideoError(f"Cannot open {path.name}: not a video file OpenCV can read")
    return cap


def read_rgb(cap: cv2.VideoCapture) -> np.ndarray | None:
    """The next frame as RGB, or None at the end of a file or on a failed camera read."""
    ok, bgr = cap.read()
    if not ok or bgr is None or bgr.ndim != 3:
        return None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def usable_fps(cap: cv2.VideoCapture) -> float:
    """The source's frame rate, or DEFAULT_FPS when it does not say or says something no video has."""
    fps = cap.get(cv2.CAP_PROP_FPS)
    return float(fps) if math.isfinite(fps) and 0.5 <= fps <= 240 else DEFAULT_FPS


def source_info(cap: cv2.VideoCapture, source: int | str, first: np.ndarray) -> SourceInfo:
    """What an opened source is, given its first frame (its size is the truth; containers may say otherwise)."""
    camera = isinstance(source, int)
    count = 0 if camera else max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
    return SourceInfo(
        "camera" if camera else "file",
        source,
        source_label(source),
        first.shape[1],
        first.shape[0],
        usable_fps(cap),
        count,
    )


def end_of_video_message(next_index: int, frame_count: int) -> str:
    """Why a file stopped giving frames at ``next_index``: its end, or earlier than its container promised."""
    if frame_count and next_index < frame_count - 1:
        return f"end of video (after frame {next_index} of {frame_count}: the file may be truncated)"
    return "end of video"
