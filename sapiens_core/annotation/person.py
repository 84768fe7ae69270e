"""One person's keypoint labels, and how they are written to JSON without losing a bit."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Person",
    "SOURCE_MODEL",
    "SOURCE_HUMAN",
    "VISIBILITY_VALUES",
    "float32_to_json",
    "json_to_float32",
    "same_array",
]

SOURCE_MODEL, SOURCE_HUMAN = 0, 1
# COCO visibility: 0 unlabeled, 1 labeled but occluded, 2 labeled and visible.
VISIBILITY_VALUES = (0, 1, 2)


@dataclass(eq=False)
class Person:
    """Keypoints of one person in image pixels. Arrays are coerced to their canonical dtypes on creation."""

    id: int
    keypoints: np.ndarray  # (K, 3) float32: x, y, score
    visibility: np.ndarray  # (K,) uint8 in VISIBILITY_VALUES
    source: np.ndarray  # (K,) uint8: SOURCE_MODEL or SOURCE_HUMAN per keypoint
    box: np.ndarray | None = None  # (4,) float32 x1, y1, x2, y2
    score: float | None = None  # detector score of the person
    # The same person across the frames of a video (the tracker's ID); None outside a tracked video. Unlike ``id``,
    # which only has to be unique within one image, it is shared by every frame the person is seen in.
    track_id: int | None = None

    def __post_init__(self) -> None:
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        self.visibility = np.asarray(self.visibility, dtype=np.uint8)
        self.source = np.asarray(self.source, dtype=np.uint8)
        if self.box is not None:
            self.box = np.asarray(self.box, dtype=np.float32)
        if self.score is not None:
            self.score = float(self.score)
        if isinstance(self.track_id, np.integer):
            self.track_id = int(self.track_id)
        self.validate()

    @classmethod
    def from_prediction(
        cls,
        id: int,
        keypoints_xy: np.ndarray,
        scores: np.ndarray,
        box: np.ndarray | None = None,
        threshold: float = 0.3,
        score: float | None = None,
    ) -> Person:
        """A model's output: visible (2) where the score reaches ``threshold``, unlabeled (0) elsewhere."""
        xy = np.asarray(keypoints_xy, dtype=np.float32).reshape(-1, 2)
        s = np.asarray(scores, dtype=np.float32).reshape(-1)
        if len(s) != len(xy):
            raise ValueError(f"{len(xy)} keypoints but {len(s)} scores")
        confident = np.isfinite(s) & (s >= threshold) & np.isfinite(xy).all(axis=1)
        return cls(
            id=int(id),
            keypoints=np.concatenate([xy, s[:, None]], axis=1),
            visibility=np.where(confident, 2, 0).astype(np.uint8),
            source=np.full(len(xy), SOURCE_MODEL, np.uint8),
            box=None if box is None else np.asarray(box, np.float32)[:4],
            score=score,
        )

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoints)

    @property
    def labeled(self) -> np.ndarray:
        """(K,) bool: points with a label (visibility 1 or 2)."""
        return self.visibility > 0

    def labeled_box(self) -> np.ndarray | None:
        """(4,) float32 x1, y1, x2, y2 around the labeled points, or None when there are none."""
        xy = self.keypoints[self.labeled, :2]
        xy = xy[np.isfinite(xy).all(axis=1)]
        if not len(xy):
            return None
        return np.concatenate([xy.min(axis=0), xy.max(axis=0)]).astype(np.float32)

    def validate(self) -> None:
        """Raise ValueError when the arrays do not have the documented shapes and values."""
        k = len(self.keypoints)
        if isinstance(self.id, bool) or not isinstance(self.id, (int, np.integer)):
            raise ValueError(f"person id must be an integer, not {self.id!r}")
        if self.keypoints.ndim != 2 or self.keypoints.shape[1] != 3:
            raise ValueError(f"keypoints must have shape (K, 3), not {self.keypoints.shape}")
        if self.visibility.shape != (k,) or self.source.shape != (k,):
            raise ValueError(
                f"visibility {self.visibility.shape} and source {self.source.shape} must have shape ({k},)"
            )
        bad = np.setdiff1d(self.visibility, VISIBILITY_VALUES)
        if bad.size:
            raise ValueError(f"visibility values must be 0, 1 or 2; found {bad.tolist()}")
        bad = np.setdiff1d(self.source, (SOURCE_MODEL, SOURCE_HUMAN))
        if bad.size:
            raise ValueError(
                f"source values must be {SOURCE_MODEL} (model) or {SOURCE_HUMAN} (human); found {bad.tolist()}"
            )
        if self.box is not None and self.box.shape != (4,):
            raise ValueError(f"box must have shape (4,), not {self.box.shape}")
        if self.track_id is not None and (
            isinstance(self.track_id, bool) or not isinstance(self.track_id, (int, np.integer)) or self.track_id < 0
        ):
            raise ValueError(f"track_id must be a non-negative integer or None, not {self.track_id!r}")

    def copy(self) -> Person:
        return Person(
            self.id,
            self.keypoints.copy(),
            self.visibility.copy(),
            self.source.copy(),
            None if self.box is None else self.box.copy(),
            self.score,
            self.track_id,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Person):
            return NotImplemented
        return (
            self.id == other.id
            and same_array(self.keypoints, other.keypoints)
            and same_array(self.visibility, other.visibility)
            and same_array(self.source, other.source)
            and same_array(self.box, other.box)
            and _same_float(self.score, other.score)
            and self.track_id == other.track_id
        )

    __hash__ = None  # mutable

    # ---- JSON

    def to_json(self) -> dict:
        data = {
            "id": int(self.id),
            "score": self.score if self.score is not None and math.isfinite(self.score) else None,
            "box": None if self.box is None else float32_to_json(self.box),
            "keypoints": float32_to_json(self.keypoints),
            "visibility": self.visibility.tolist(),
            "source": self.source.tolist(),
        }
        # Only when set: documents of still images stay as they were, and an older reader ignores the key.
        if self.track_id is not None:
            data["track_id"] = int(self.track_id)
        return data

    @classmethod
    def from_json(cls, data: object, num_keypoints: int | None = None) -> Person:
        """Parse what ``to_json`` wrote; ValueError says which field is wrong."""
        if not isinstance(data, dict):
            raise ValueError(f"a person must be an object, not {type(data).__name__}")
        missing = {"id", "keypoints", "visibility", "source"} - data.keys()
        if missing:
            raise ValueError(f"missing field(s) {sorted(missing)}")
        pid = data["id"]
        if isinstance(pid, bool) or not isinstance(pid, int):
            raise ValueError(f"id must be an integer, not {pid!r}")
        keypoints = json_to_float32(data["keypoints"], "keypoints")
        k = len(keypoints) if keypoints.ndim else 0
        if keypoints.ndim != 2 or keypoints.shape[1] != 3:
            raise ValueError(f"keypoints must be a list of [x, y, score] triples (shape {keypoints.shape})")
        if num_keypoints is not None and k != num_keypoints:
            raise ValueError(f"has {k} keypoints, the keypoint schema has {num_keypoints}")
        visibility = _small_ints(data["visibility"], "visibility", k)
        source = _small_ints(data["source"], "source", k)
        box = data.get("box")
        if box is not None:
            box = json_to_float32(box, "box")
            if box.shape != (4,):
                raise ValueError(f"box must be [x1, y1, x2, y2], not shape {box.shape}")
        score = data.get("score")
        if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
            raise ValueError(f"score must be a number or null, not {score!r}")
        track_id = data.get("track_id")
        if track_id is not None and (isinstance(track_id, bool) or not isinstance(track_id, int) or track_id < 0):
            raise ValueError(f"track_id must be a non-negative integer or null, not {track_id!r}")
        return cls(pid, keypoints, visibility, source, box, None if score is None else float(score), track_id)


