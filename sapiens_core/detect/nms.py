"""Greedy non-maximum suppression in numpy (no torchvision), with the Sapiens demo's pixel convention (spec §6).

Areas and intersections count the legacy "+1" pixel: a box [0, 0, 9, 9] is 10 x 10. A candidate survives when its
IoU with every kept box is at most the threshold (suppressed only above it).
"""

from __future__ import annotations

import numpy as np


def iou_one_to_many(box: np.ndarray, others: np.ndarray, pixel_offset: float = 1.0) -> np.ndarray:
    """IoU of one xyxy box with (N, 4) boxes, float64; ``pixel_offset`` 1 is the legacy convention, 0 mmcv's op."""
    box, others = np.asarray(box, np.float64), np.asarray(others, np.float64).reshape(-1, 4)
    area = (box[2] - box[0] + pixel_offset) * (box[3] - box[1] + pixel_offset)
    areas = (others[:, 2] - others[:, 0] + pixel_offset) * (others[:, 3] - others[:, 1] + pixel_offset)
    w = np.maximum(0.0, np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]) + pixel_offset)
    h = np.maximum(0.0, np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]) + pixel_offset)
    inter = w * h
    return inter / (area + areas - inter)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, pixel_offset: float = 1.0) -> np.ndarray:
    """Indices of the kept boxes, highest score first (ties keep input order)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        order = rest[iou_one_to_many(boxes[best], boxes[rest], pixel_offset) <= iou_threshold]
    return np.asarray(keep, np.int64)
