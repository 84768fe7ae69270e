"""The UDP training target's shape and edges by hand, and the decoder's marking of unscored points.

A small codec keeps the numbers exact: a 9 x 9 input and a 5 x 5 heatmap scale crop pixels by (5 - 1) / (9 - 1)
= 0.5 exactly, and sigma 1 gives a window radius of 3 heatmap pixels. Survivors of udp_codec's mutation run
(the sigma itself among them: the one value test sat outside the window, where every sigma gives 0).
"""

from __future__ import annotations

import numpy as np
import pytest

from sapiens_core.tasks.udp_codec import UDPHeatmapCodec

SMALL = UDPHeatmapCodec(input_size=(9, 9), heatmap_size=(5, 5), sigma=1.0)


def test_the_target_is_a_gaussian_of_the_given_sigma_inside_its_window():
    """The default codec (sigma 6) at offsets of 0, 1, 2 and 3 sigma from a point on a heatmap pixel: exp(-d^2/2)
    in sigma units, so 1, 0.6065, 0.1353 and 0.0111 along a row."""
    codec = UDPHeatmapCodec()
    hx, hy = 100.0, 120.0  # heatmap pixels; crop pixels = heatmap * (input - 1) / (heatmap - 1)
    crop = np.array([[hx * 767 / 191, hy * 1023 / 255]])
    heatmap = codec.encode(crop, [True])[0][0]
    for k, expected in enumerate([1.0, 0.60653066, 0.13533528, 0.011108997]):
        assert heatmap[120, 100 + 6 * k] == pytest.approx(expected, abs=1e-6)
        assert heatmap[120 - 6 * k, 100] == pytest.approx(expected, abs=1e-6)
    assert heatmap[120 + 6, 100 + 6] == pytest.approx(np.exp(-1.0), abs=1e-6)  # 1 sigma each way: exp(-2/2)
    assert heatmap[120, 100 + 19] == 0.0  # past the 3-sigma window (radius 18)


def test_the_window_is_placed_on_the_rounded_point_and_cut_at_its_radius():
    """A point at heatmap (2.4, 2.0): the window is centred on pixel 2, so columns -1..5 would be in it (all of the
    5-wide map) and the Gaussian peaks at 2.4 itself."""
    heatmap, weights = SMALL.encode(np.array([[4.8, 4.0]]), [True])
    assert weights.tolist() == [1.0] and weights.dtype == np.float32
    row = heatmap[0, 2]
    np.testing.assert_allclose(row, np.exp(-((np.arange(5) - 2.4) ** 2) / 2), atol=1e-7)


@pytest.mark.parametrize(
    "heatmap_xy, weight",
    [
        ((7.0, 2.0), 1.0),  # the window (4..10) still reaches column 4
        ((8.0, 2.0), 0.0),  # 8 - 3 = 5 = the width: wholly off the right edge
        ((2.0, 7.0), 1.0),
        ((2.0, 8.0), 0.0),  # off the bottom edge
        ((-3.0, 2.0), 1.0),  # the window (-6..0) still reaches column 0
        ((-4.0, 2.0), 0.0),  # -4 + 3 = -1: wholly off the left edge
        ((2.0, -3.0), 1.0),
        ((2.0, -4.0), 0.0),  # off the top edge
        ((2.0, 2.0), 1.0),  # well inside: its window passes the top edge too
    ],
)
def test_a_point_counts_while_its_window_touches_the_map(heatmap_xy, weight):
    crop = np.array([heatmap_xy]) * 2.0  # heatmap -> crop pixels: / 0.5
    heatmaps, weights = SMALL.encode(crop, [True])
    assert weights.tolist() == [weight]
    assert (heatmaps[0].max() > 0) == bool(weight)


def test_labeled_flags_are_truthiness_so_coco_visibility_2_counts():
    _, weights = SMALL.encode(np.array([[4.0, 4.0], [4.0, 4.0], [4.0, 4.0]]), np.array([2, 1, 0]))
    assert weights.tolist() == [1.0, 1.0, 0.0]


def test_a_non_finite_point_gets_no_weight_and_an_empty_map():
    heatmaps, weights = SMALL.encode(np.array([[np.nan, 4.0], [4.0, np.inf]]), [True, True])
    assert weights.tolist() == [0.0, 0.0] and not heatmaps.any()


@pytest.mark.parametrize("fill", [0.0, -1.0])
def test_decoding_marks_points_without_a_positive_score_with_minus_one(fill):
    heatmaps = np.full((1, 2, 5, 5), fill, np.float32)
    heatmaps[0, 1, 3, 1] = 1.0  # the second point has a peak near heatmap (1, 3)
    crop, scores = SMALL.decode(heatmaps)
    assert crop.dtype == np.float32
    assert scores[0, 0] <= 0 and crop[0, 0].tolist() == [-1.0, -1.0]
    assert scores[0, 1] > 0 and (crop[0, 1] >= 0).all() and (crop[0, 1] <= 8).all()  # inside the 9 x 9 crop
