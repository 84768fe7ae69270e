"""Persons across the frames of a video, without Qt: stable track IDs and keypoint smoothing.

``tracker`` assigns IDs (ByteTrack-style two-stage association on box IoU and keypoint OKS, with short-gap
re-identification; its docstring says why it is ours and not a library's); ``similarity`` holds IoU and OKS;
``one_euro`` smooths keypoints per track; ``documents`` applies both to annotation documents and writes the
tracks file of a video.
"""

from .documents import TRACKS_FORMAT, DocumentTracker, TrackLog
from .one_euro import KeypointSmoother, OneEuroFilter
from .similarity import DEFAULT_SIGMA, box_iou, oks, sigmas_for
from .tracker import PersonTracker, TrackerConfig

__all__ = [
    "DEFAULT_SIGMA",
    "DocumentTracker",
    "KeypointSmoother",
    "OneEuroFilter",
    "PersonTracker",
    "TRACKS_FORMAT",
    "TrackLog",
    "TrackerConfig",
    "box_iou",
    "oks",
    "sigmas_for",
]
