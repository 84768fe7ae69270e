"""Which frame of which video a document's image is: what PoseTrack-style exports call ``vid_id`` and ``frame_id``."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["VideoRef"]


@dataclass(frozen=True)
class VideoRef:
    name: str  # the video's file name, e.g. "clip.mp4" (not a path: the frame's own image is the document's image)
    frame_index: int  # position of the frame in the video, from 0 (before any every-N-th thinning)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"video name must be a non-empty string, not {self.name!r}")
        if isinstance(self.frame_index, bool) or not isinstance(self.frame_index, int) or self.frame_index < 0:
            raise ValueError(f"frame index must be a non-negative integer, not {self.frame_index!r}")

    def to_json(self) -> dict:
        return {"name": self.name, "frame_index": self.frame_index}

    @classmethod
    def from_json(cls, data: object) -> VideoRef:
        if not isinstance(data, dict) or set(data) != {"name", "frame_index"}:
            raise ValueError(f'video must be {{"name": ..., "frame_index": ...}}, not {str(data)[:80]}')
        return cls(data["name"], data["frame_index"])
