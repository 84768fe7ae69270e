"""The UDP codec: encode (training targets) and decode (inference) share one geometry."""

from __future__ import annotations

import numpy as np

from sapiens_core.tasks.udp_codec import UDPHeatmapCodec


def test_encode_then_decode_recovers_subpixel_points():
    codec = UDPHeatmapCodec()
    rng = np.random.default_rng(0)
    points = np.stack([rng.uniform(60, 700, 40), rng.uniform(60, 960, 40)], axis=1)
    heatmaps, weights = codec.encode(points, np.ones(40, bool))
    assert heatmaps.shape == (40, 256, 192) and heatmaps.dtype == np.float32
    assert np.all(weights == 1)
    decoded, scores = codec.decode(heatmaps[None])
    # 0.05 crop px = 0.0125 heatmap px: DARK recovers a Gaussian peak almost exactly.
    np.testing.assert_allclose(decoded[0], points, atol=0.05)
    assert np.all(scores > 0.98)


def test_target_values_follow_the_udp_definition():
    codec = UDPHeatmapCodec(input_size=(768, 1024), heatmap_size=(192, 256), sigma=6)
    point = np.array([[383.3, 511.7]])
    heatmap = codec.encode(point, [True])[0][0]
    hx, hy = point[0] * (np.array([191, 255]) / np.array([767, 1023]))
    y, x = 125, 100  # inside the 3-sigma window around the rounded point (95, 128)
    expected = np.exp(-((x - hx) ** 2 + (y - hy) ** 2) / 72)
    assert expected > 0.5 and abs(heatmap[y, x] - expected) < 1e-6
    # Outside the 37x37 window around the rounded point the map is 0.
    cx, cy = int(np.floor(hx + 0.5)), int(np.floor(hy + 0.5))
    assert heatmap[cy, cx + 19] == 0 and heatmap[cy, cx + 18] > 0


def test_unlabeled_and_far_outside_points_get_zero_weight():
    codec = UDPHeatmapCodec(input_size=(96, 128), heatmap_size=(24, 32), sigma=2)
    points = np.array([[50.0, 60.0], [50.0, 60.0], [-100.0, 60.0], [np.nan, 1.0], [98.0, 60.0]])
    heatmaps, weights = codec.encode(points, [True, False, True, True, True])
    assert weights.tolist() == [1, 0, 0, 0, 1]  # the last is just off the grid: its window still reaches it
    assert heatmaps[1:4].max() == 0 and heatmaps[4].max() > 0


def test_small_grid_round_trip():
    codec = UDPHeatmapCodec(input_size=(96, 128), heatmap_size=(24, 32), sigma=2)
    points = np.array([[40.3, 70.9], [20.0, 30.2]])
    decoded, _ = codec.decode(codec.encode(points, [True, True])[0][None])
    np.testing.assert_allclose(decoded[0], points, atol=0.05)
