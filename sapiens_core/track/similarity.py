"""How alike two person detections are: box IoU and object keypoint similarity (OKS), pairwise as matrices.

OKS follows COCO's keypoint evaluation: per point ``exp(-d² / (2 s² k²))`` with ``s²`` the object's area and
``k = 2σ`` the point's falloff (σ from the keypoint schema), averaged over the points both detections label. The
area is the *track's* box area (the earlier detection plays COCO's ground truth): it sets how far a point may move
between two frames before the match gets weak, in proportion to the person's size on screen.
"""

from __future__ import annotations

import numpy as np

from ..schema import keypoint_schema

__all__ = ["DEFAULT_SIGMA", "box_iou", "oks", "sigmas_for"]

# For a document whose keypoint set is unnamed or unknown (every shipped schema has its own sigmas): the mean of
# COCO-17's sigmas (about 0.067), so a point of unknown kind counts as an average body point, neither as strict
# as an eye (0.025) nor as loose as a hip (0.107).
DEFAULT_SIGMA = 0.067


def sigmas_for(schema_name: str | None, num_keypoints: int) -> np.ndarray:
    """(K,) float64 OKS sigmas of the named keypoint schema, else ``DEFAULT_SIGMA`` for every point."""
    if schema_name is not None:
        try:
            sigmas = keypoint_schema(schema_name).sigmas
        except KeyError:
            sigmas = None
        if sigmas is not None and len(sigmas) == num_keypoints:
            return np.asarray(sigmas, np.float64)
    return np.full(num_keypoints, DEFAULT_SIGMA, np.float64)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) intersection over union of boxes ``a`` (N, 4) and ``b`` (M, 4), corners x1, y1, x2, y2."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def oks(
    xy_a: np.ndarray,
    visible_a: np.ndarray,
    areas_a: np.ndarray,
    xy_b: np.ndarray,
    visible_b: np.ndarray,
    sigmas: np.ndarray,
) -> np.ndarray:
    """(N, M) OKS between keypoint sets ``xy_a`` (N, K, 2) and ``xy_b`` (M, K, 2); NaN where no point is shared.

    ``visible_*`` (N or M, K) bool say which points are labeled; ``areas_a`` (N,) is the scale of each ``a``.
    """
    xy_a = np.asarray(xy_a, np.float64)
    xy_b = np.asarray(xy_b, np.float64)
    shared = visible_a[:, None, :] & visible_b[None, :, :]  # (N, M, K)
    d2 = ((xy_a[:, None, :, :] - xy_b[None, :, :, :]) ** 2).sum(axis=3)
    k2 = (2.0 * np.asarray(sigmas, np.float64)) ** 2
    scale = 2.0 * np.maximum(np.asarray(areas_a, np.float64), np.finfo(np.float64).eps)[:, None, None] * k2
    with np.errstate(invalid="ignore", over="ignore"):
        per_point = np.where(shared, np.exp(-np.where(shared, d2, 0.0) / scale), 0.0)
    count = shared.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, per_point.sum(axis=2) / count, np.nan)
