"""The display rule's edges that test_display leaves open: survivors of display's mutation run (tests/mutate.py).

Only a point's x and y must be finite (a human-placed point read back from a file may carry a null score, NaN), and
a skeleton given as a plain list, empty included, indexes the points as integers.
"""

from __future__ import annotations

import numpy as np

from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL, Person
from sapiens_core.annotation.display import linkable_points, shown_keypoints, shown_links, shown_person_links


def _person(scores, source) -> Person:
    k = len(scores)
    kp = np.zeros((k, 3), np.float32)
    kp[:, 0] = np.arange(k) * 10.0
    kp[:, 1] = 5.0
    kp[:, 2] = scores
    return Person(0, kp, np.full(k, 2, np.uint8), np.asarray(source, np.uint8))


def test_a_human_placed_point_with_a_nan_score_is_still_drawn_and_linked():
    # Coordinates finite, score unknown (null in JSON reads back as NaN): a person placed it, so it is drawn.
    h, m = SOURCE_HUMAN, SOURCE_MODEL
    person = _person([np.nan, 0.9, np.nan], source=[h, h, m])
    assert shown_keypoints(person, 0.3).tolist() == [True, True, False]
    assert linkable_points(person.keypoints, person.visibility, person.source, 0.3).tolist() == [True, True, False]
    assert shown_person_links(person, 0.3, np.array([[0, 1], [1, 2]])).tolist() == [True, False]


def test_an_infinite_score_counts_as_above_any_threshold():
    person = _person([np.inf, 0.9], source=[SOURCE_MODEL, SOURCE_MODEL])
    assert shown_keypoints(person, 0.3).tolist() == [True, True]
    assert shown_person_links(person, 0.3, [[0, 1]]).tolist() == [True]


def test_an_empty_skeleton_list_shows_no_links():
    # np.asarray([]) alone is float64 and cannot index; a schema without links must still give an empty answer.
    linkable = np.array([True, True, False])
    result = shown_links([], linkable)
    assert result.shape == (0,)
    assert result.dtype == bool


def test_a_skeleton_given_as_nested_lists_or_a_flat_pair_list():
    linkable = np.array([True, True, False, True])
    assert shown_links([[0, 1], [1, 2], [3, 0]], linkable).tolist() == [True, False, True]
    assert shown_links([0, 1, 2, 3], linkable).tolist() == [True, False]
