"""A person's coercions, checks, JSON form and equality at the edges test_annotation leaves open: survivors of
person's mutation run (tests/mutate.py).

Expected values are written out by hand (numpy's own float32 shortest reprs, the messages a user reads), and
round trips are checked against the values put in.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sapiens_core.annotation import Person
from sapiens_core.annotation.person import float32_to_json, json_to_float32


def _p(**kw) -> Person:
    args = dict(id=0, keypoints=[[1, 2, 0.5], [3, 4, 0.9], [5, 6, 0.1]], visibility=[2, 1, 0], source=[0, 1, 0])
    args.update(kw)
    return Person(**args)


def _json(**kw) -> dict:
    data = {"id": 3, "keypoints": [[1, 2, 0.5], [3, 4, 0.9]], "visibility": [2, 0], "source": [0, 1]}
    data.update(kw)
    return data


# ------------------------------------------------------------------------------------------------ creation


def test_arrays_are_coerced_to_their_canonical_dtypes():
    p = _p(box=[1, 2, 3, 4], track_id=np.int64(7))
    assert (p.keypoints.dtype, p.visibility.dtype, p.source.dtype, p.box.dtype) == (
        np.float32,
        np.uint8,
        np.uint8,
        np.float32,
    )
    assert p.track_id == 7 and type(p.track_id) is int


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # 1e39 on purpose
def test_from_prediction_decides_visibility_on_the_float32_values_it_stores():
    # 0.2999999999 is below 0.3 as a double but rounds to float32(0.3) > 0.3; 1e39 is finite as a double but
    # infinite in float32: visibility must agree with the stored point.
    xy = np.array([[1.0, 2.0], [1e39, 3.0], [4.0, 5.0]])
    p = Person.from_prediction(0, xy, np.array([0.2999999999, 0.9, 0.2]), threshold=0.3)
    assert p.keypoints.dtype == np.float32 and p.keypoints[0, 2] >= 0.3 and np.isinf(p.keypoints[1, 0])
    assert p.visibility.tolist() == [2, 0, 0]


def test_from_prediction_takes_scores_as_a_column():
    p = Person.from_prediction(0, [[1, 2], [3, 4]], np.array([[0.9], [0.1]]))
    assert p.keypoints[:, 2].tolist() == [np.float32(0.9), np.float32(0.1)] and p.visibility.tolist() == [2, 0]
    with pytest.raises(ValueError, match=r"^2 keypoints but 3 scores$"):
        Person.from_prediction(0, [[1, 2], [3, 4]], [0.9, 0.1, 0.5])


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"id": True}, r"^person id must be an integer, not True$"),
        ({"id": "3"}, r"^person id must be an integer, not '3'$"),
        ({"keypoints": [[1, 2], [3, 4], [5, 6]]}, r"^keypoints must have shape \(K, 3\), not \(3, 2\)$"),
        ({"visibility": [2, 1]}, r"^visibility \(2,\) and source \(3,\) must have shape \(3,\)$"),
        ({"source": [0, 2, 0]}, r"^source values must be 0 \(model\) or 1 \(human\); found \[2\]$"),
        ({"box": [1, 2, 3]}, r"^box must have shape \(4,\), not \(3,\)$"),
        ({"track_id": -1}, r"^track_id must be a non-negative integer or None, not -1$"),
        ({"track_id": True}, r"^track_id must be a non-negative integer or None, not True$"),
        ({"track_id": "5"}, r"^track_id must be a non-negative integer or None, not '5'$"),
    ],
)
def test_invalid_persons_are_refused_saying_what_is_wrong(kw, message):
    with pytest.raises(ValueError, match=message):
        _p(**kw)


def test_track_id_zero_is_a_track():
    assert _p(track_id=0).track_id == 0


# ------------------------------------------------------------------------------------------------ JSON


def test_non_finite_scores_are_written_as_null_and_the_track_id_as_itself():
    assert _p(score=float("nan")).to_json()["score"] is None
    assert _p(score=float("inf")).to_json()["score"] is None
    data = _p(track_id=7).to_json()
    assert data["track_id"] == 7 and Person.from_json(data) == _p(track_id=7)
    assert Person.from_json(_json(track_id=0)).track_id == 0
    assert "track_id" not in _p().to_json()


def test_float32_to_json_writes_short_float32_text_and_null_for_non_finite():
    assert float32_to_json([1 / 3, 0.1, float("nan"), float("inf"), -float("inf"), 1.5]) == [
        0.33333334,
        0.1,
        None,
        None,
        None,
        1.5,
    ]


def test_json_to_float32_reads_null_as_nan_and_refuses_ragged_lists():
    got = json_to_float32([[1, None], [2.5, 3]], "f")
    assert got.dtype == np.float32 and np.isnan(got[0, 1]) and got[1].tolist() == [2.5, 3.0]
    with pytest.raises(ValueError, match=r"^f: not a rectangular list of numbers \("):
        json_to_float32([[1, 2], [3]], "f")


@pytest.mark.parametrize(
    "data, message",
    [
        ([1, 2], r"^a person must be an object, not list$"),
        ({"id": 1, "keypoints": []}, r"^missing field\(s\) \['source', 'visibility'\]$"),
        (_json(id="3"), r"^id must be an integer, not '3'$"),
        (_json(id=True), r"^id must be an integer, not True$"),
        (_json(keypoints=[["a", 1, 2]]), r"^keypoints: expected numbers, found 'a'$"),
        (_json(keypoints=5), r"^keypoints must be a list of \[x, y, score\] triples \(shape \(\)\)$"),
        (
            _json(keypoints=[[1, 2], [3, 4]]),
            r"^keypoints must be a list of \[x, y, score\] triples \(shape \(2, 2\)\)$",
        ),
        (_json(visibility=[2]), r"^visibility must be a list of 2 integers$"),
        (_json(source=[0, 1, 0]), r"^source must be a list of 2 integers$"),
        (_json(visibility=[2, 300]), r"^visibility must hold small non-negative integers; found \[300\]$"),
        (_json(visibility=[2, 256]), r"^visibility must hold small non-negative integers; found \[256\]$"),
        (_json(source=[True, 0]), r"^source must hold small non-negative integers; found \[True\]$"),
        (_json(visibility=[2, 255]), r"^visibility values must be 0, 1 or 2; found \[255\]$"),
        (_json(box=["a", 1, 2, 3]), r"^box: expected numbers, found 'a'$"),
        (_json(box=[1, 2, 3]), r"^box must be \[x1, y1, x2, y2\], not shape \(3,\)$"),
        (_json(score="high"), r"^score must be a number or null, not 'high'$"),
        (_json(track_id=-1), r"^track_id must be a non-negative integer or null, not -1$"),
        (_json(track_id=True), r"^track_id must be a non-negative integer or null, not True$"),
    ],
)
def test_bad_person_json_says_which_field(data, message):
    with pytest.raises(ValueError, match=message):
        Person.from_json(data)


def test_at_most_five_bad_values_are_quoted():
    data = _json(keypoints=[[0, 0, 0]] * 6, visibility=[300, 301, 302, 303, 304, 305], source=[0] * 6)
    with pytest.raises(ValueError, match=r"found \[300, 301, 302, 303, 304\]$"):
        Person.from_json(data)


# ------------------------------------------------------------------------------------------------ equality, copies


def test_equality_of_boxes_and_scores_with_none_and_nan():
    assert _p(box=[1, 2, 3, 4]) != _p() and _p() != _p(box=[1, 2, 3, 4])
    assert _p(score=0.5) != _p() and _p() != _p(score=0.5)
    assert _p() == _p() and _p(score=float("nan")) == _p(score=float("nan"))
    assert _p(score=float("nan")) != _p(score=0.5) and _p(score=0.5) != _p(score=float("nan"))


def test_a_copy_is_equal_and_shares_no_array():
    p = _p(box=[1, 2, 3, 4], score=0.7, track_id=2)
    q = p.copy()
    assert q == p and q.id == 0 and q.score == 0.7 and q.track_id == 2
    for name in ("keypoints", "visibility", "source", "box"):
        assert not np.shares_memory(getattr(p, name), getattr(q, name)), name
    assert _p().copy().box is None


def test_labeled_box_spans_the_labeled_finite_points_only():
    kp = [[5, 6, 0.5], [1, 9, 0.9], [-50, -50, 0.9], [math.nan, 3, 0.9], [7, 2, 0.1]]
    p = Person(0, kp, [2, 1, 0, 2, 2], [0, 0, 0, 1, 0])
    box = p.labeled_box()
    assert box.dtype == np.float32 and box.tolist() == [1, 2, 7, 9]
    assert Person(0, kp[:3], [0, 0, 0], [0, 0, 0]).labeled_box() is None
