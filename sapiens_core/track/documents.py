"""Tracking applied to annotation documents, and the tracks file of a video.

``DocumentTracker`` sets ``Person.track_id`` on the persons of consecutive frames' documents (a person's box, or
the box around its labeled points; its detector score; its labeled keypoints). ``TrackLog`` gathers, per track,
the frames and boxes it was seen in, and writes them as one JSON file per video::

    {"format": "sapiens-studio/tracks", "version": 1,
     "video": "clip.mp4", "fps": 25.0, "every": 1, "frame_count": 250,
     "tracks": [{"track_id": 1, "frames": [0, 1, ...], "times": [0.0, 0.04, ...],
                 "boxes": [[x1, y1, x2, y2], ...], "scores": [0.93, ...]}, ...]}

Boxes are float32 values written with their shortest exact digits; a score is null where the person had none.
The log holds a few numbers per person and frame (a one-hour video of five people: about 20 MB), not the frames.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..annotation import Annotation, Person
from ..annotation.person import float32_to_json
from ..io.atomic import atomic_write_text
from .tracker import PersonTracker, TrackerConfig

__all__ = ["DocumentTracker", "TrackLog", "TRACKS_FORMAT"]

TRACKS_FORMAT = "sapiens-studio/tracks"


def _person_box(person: Person) -> np.ndarray | None:
    box = person.box if person.box is not None and np.isfinite(person.box).all() else None
    return box if box is not None else person.labeled_box()


class DocumentTracker:
    """A ``PersonTracker`` over documents; the keypoint schema (and so the OKS sigmas) comes from the first one."""

    def __init__(self, config: TrackerConfig | None = None):
        self.config = config or TrackerConfig()
        self._tracker: PersonTracker | None = None

    def update(self, persons: Iterable[Person], keypoint_schema: str | None) -> None:
        """Set ``track_id`` on each person (None where the tracker gave none, or the person has no extent)."""
        persons = list(persons)
        boxes = [_person_box(p) for p in persons]
        located = [p for p, b in zip(persons, boxes) if b is not None]
        for p, b in zip(persons, boxes):
            if b is None:
                p.track_id = None
        counts = {p.num_keypoints for p in located}
        if self._tracker is None:  # sigmas follow once the first persons show their point count
            self._tracker = PersonTracker(self.config, schema_name=keypoint_schema)
        keypoints = visible = None
        if len(counts) == 1 and counts != {0}:
            keypoints = np.stack([p.keypoints[:, :2] for p in located])
            visible = np.stack([p.visibility > 0 for p in located])
        ids = self._tracker.update(
            np.array([b for b in boxes if b is not None]).reshape(-1, 4),
            np.array([1.0 if p.score is None else p.score for p in located]),
            keypoints,
            visible,
        )
        for person, track_id in zip(located, ids):
            person.track_id = track_id

    def update_document(self, doc: Annotation) -> None:
        self.update(doc.persons, doc.keypoint_schema)


class TrackLog:
    """Frames, times, boxes and scores per track ID, in the order they were added."""

    def __init__(self, video: str, fps: float, every: int = 1, frame_count: int = 0):
        self.video, self.fps, self.every, self.frame_count = video, float(fps), int(every), int(frame_count)
        self._tracks: dict[int, dict[str, list]] = {}

    def add(self, frame_index: int, time_s: float, persons: Iterable[Person]) -> None:
        for person in persons:
            if person.track_id is None:
                continue
            box = _person_box(person)
            entry = self._tracks.setdefault(person.track_id, {"frames": [], "times": [], "boxes": [], "scores": []})
            entry["frames"].append(int(frame_index))
            entry["times"].append(round(float(time_s), 6))
            entry["boxes"].append(None if box is None else float32_to_json(box))
            entry["scores"].append(None if person.score is None or not np.isfinite(person.score) else person.score)

    @property
    def track_ids(self) -> list[int]:
        return sorted(self._tracks)

    def to_json(self) -> dict:
        return {
            "format": TRACKS_FORMAT,
            "version": 1,
            "video": self.video,
            "fps": self.fps,
            "every": self.every,
            "frame_count": self.frame_count,
            "tracks": [{"track_id": tid, **self._tracks[tid]} for tid in self.track_ids],
        }

    def write(self, path: Path) -> Path:
        data = self.to_json()
        # One track per line: a long video's file stays readable and diffable without being one huge line.
        tracks = ",\n".join("  " + json.dumps(t, separators=(",", ":"), allow_nan=False) for t in data.pop("tracks"))
        head = json.dumps(data, allow_nan=False)[:-1]
        body = f"[\n{tracks}\n]" if tracks else "[]"
        atomic_write_text(Path(path), f'{head}, "tracks": {body}}}\n')
        return Path(path)