def float32_to_json(values):
    """float32 values as (nested lists of) Python floats that read back to exactly the same float32.

    Each value is written with the fewest significant digits that still round-trip through float32 (numpy's
    shortest-repr of float32, done for the whole array at once), so files stay short (``0.1``, not
    ``0.10000000149011612``); NaN and infinities become null (JSON has no NaN; null reads back as NaN).
    """
    text = np.asarray(values, dtype=np.float32).astype(str)
    return _map_nested(text.tolist(), _parse_short)


def _parse_short(text: str) -> float | None:
    return None if text in _NOT_FINITE else float(text)


_NOT_FINITE = frozenset({"nan", "inf", "-inf"})


def json_to_float32(value, field: str) -> np.ndarray:
    """Parse (nested lists of) numbers or nulls into float32 (null -> NaN); ValueError for anything else."""
    _check_numbers(value, field)
    try:
        return np.array(value, dtype=np.float32)
    except (ValueError, TypeError) as exc:  # ragged lists
        raise ValueError(f"{field}: not a rectangular list of numbers ({exc})") from None


def _map_nested(value, fn):
    if isinstance(value, list):
        return [_map_nested(v, fn) for v in value]
    return fn(value)


def _check_numbers(value, field: str) -> None:
    if isinstance(value, list):
        for v in value:
            _check_numbers(v, field)
    elif value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ValueError(f"{field}: expected numbers, found {value!r}")


def _small_ints(value, field: str, length: int) -> np.ndarray:
    if not isinstance(value, list) or len(value) != length:
        raise ValueError(f"{field} must be a list of {length} integers")
    bad = [v for v in value if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 255]
    if bad:
        raise ValueError(f"{field} must hold small non-negative integers; found {bad[:5]!r}")
    return np.array(value, dtype=np.uint8)


def same_array(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """Equal dtype, shape and values, NaN equal to NaN; None equals only None."""
    if a is None or b is None:
        return a is None and b is None
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def _same_float(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a == b or (math.isnan(a) and math.isnan(b))
