"""Stable person IDs across the frames of a video or a camera: ByteTrack-style association on boxes and keypoints.

Why our own and not a tracker library: the maintained ByteTrack packagings (``supervision``, ``boxmot``) match boxes
only, and ``boxmot`` is AGPL and pulls appearance models in; ``norfair`` can take a custom keypoint distance but
brings its own Kalman filter package, ages tracks with a hit counter rather than a gap in frames, and still needs
OKS written by us. What we need is small: ByteTrack's two-stage association on detection scores, a similarity that
uses the 308 (or 17, 133) keypoints with their OKS sigmas, and an exact "hidden for at most N frames" rule. So the
matching is ``scipy.optimize.linear_sum_assignment`` and the rest is this file.

Per ``update`` (one processed frame):

1. Every live track predicts where its person is now: the last box and keypoints moved by the track's velocity
   (a constant-velocity model of the box centre, the part of ByteTrack's Kalman filter that matters here: two
   people crossing keep moving apart in the prediction while their boxes overlap on screen).
2. Stage one: confident detections (score >= ``high_score``) against every live track, visible or hidden.
   Similarity = IoU of the boxes, blended with OKS when both share labeled points; pairs below
   ``match_threshold`` never match; the assignment maximises the total similarity.
3. Stage two (ByteTrack's idea): the unsure detections (``low_score`` <= score < ``high_score``, e.g. a person
   half behind another) may only continue a track seen in the previous frame, at a stricter threshold.
   They never start a track.
4. Unmatched confident detections start new tracks. IDs count up from 1 and are never reused.
5. A track missing for more than ``max_gap`` consecutive updates ends; up to then, a person hidden and found
   again keeps the ID (short-gap re-identification).

``max_gap`` counts updates, i.e. processed frames: with ``predict --every 5`` a gap of 6 is 30 frames of video.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from .similarity import box_iou, oks, sigmas_for

__all__ = ["TrackerConfig", "PersonTracker"]


@dataclass(frozen=True)
class TrackerConfig:
    max_gap: int = 30  # updates a track may go unseen and still be found again (1 s of 30 fps video)
    high_score: float = 0.5  # detections at or above start and continue tracks (stage one)
    low_score: float = 0.1  # below: ignored; between: stage two only
    match_threshold: float = 0.2  # least similarity of a stage-one match
    low_match_threshold: float = 0.5  # least similarity of a stage-two match (an unsure box must overlap well)
    oks_weight: float = 0.5  # similarity = (1 - w) * IoU + w * OKS where keypoints are shared
    velocity_smoothing: float = 0.5  # weight of the newest motion in the velocity estimate

    def __post_init__(self) -> None:
        if isinstance(self.max_gap, bool) or not isinstance(self.max_gap, int) or self.max_gap < 0:
            raise ValueError(f"max_gap must be a non-negative integer, not {self.max_gap!r}")
        if not 0 <= self.low_score <= self.high_score:
            raise ValueError(f"need 0 <= low_score <= high_score, not {self.low_score} and {self.high_score}")
        for name in ("match_threshold", "low_match_threshold", "oks_weight", "velocity_smoothing"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie in [0, 1], not {getattr(self, name)}")


@dataclass
class _Track:
    id: int
    box: np.ndarray  # (4,) float64 as last seen
    xy: np.ndarray | None  # (K, 2) as last seen
    visible: np.ndarray | None  # (K,) bool
    last_seen: int  # update number
    velocity: np.ndarray  # (2,) box-centre pixels per update


class PersonTracker:
    """Assigns track IDs to the persons of consecutive frames. One tracker per video (or camera session)."""

    def __init__(
        self, config: TrackerConfig | None = None, sigmas: np.ndarray | None = None, schema_name: str | None = None
    ):
        """OKS sigmas: ``sigmas`` as given, else those of the keypoint schema ``schema_name`` once the first
        keypoints show their count (``sigmas_for``: a constant where the schema has none of that length)."""
        self.config = config or TrackerConfig()
        self.sigmas = None if sigmas is None else np.asarray(sigmas, np.float64)
        self.schema_name = schema_name
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._update = 0

    @classmethod
    def for_schema(cls, schema_name: str | None, num_keypoints: int, config: TrackerConfig | None = None):
        return cls(config, sigmas_for(schema_name, num_keypoints), schema_name)

    @property
    def live_ids(self) -> list[int]:
        """IDs of the tracks that may still be continued (seen within the last ``max_gap`` updates)."""
        return [t.id for t in self._tracks]

    def update(
        self,
        boxes: np.ndarray,
        scores: np.ndarray | None = None,
        keypoints: np.ndarray | None = None,
        visible: np.ndarray | None = None,
    ) -> list[int | None]:
        """Track IDs for this frame's detections (None for an unsure detection that continued no track).

        ``boxes`` (N, 4) x1, y1, x2, y2; ``scores`` (N,) (None: all confident); ``keypoints`` (N, K, 2) with
        ``visible`` (N, K) bool saying which points are labeled (None: boxes only).
        """
        self._update += 1
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        n = len(boxes)
        scores = np.ones(n) if scores is None else np.asarray(scores, np.float64).reshape(n)
        if keypoints is not None and n == 0:
            keypoints = visible = None  # an empty frame: nothing to compare, the tracks only age
        if keypoints is not None:
            keypoints = np.asarray(keypoints, np.float64).reshape(n, -1, 2)
            visible = np.ones(keypoints.shape[:2], bool) if visible is None else np.asarray(visible, bool)
            visible = visible & np.isfinite(keypoints).all(axis=2)
            if self.sigmas is None or len(self.sigmas) != keypoints.shape[1]:
                self.sigmas = sigmas_for(self.schema_name, keypoints.shape[1])
        cfg = self.config
        ids: list[int | None] = [None] * n
        high = np.flatnonzero(scores >= cfg.high_score)
        low = np.flatnonzero((scores >= cfg.low_score) & (scores < cfg.high_score))

        pending = list(range(len(self._tracks)))
        matched_tracks: set[int] = set()
        for dets, threshold, candidates in (
            (high, cfg.match_threshold, pending),
            (low, cfg.low_match_threshold, [i for i in pending if self._tracks[i].last_seen == self._update - 1]),
        ):
            candidates = [i for i in candidates if i not in matched_tracks]
            for ti, di in self._assign(candidates, dets, boxes, keypoints, visible, threshold):
                self._continue(self._tracks[ti], boxes[di], keypoints, visible, di)
                ids[di] = self._tracks[ti].id
                matched_tracks.add(ti)
        for di in high:
            if ids[di] is None:
                track = _Track(
                    self._next_id,
                    boxes[di].copy(),
                    None if keypoints is None else keypoints[di].copy(),
                    None if visible is None else visible[di].copy(),
                    self._update,
                    np.zeros(2),
                )
                self._next_id += 1
                self._tracks.append(track)
                ids[di] = track.id
        self._tracks = [t for t in self._tracks if self._update - t.last_seen <= cfg.max_gap]
        return ids

    # ---- internals

    def _predicted(self, track: _Track) -> tuple[np.ndarray, np.ndarray | None]:
        shift = track.velocity * (self._update - track.last_seen)
        box = track.box + np.tile(shift, 2)
        return box, None if track.xy is None else track.xy + shift

    def _similarity(self, tracks: list[_Track], boxes, keypoints, visible) -> np.ndarray:
        predicted = [self._predicted(t) for t in tracks]
        track_boxes = np.array([p[0] for p in predicted]).reshape(-1, 4)
        similarity = box_iou(track_boxes, boxes)
        with_points = [i for i, t in enumerate(tracks) if t.xy is not None and len(t.xy) == self._num_points(keypoints)]
        if keypoints is None or not with_points:
            return similarity
        areas = np.prod(np.clip(track_boxes[with_points, 2:] - track_boxes[with_points, :2], 0, None), axis=1)
        kp_sim = oks(
            np.array([predicted[i][1] for i in with_points]),
            np.array([tracks[i].visible for i in with_points]),
            areas,
            keypoints,
            visible,
            self.sigmas,
        )
        w = self.config.oks_weight
        blended = (1 - w) * similarity[with_points] + w * kp_sim
        similarity[with_points] = np.where(np.isnan(kp_sim), similarity[with_points], blended)
        return similarity

    @staticmethod
    def _num_points(keypoints) -> int:
        return -1 if keypoints is None else keypoints.shape[1]

    def _assign(self, track_indices, dets, boxes, keypoints, visible, threshold) -> list[tuple[int, int]]:
        if not len(track_indices) or not len(dets):
            return []
        tracks = [self._tracks[i] for i in track_indices]
        similarity = self._similarity(
            tracks,
            boxes[dets],
            None if keypoints is None else keypoints[dets],
            None if visible is None else visible[dets],
        )
        # Pairs below the threshold must not pull the optimum towards them: they cost as much as no match at all.
        cost = np.where(similarity >= threshold, 1.0 - similarity, 1.0 + 1e-6)
        rows, cols = linear_sum_assignment(cost)
        return [(track_indices[r], int(dets[c])) for r, c in zip(rows, cols) if similarity[r, c] >= threshold]

    def _continue(self, track: _Track, box: np.ndarray, keypoints, visible, di: int) -> None:
        steps = self._update - track.last_seen
        motion = (_centre(box) - _centre(track.box)) / steps
        a = self.config.velocity_smoothing
        track.velocity = motion if not track.velocity.any() else a * motion + (1 - a) * track.velocity
        track.box = box.copy()
        if keypoints is not None:
            track.xy, track.visible = keypoints[di].copy(), visible[di].copy()
        track.last_seen = self._update


def _centre(box: np.ndarray) -> np.ndarray:
    return (box[:2] + box[2:]) / 2.0
