"""Small documents for the detailed edit tests (5 points, no schema): each case stays readable and fast."""

from __future__ import annotations

import numpy as np

from sapiens_core.annotation import SOURCE_MODEL, Annotation, Person

K = 5
W, H = 8, 6


def _person(pid: int, x0: float = 0.0, box=(1, 1, 4, 4)) -> Person:
    # Point i at (x0 + i, 10 * pid + i) with score 0.5 + i / 10, all visible and model-made.
    xy = np.stack([x0 + np.arange(K), 10.0 * pid + np.arange(K)], axis=1)
    scores = 0.5 + np.arange(K)[:, None] / 10
    return Person(pid, np.concatenate([xy, scores], axis=1), np.full(K, 2), np.full(K, SOURCE_MODEL), box=box)


def _doc(*ids: int) -> Annotation:
    return Annotation("a.png", (W, H), persons=[_person(pid) for pid in (ids or (0, 1, 2))])


def _ids(doc: Annotation) -> list[int]:
    return [p.id for p in doc.persons]
