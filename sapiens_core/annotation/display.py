"""Which keypoints and skeleton links are drawn: one rule for the canvas and the overlay renderer.

A point is drawn when it is labeled (visibility 1 or 2), its coordinates are finite, and either a person placed
or checked it or its score is at least the threshold. A link is drawn when both its ends are labeled and finite
and each is human-made or scores strictly above the threshold, as in the official Sapiens demos (a point scoring
exactly the threshold gets its dot but no links). A human-made point with visibility 0 is a deleted label: hidden.
"""

from __future__ import annotations

import numpy as np

from .person import SOURCE_HUMAN, Person

__all__ = ["shown_points", "linkable_points", "shown_links", "shown_keypoints", "shown_person_links"]


def _drawable(keypoints: np.ndarray, visibility: np.ndarray, source: np.ndarray | None, confident: np.ndarray):
    if source is not None:
        confident = confident | (np.asarray(source) == SOURCE_HUMAN)
    finite = np.isfinite(keypoints[:, :2]).all(axis=1)
    return (np.asarray(visibility) > 0) & finite & confident


def shown_points(
    keypoints: np.ndarray, visibility: np.ndarray, source: np.ndarray | None, threshold: float
) -> np.ndarray:
    """(K,) bool: the points drawn as dots. ``keypoints`` is (K, 3) x, y, score; ``source`` None = all model-made."""
    keypoints = np.asarray(keypoints)
    return _drawable(keypoints, visibility, source, keypoints[:, 2] >= threshold)


def linkable_points(
    keypoints: np.ndarray, visibility: np.ndarray, source: np.ndarray | None, threshold: float
) -> np.ndarray:
    """(K,) bool: the points a link may end at (score strictly above the threshold, or human-made)."""
    keypoints = np.asarray(keypoints)
    return _drawable(keypoints, visibility, source, keypoints[:, 2] > threshold)


def shown_links(skeleton: np.ndarray, linkable: np.ndarray) -> np.ndarray:
    """(L,) bool: the links of ``skeleton`` ((L, 2) point indices) whose two ends are both in ``linkable``."""
    skeleton = np.asarray(skeleton, np.intp).reshape(-1, 2)
    return linkable[skeleton[:, 0]] & linkable[skeleton[:, 1]]


def shown_keypoints(person: Person, threshold: float) -> np.ndarray:
    """(K,) bool: ``shown_points`` of a person."""
    return shown_points(person.keypoints, person.visibility, person.source, threshold)


def shown_person_links(person: Person, threshold: float, skeleton: np.ndarray) -> np.ndarray:
    """(L,) bool: ``shown_links`` of a person."""
    return shown_links(skeleton, linkable_points(person.keypoints, person.visibility, person.source, threshold))
