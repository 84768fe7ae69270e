"""The One-Euro filter against values worked out by hand from the paper's definitions, and its per-point and
per-track resets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sapiens_core.annotation import Person
from sapiens_core.track import KeypointSmoother, OneEuroFilter


def smoothing_factor(cutoff_hz: float, period_s: float) -> float:
    """The paper's alpha written as time constants: tau = 1 / (2 pi fc), alpha = Te / (Te + tau)."""
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return period_s / (period_s + tau)


def test_first_sample_passes_unchanged():
    f = OneEuroFilter(min_cutoff=1.0, beta=0.3)
    assert np.array_equal(f(0.0, np.array([[3.0, 4.0]])), [[3.0, 4.0]])


def test_with_beta_zero_the_step_response_is_an_exponential_approach():
    # beta = 0: a fixed cutoff, so each step keeps (1 - alpha) of the remaining distance: y_n = 1 - (1 - alpha)^n.
    period = 1 / 30
    alpha = smoothing_factor(1.0, period)  # 2 pi / (2 pi + 30) ~ 0.1732
    assert alpha == pytest.approx(2 * math.pi / (2 * math.pi + 30))
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    f(0.0, np.zeros((1, 2)))
    for n in range(1, 11):
        y = f(n * period, np.ones((1, 2)))
        assert y[0, 0] == pytest.approx(1 - (1 - alpha) ** n, rel=1e-12)
    assert 0.8 < y[0, 0] < 0.9  # after a third of a second at 1 Hz: most of the way, not all


def test_one_step_with_speed_adaptation_by_hand():
    # 0 at t = 0, then 10 at t = 0.1 s; min_cutoff 1 Hz, beta 0.5, d_cutoff 1 Hz.
    # Speed 10 / 0.1 = 100 px/s, smoothed with alpha_d = 0.1 / (0.1 + 1 / (2 pi)) = 0.385869...
    # -> 38.5869...; cutoff 1 + 0.5 * 38.5869 = 20.293 Hz; alpha = 0.1 / (0.1 + 1 / (2 pi 20.293)) = 0.92727...
    alpha_d = 0.1 / (0.1 + 1 / (2 * math.pi))
    assert alpha_d == pytest.approx(0.385869, abs=1e-6)
    cutoff = 1 + 0.5 * alpha_d * 100
    alpha = 0.1 / (0.1 + 1 / (2 * math.pi * cutoff))
    assert alpha == pytest.approx(0.92727, abs=1e-5)
    f = OneEuroFilter(min_cutoff=1.0, beta=0.5, d_cutoff=1.0)
    f(0.0, np.array([0.0]))
    assert f(0.1, np.array([10.0]))[0] == pytest.approx(10 * alpha, rel=1e-12)


def test_faster_motion_lags_less_with_beta():
    slow, fast = OneEuroFilter(1.0, beta=0.0), OneEuroFilter(1.0, beta=1.0)
    for f in (slow, fast):
        f(0.0, np.zeros(1))
    assert fast(0.1, np.array([50.0]))[0] > slow(0.1, np.array([50.0]))[0]


def test_a_constant_signal_stays_constant():
    f = OneEuroFilter(0.5, beta=2.0)
    for i in range(20):
        assert np.array_equal(f(i / 25, np.full((3, 2), 7.5)), np.full((3, 2), 7.5))


def test_a_point_that_disappears_starts_fresh_when_it_reappears():
    f = OneEuroFilter(min_cutoff=0.5, beta=0.0)
    pts = np.array([[0.0, 0.0], [0.0, 0.0]])
    f(0.0, pts)
    present = np.array([True, False])
    out = f(0.1, np.array([[1.0, 1.0], [np.nan, np.nan]]), present)
    assert 0 < out[0, 0] < 1 and np.isnan(out[1]).all()  # a missing point passes as it is
    out = f(0.2, np.array([[1.0, 1.0], [100.0, 50.0]]))
    # Back, far away: its own new position, not a blend with where it was before it vanished.
    assert np.array_equal(out[1], [100.0, 50.0])
    out = f(0.3, np.array([[1.0, 1.0], [101.0, 50.0]]))
    assert 100.0 < out[1, 0] < 101.0  # from here on it is filtered again


def test_time_must_increase():
    f = OneEuroFilter()
    f(1.0, np.zeros(2))
    with pytest.raises(ValueError, match="time must increase"):
        f(1.0, np.zeros(2))


@pytest.mark.parametrize("kwargs", [{"min_cutoff": 0}, {"beta": -1}, {"d_cutoff": float("nan")}])
def test_bad_parameters_are_refused(kwargs):
    with pytest.raises(ValueError):
        OneEuroFilter(**kwargs)


def _person(track_id: int | None, x: float) -> Person:
    p = Person.from_prediction(0, np.full((4, 2), x), np.ones(4))
    p.track_id = track_id
    return p


def test_smoother_keeps_one_filter_per_track_and_forgets_absent_tracks():
    smoother = KeypointSmoother(min_cutoff=1.0, beta=0.0)
    alpha = smoothing_factor(1.0, 0.1)
    a, b, untracked = _person(1, 0.0), _person(2, 100.0), _person(None, 5.0)
    smoother.smooth(0.0, [a, b, untracked])
    a, b, untracked = _person(1, 10.0), _person(2, 100.0), _person(None, 50.0)
    smoother.smooth(0.1, [a, b, untracked])
    assert a.keypoints[0, 0] == pytest.approx(10 * alpha, rel=1e-6)
    assert b.keypoints[0, 0] == 100.0  # its own filter: track 1's jump does not leak into it
    assert untracked.keypoints[0, 0] == 50.0  # no track, no smoothing
    assert a.keypoints[0, 2] == 1.0  # scores are left alone
    smoother.smooth(0.2, [_person(2, 100.0)])  # track 1 is not in this frame: its filter is dropped
    back = _person(1, 40.0)
    smoother.smooth(0.3, [back])
    assert back.keypoints[0, 0] == 40.0  # a new start, not a blend with the old state
