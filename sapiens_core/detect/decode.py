"""From RTMDet's per-level head maps to boxes in the original image, as mmdet's ``predict_by_feat`` (spec §5).

Per level: sigmoid scores, keep score > ``score_threshold`` (strict), the best ``nms_pre`` of them; then all levels
together: distance decoding around offset-0 point priors, clip to the padded network input (not to the image:
mmdet does not), divide by the per-axis scale, drop empty boxes, sort by score and keep ``max_per_img``. The
person config runs no NMS here (``nms=None``); the Sapiens filter after it does (:mod:`.postfilter`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The test_cfg of rtmdet_m_640-8xb32_coco-person_no_nms.py, which every Sapiens demo uses.
SCORE_THRESHOLD = 0.05
NMS_PRE = 1000
MAX_PER_IMG = 100


@dataclass(frozen=True)
class Detections:
    """Boxes in original-image pixels, sorted by score (highest first)."""

    boxes: np.ndarray  # (N, 4) float32 xyxy
    scores: np.ndarray  # (N,) float32
    labels: np.ndarray  # (N,) int64 class index (0 = person)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))).astype(np.float32)


def level_points(height: int, width: int, stride: int) -> np.ndarray:
    """(H*W, 2) prior points (x, y) = (col, row) * stride: cell corners (offset 0), x varying fastest."""
    ys, xs = np.meshgrid(np.arange(height) * stride, np.arange(width) * stride, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)


def _top_scores(scores: np.ndarray, threshold: float, limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """mmdet's filter_scores_and_topk on (points, classes): (scores, point index, class index) of the kept ones."""
    point, label = np.nonzero(scores > threshold)
    kept = scores[point, label]
    order = np.argsort(-kept, kind="stable")[:limit]
    return kept[order], point[order], label[order]


def decode_levels(
    levels: list[tuple[np.ndarray, np.ndarray]],
    strides: tuple[int, ...],
    input_size: tuple[int, int],
    scale: tuple[float, float],
    score_threshold: float = SCORE_THRESHOLD,
    nms_pre: int = NMS_PRE,
    max_per_img: int = MAX_PER_IMG,
) -> Detections:
    """``levels``: per stride, (logits (C, H, W), ltrb distances (4, H, W) already in input pixels) of one image.

    ``input_size`` is the padded network input (w, h); ``scale`` is (new_w / w, new_h / h) from the letterbox.
    """
    boxes, scores, labels = [], [], []
    for (logits, distances), stride in zip(levels, strides):
        classes, height, width = logits.shape
        level_scores = sigmoid(logits.reshape(classes, -1).T)
        kept, point, label = _top_scores(level_scores, score_threshold, nms_pre)
        priors = level_points(height, width, stride)[point]
        ltrb = distances.reshape(4, -1).T[point].astype(np.float32)
        boxes.append(np.concatenate([priors - ltrb[:, :2], priors + ltrb[:, 2:]], axis=1))
        scores.append(kept)
        labels.append(label)
    if not boxes:
        return Detections.empty()
    return finish(np.concatenate(boxes), np.concatenate(scores), np.concatenate(labels), input_size, scale, max_per_img)


def finish(
    boxes: np.ndarray,
    scores: np.ndarray,
    labels: np.ndarray,
    input_size: tuple[int, int],
    scale: tuple[float, float],
    max_per_img: int = MAX_PER_IMG,
) -> Detections:
    """Clip to the padded input, rescale to the original image, drop empty boxes, top ``max_per_img`` by score."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4).copy()
    boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, input_size[0])
    boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, input_size[1])
    boxes /= np.array([scale[0], scale[1], scale[0], scale[1]], np.float32)
    # min_bbox_size 0 still applies (0 >= 0): width and height must be strictly positive after rescaling.
    valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    boxes, scores, labels = boxes[valid], np.asarray(scores, np.float32)[valid], np.asarray(labels, np.int64)[valid]
    order = np.argsort(-scores, kind="stable")[:max_per_img]
    return Detections(boxes[order], scores[order], labels[order])
