"""Video and camera input without Qt: opening sources, reading frames (every N-th, with index and time), and the
one-item hand-off between a reader thread and a slower consumer that keeps only the newest frame.

The app's capture panel and the headless ``predict clip.mp4`` both read through here.
"""

from .latest_slot import LatestSlot
from .reader import VideoFrame, VideoReader
from .sources import (
    DEFAULT_FPS,
    SourceInfo,
    VideoError,
    end_of_video_message,
    open_capture,
    probe_cameras,
    read_rgb,
    source_info,
    source_label,
    usable_fps,
)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v")  # the app opens the same


def is_video_path(path) -> bool:
    """A file name a video reader should get (by suffix: deciding by content would open every image twice)."""
    return str(path).lower().endswith(VIDEO_SUFFIXES)


__all__ = [
    "DEFAULT_FPS",
    "LatestSlot",
    "SourceInfo",
    "VIDEO_SUFFIXES",
    "VideoError",
    "VideoFrame",
    "VideoReader",
    "end_of_video_message",
    "is_video_path",
    "open_capture",
    "probe_cameras",
    "read_rgb",
    "source_info",
    "source_label",
    "usable_fps",
]
