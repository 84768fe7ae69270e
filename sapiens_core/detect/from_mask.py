"""Person boxes from a foreground mask (the seg model's, or the quick model's): one box per group of close parts.

A seg mask often splits one person into parts (an arm held away from the torso, a hand past a thin gap); parts
whose pixels lie within ``merge_gap`` of each other are one person. Groups smaller than ``min_area`` (a fraction of
the image) are specks of noise, not people. Boxes cover pixel edges (the last pixel is inside), score 1.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..boxes import whole_image_box
from .postfilter import PersonFilter

MERGE_GAP = 0.02  # of the image's longer side: ~13 px at 640, wider than a thin gap, narrower than two people apart
MIN_AREA = 0.001  # of the image's area


def boxes_from_foreground(
    mask: np.ndarray, merge_gap: float = MERGE_GAP, min_area: float = MIN_AREA, max_persons: int | None = None
) -> np.ndarray:
    """(N, 5) float32 xyxy + 1.0 per person, largest first; (0, 5) for an empty mask."""
    mask = np.asarray(mask).astype(bool)
    if mask.ndim != 2:
        raise ValueError(f"expected an (H, W) mask, got shape {mask.shape}")
    height, width = mask.shape
    count, parts, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros((0, 5), np.float32)
    # Grow every part by half the gap: parts closer than the gap touch and become one component.
    radius = math.ceil(merge_gap * max(height, width) / 2)
    grown = mask.astype(np.uint8)
    if radius > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        grown = cv2.dilate(grown, kernel)
    _, groups = cv2.connectedComponents(grown, connectivity=8)
    group_of = np.zeros(count, np.int64)
    group_of[parts[mask]] = groups[mask]  # every pixel of a part lies in the same grown component
    merged: dict[int, list[float]] = {}
    for part in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[part])
        box = merged.setdefault(int(group_of[part]), [x, y, x + w, y + h, 0])
        box[:4] = [min(box[0], x), min(box[1], y), max(box[2], x + w), max(box[3], y + h)]
        box[4] += area
    people = sorted((b for b in merged.values() if b[4] >= min_area * height * width), key=lambda b: -b[4])
    boxes = np.array([[*b[:4], 1.0] for b in people[:max_persons]], np.float32)
    return boxes.reshape(-1, 5)


class ForegroundDetector:
    """The detector interface over :func:`boxes_from_foreground`; the whole image when the mask holds no person."""

    name = "seg foreground"

    def __init__(
        self, person_filter: PersonFilter | None = None, merge_gap: float = MERGE_GAP, min_area: float = MIN_AREA
    ) -> None:
        self.filter = person_filter or PersonFilter()
        self.merge_gap = merge_gap
        self.min_area = min_area

    def detect(self, image: np.ndarray, foreground: np.ndarray | None = None) -> np.ndarray:
        height, width = image.shape[:2]
        if foreground is None:
            raise ValueError("boxes from the foreground need a person mask (run a seg model)")
        boxes = boxes_from_foreground(foreground, self.merge_gap, self.min_area, self.filter.max_persons)
        if len(boxes) == 0 and self.filter.whole_image_fallback:
            return whole_image_box(width, height)
        return boxes

    def describe(self) -> dict:
        return {
            "detector": "seg-foreground",
            "merge_gap": self.merge_gap,
            "min_area": self.min_area,
            "max_persons": self.filter.max_persons,
        }

    def close(self) -> None:
        pass
