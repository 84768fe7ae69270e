"""The Qt-free annotation model: one document per image, persons with keypoints, per-pixel layers."""

from .document import FORMAT, VERSION, Annotation
from .merge import merge_keep_human
from .person import SOURCE_HUMAN, SOURCE_MODEL, VISIBILITY_VALUES, Person
from .video_ref import VideoRef

__all__ = [
    "Annotation",
    "Person",
    "VideoRef",
    "SOURCE_MODEL",
    "SOURCE_HUMAN",
    "VISIBILITY_VALUES",
    "FORMAT",
    "VERSION",
    "merge_keep_human",
]
