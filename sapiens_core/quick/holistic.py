"""The quick CPU backend: MediaPipe Holistic, mapped into the Goliath-308 layout, plus a person mask.

Real keypoints without downloading a Sapiens checkpoint: body 33 + face mesh 478 (with iris) + 21 per hand
and a selfie-segmentation person mask, in ~70 ms per 512x512 image on two CPU cores. The landmark ->
Goliath mapping is data (``data/mediapipe_to_goliath.json``, see :mod:`.mapping`); Goliath points
without an honest MediaPipe counterpart stay unlabeled (score 0), never invented.

``mediapipe`` is imported lazily, so importing this module works without it.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import BackendError
from .mapping import LandmarkMapping, load_mapping

__all__ = ["QuickModel", "QuickResult", "quick_available", "install_hint", "MEDIAPIPE_VERSION"]

MEDIAPIPE_VERSION = "0.10.14"  # the last wheel that carries the legacy solutions' models
# Holistic with model_complexity=1 and refined face landmarks runs these bundled models; 0 and 2 would
# download pose_landmark_{lite,heavy}.tflite at run time, which is why complexity 1 is fixed.
_REQUIRED_MODELS = (
    "modules/pose_detection/pose_detection.tflite",
    "modules/pose_landmark/pose_landmark_full.tflite",
    "modules/face_landmark/face_landmark_with_attention.tflite",
    "modules/hand_landmark/hand_landmark_full.tflite",
    "modules/holistic_landmark/hand_recrop.tflite",
)
_MASK_THRESHOLD = 0.5


def install_hint() -> str:
    """One line telling the user how to install the quick backend (its declared dependencies break the stack)."""
    return (
        f"pip install --no-deps mediapipe=={MEDIAPIPE_VERSION} && pip install absl-py attrs flatbuffers "
        f"protobuf==4.25.9 matplotlib  (CPython 3.8-3.12; plain 'pip install mediapipe' pulls jax and "
        f"opencv-contrib and breaks cv2/onnx)"
    )


def _mediapipe_dir() -> Path | None:
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _problem() -> str | None:
    """Why the quick backend cannot run here, or None."""
    try:
        root = _mediapipe_dir()
    except (ImportError, ValueError):
        root = None
    if root is None:
        return "mediapipe is not installed"
    try:
        from mediapipe.python.solutions import holistic  # noqa: F401
    except Exception as e:  # a wheel without the legacy solutions, or a protobuf clash, fails in many ways
        return f"mediapipe is installed but its legacy Holistic solution does not import ({type(e).__name__}: {e})"
    missing = [m for m in _REQUIRED_MODELS if not (root / m).is_file()]
    if missing:
        return f"this mediapipe wheel lacks the bundled model {missing[0]} (only {MEDIAPIPE_VERSION} ships them)"
    return None


@lru_cache(maxsize=1)
def _cached_problem() -> str | None:
    return _problem()


def quick_available() -> bool:
    """True when mediapipe with the legacy Holistic solution and its bundled models is importable."""
    return _cached_problem() is None


@dataclass
class QuickResult:
    """One person (MediaPipe finds the most prominent one) in the Goliath-308 layout."""

    keypoints: np.ndarray  # (308, 2) float32, image pixels (pixel centres at integers)
    scores: np.ndarray  # (308,) float32; 0 where unlabeled
    labeled: np.ndarray  # (308,) bool; False: no MediaPipe counterpart, not detected, or off-image
    person_mask: np.ndarray | None  # (H, W) bool foreground ("person" layer), None without segmentation
    found: tuple[str, ...] = ()  # landmark sets MediaPipe returned: "pose", "face", "left_hand", "right_hand"


def _as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"expected an RGB image of shape (H, W, 3), got {a.shape}")
    if a.dtype != np.uint8:
        if np.issubdtype(a.dtype, np.floating) and a.size and float(np.nanmax(a)) <= 1.0:
            a = a * 255.0
        a = np.clip(np.nan_to_num(a), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(a)


# MediaPipe's bundled OpenCV asserts (and aborts the whole process) on a side of 32767 px or more. Its models
# look at 256-px crops, so nothing is gained above a few thousand pixels: larger images are scaled down first.
MAX_SIDE = 4096


def _within_mediapipe_limits(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    if max(h, w) <= MAX_SIDE:
        return image
    import cv2

    scale = MAX_SIDE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _xy(landmark_list, width: int, height: int) -> np.ndarray:
    # MediaPipe's normalised coordinates span the image edges (0 = left edge, 1 = right edge);
    # pixel centres at integers is x * W - 0.5.
    return np.array([[p.x * width - 0.5, p.y * height - 0.5] for p in landmark_list.landmark], dtype=np.float64)


class QuickModel:
    """MediaPipe Holistic (static images, model_complexity=1, segmentation, refined face with iris) -> Goliath-308."""

    name = "quick"
    provider = "mediapipe holistic (CPU)"

    def __init__(self, *, min_detection_confidence: float = 0.5, mapping: LandmarkMapping | None = None) -> None:
        problem = _problem()
        if problem is not None:
            raise BackendError(f"quick backend unavailable: {problem}. Install it with: {install_hint()}")
        from mediapipe.python.solutions import holistic as mp_holistic

        self.mapping = mapping or load_mapping()
        self.schema = self.mapping.schema
        self._lock = threading.Lock()
        try:
            self._holistic = mp_holistic.Holistic(
                static_image_mode=True,
                model_complexity=1,
                smooth_landmarks=False,
                enable_segmentation=True,
                smooth_segmentation=False,
                refine_face_landmarks=True,
                min_detection_confidence=min_detection_confidence,
            )
        except Exception as e:
            raise BackendError(f"MediaPipe Holistic failed to start: {type(e).__name__}: {e}") from e

    def predict(self, image_rgb: np.ndarray) -> QuickResult | None:
        """Keypoints and person mask for an RGB (H, W, 3) image; None when no person is found."""
        image = _as_rgb_uint8(image_rgb)
        h, w = image.shape[:2]  # landmarks come normalised: they are scaled back to this size whatever MediaPipe saw
        image = _within_mediapipe_limits(image)
        with self._lock:
            if self._holistic is None:
                raise BackendError("QuickModel is closed")
            with warnings.catch_warnings():
                # protobuf 4.25 warns on every call about an API mediapipe 0.10.14 still uses.
                warnings.filterwarnings("ignore", message=r".*GetPrototype\(\) is deprecated.*")
                try:
                    res = self._holistic.process(image)
                except Exception as e:
                    raise BackendError(f"MediaPipe Holistic failed: {type(e).__name__}: {e}") from e
        if res.pose_landmarks is None:
            return None

        landmarks: dict[str, np.ndarray] = {}
        found = []
        for set_name, attr in (
            ("pose", "pose_landmarks"),
            ("face", "face_landmarks"),
            ("left_hand", "left_hand_landmarks"),
            ("right_hand", "right_hand_landmarks"),
        ):
            lms = getattr(res, attr)
            if lms is None:
                continue
            xy = _xy(lms, w, h)
            expected = self.mapping.set_sizes[set_name]
            if len(xy) != expected:
                raise BackendError(f"MediaPipe returned {len(xy)} {set_name} landmarks, the mapping expects {expected}")
            landmarks[set_name] = xy
            found.append(set_name)
        visibility = np.array([p.visibility for p in res.pose_landmarks.landmark], dtype=np.float64)
        kp, scores, labeled = self.mapping.apply(landmarks, {"pose": visibility}, image_size=(w, h))

        mask = None
        if res.segmentation_mask is not None:
            m = np.asarray(res.segmentation_mask, dtype=np.float32)
            if m.shape != (h, w):
                import cv2

                m = cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR)
            mask = m >= _MASK_THRESHOLD
        return QuickResult(kp, scores, labeled, mask, tuple(found))

    def close(self) -> None:
        with self._lock:
            holistic, self._holistic = getattr(self, "_holistic", None), None
        if holistic is not None:
            holistic.close()

    def __enter__(self) -> QuickModel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:  # the graph holds threads; release them if the owner forgot close()
        if sys.is_finalizing():
            # Closing the graph from a finalizer at interpreter exit never returns (mediapipe 0.10.14: the
            # process hung); the exit frees the graph anyway.
            return
        try:
            self.close()
        except Exception:
            pass
