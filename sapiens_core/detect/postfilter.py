"""The Sapiens demos' filter after the detector (spec §6): person class, score > threshold, greedy NMS, fallback.

The demos keep label 0 with a score strictly above 0.3, suppress at IoU > 0.3 with the legacy +1 pixel areas, and
run pose on the whole image [0, 0, W, H] when nothing survives. ``max_persons`` (ours) keeps the best N after NMS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..boxes import whole_image_box
from .decode import Detections
from .nms import nms

PERSON_LABEL = 0  # det_cat_id: "person" is class 0 in the person model and in COCO


@dataclass(frozen=True)
class PersonFilter:
    score_threshold: float = 0.3
    nms_threshold: float = 0.3
    max_persons: int | None = None
    whole_image_fallback: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.score_threshold <= 1.0:
            raise ValueError(f"detector score threshold must be within 0..1, got {self.score_threshold}")
        if not 0.0 <= self.nms_threshold <= 1.0:
            raise ValueError(f"detector NMS IoU threshold must be within 0..1, got {self.nms_threshold}")
        if self.max_persons is not None and self.max_persons < 1:
            raise ValueError(f"max persons must be at least 1, got {self.max_persons}")

    def apply(self, detections: Detections, width: int, height: int) -> np.ndarray:
        """(N, 5) float32 xyxy + score, best first; the whole-image box when nothing passes (if enabled)."""
        keep = (detections.labels == PERSON_LABEL) & (detections.scores > self.score_threshold)
        boxes, scores = detections.boxes[keep], detections.scores[keep]
        kept = nms(boxes, scores, self.nms_threshold)[: self.max_persons]
        out = np.concatenate([boxes[kept], scores[kept, None]], axis=1).astype(np.float32).reshape(-1, 5)
        if len(out) == 0 and self.whole_image_fallback:
            return whole_image_box(width, height)
        return out
