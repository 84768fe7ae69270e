"""The detector's arithmetic checked against hand computations: letterbox (spec §4), decoding (§5), the Sapiens
filter and its NMS (§6), and boxes from a foreground mask. Every expected number is written out, not recomputed.
"""

from __future__ import annotations

import numpy as np
import pytest

from sapiens_core.detect import ForegroundDetector, PersonFilter, boxes_from_foreground
from sapiens_core.detect.decode import Detections, decode_levels
from sapiens_core.detect.nms import nms
from sapiens_core.detect.preprocess import letterbox

# ---------------------------------------------------------------------------------------------- pre-processing


def test_letterbox_rounds_half_up_pads_114_and_normalises_bgr():
    rgb = np.zeros((337, 1000, 3), np.uint8)
    rgb[...] = (200, 100, 50)  # R, G, B: one colour, so bilinear resizing keeps it exactly
    boxed = letterbox(rgb)
    # ratio 640 / 1000 = 0.64; 337 * 0.64 = 215.68 -> 216 (truncation would give 215)
    assert boxed.resized == (640, 216)
    assert boxed.scale == (0.64, 216 / 337)
    assert boxed.tensor.shape == (3, 640, 640) and boxed.tensor.dtype == np.float32
    content, pad = boxed.tensor[:, :216], boxed.tensor[:, 216:]
    # channel 0 is blue: (50 - 103.53) / 57.375; then green, then red
    np.testing.assert_allclose(
        content[:, 100, 100], [(50 - 103.53) / 57.375, (100 - 116.28) / 57.12, (200 - 123.675) / 58.395], rtol=1e-6
    )
    np.testing.assert_allclose(
        pad[:, 0, 0], [(114 - 103.53) / 57.375, (114 - 116.28) / 57.12, (114 - 123.675) / 58.395], rtol=1e-6
    )
    assert np.ptp(content, axis=(1, 2)).max() < 1e-6 and np.ptp(pad, axis=(1, 2)).max() < 1e-6


def test_letterbox_pads_right_not_centred_and_upscales_small_images():
    rgb = np.zeros((40, 20, 3), np.uint8)  # portrait, 20 wide: ratio 16
    boxed = letterbox(rgb, mean=None, std=None)
    assert boxed.resized == (320, 640) and boxed.scale == (16.0, 16.0)
    raw = boxed.tensor
    assert (raw[:, :, :320] == 0).all() and (raw[:, :, 320:] == 114).all()


def test_letterbox_refuses_what_is_not_an_rgb_image():
    with pytest.raises(ValueError, match="uint8 RGB"):
        letterbox(np.zeros((10, 10), np.uint8))


# ---------------------------------------------------------------------------------------------- decoding


def _empty_levels(size=640):
    """Logits of -20 (score ~2e-9) everywhere, zero distances, at strides 8, 16, 32."""
    return [
        (np.full((1, size // s, size // s), -20.0, np.float32), np.zeros((4, size // s, size // s), np.float32))
        for s in (8, 16, 32)
    ]


def test_decoding_hand_built_head_outputs():
    levels = _empty_levels()
    # stride 16, row 10, col 20: prior (320, 160); ltrb (100, 50, 60, 150) -> (220, 110, 380, 310)
    levels[1][0][0, 10, 20] = 2.0  # sigmoid(2) = 0.880797
    levels[1][1][:, 10, 20] = (100, 50, 60, 150)
    # stride 8, row 0, col 0: prior (0, 0); ltrb (30, 30, 40, 20): x1, y1 clipped to 0 -> (0, 0, 40, 20)
    levels[0][0][0, 0, 0] = 0.0  # 0.5
    levels[0][1][:, 0, 0] = (30, 30, 40, 20)
    # stride 32, row 19, col 19: prior (608, 608); ltrb (8, 8, 100, 100), clipped to the canvas: (600, 600, 640, 640)
    levels[2][0][0, 19, 19] = -1.0  # 0.268941
    levels[2][1][:, 19, 19] = (8, 8, 100, 100)
    # an image of 1280 x 720 letterboxed to 640 x 360: scale 0.5 on both axes, boxes double
    found = decode_levels(levels, (8, 16, 32), (640, 640), (0.5, 0.5))
    np.testing.assert_allclose(found.boxes, [[440, 220, 760, 620], [0, 0, 80, 40], [1200, 1200, 1280, 1280]])
    np.testing.assert_allclose(found.scores, [0.880797, 0.5, 0.268941], rtol=1e-5)
    assert found.labels.tolist() == [0, 0, 0]
    # mmdet does not clip to the original image: y reaches 1280 in a 720-high image (spec §5.2 step 6)
    assert found.boxes[:, 3].max() == 1280


def test_decoding_drops_empty_boxes_and_low_scores_per_level_limit():
    levels = _empty_levels()
    levels[0][0][0, 5, 5] = 3.0  # a confident point whose box is empty (zero distances): dropped
    levels[0][0][0, 6, 6] = -2.95  # sigmoid = 0.0497 < 0.05: dropped
    levels[0][1][:, 6, 6] = 10
    found = decode_levels(levels, (8, 16, 32), (640, 640), (1.0, 1.0))
    assert len(found.boxes) == 0
    # 1,500 points above the threshold on one level: 1,000 survive the per-level limit
    levels = _empty_levels()
    levels[0][0][0].ravel()[:1500] = np.linspace(0.0, 1.0, 1500)
    levels[0][1][:] = 4.0
    levels[1][0][0, 0, 1] = 5.0
    levels[1][1][:, 0, 1] = 4.0
    found = decode_levels(levels, (8, 16, 32), (640, 640), (1.0, 1.0), max_per_img=5000)
    assert len(found.boxes) == 1001
    assert found.scores[0] == pytest.approx(1 / (1 + np.exp(-5.0)))
    assert found.scores[-1] == pytest.approx(1 / (1 + np.exp(-500 / 1499)), rel=1e-5)  # the 1,000th best of level 0
    assert len(decode_levels(levels, (8, 16, 32), (640, 640), (1.0, 1.0)).boxes) == 100  # max_per_img


# ---------------------------------------------------------------------------------------------- NMS and filter


def test_nms_keeps_a_box_at_exactly_the_threshold():
    # +1 pixel areas: [0, 0, 9, 9] is 10 x 10 = 100; [0, 0, 5, 4] is 6 x 5 = 30, inside it: IoU 30 / 100 = 0.3
    boxes = np.array([[0, 0, 9, 9], [0, 0, 5, 4]], np.float32)
    scores = np.array([0.9, 0.8], np.float32)
    assert nms(boxes, scores, 0.3).tolist() == [0, 1]
    assert nms(boxes, scores, 0.29).tolist() == [0]


def test_nms_counts_the_extra_pixel():
    # with +1: intersection 5 x 10 = 50, union 150, IoU 1/3 > 0.3 -> suppressed (without it: 36 / 126 = 0.29, kept)
    boxes = np.array([[0, 0, 9, 9], [5, 0, 14, 9]], np.float32)
    assert nms(boxes, np.array([0.5, 0.9], np.float32), 0.3).tolist() == [1]


def _detections(rows, labels=None):
    rows = np.asarray(rows, np.float32)
    labels = np.zeros(len(rows), np.int64) if labels is None else np.asarray(labels, np.int64)
    return Detections(rows[:, :4], rows[:, 4], labels)


def test_score_threshold_is_strict():
    found = _detections([[0, 0, 10, 10, 0.3], [20, 0, 30, 10, 0.31], [40, 0, 50, 10, 0.9]])
    kept = PersonFilter().apply(found, 100, 100)
    np.testing.assert_allclose(kept, [[40, 0, 50, 10, 0.9], [20, 0, 30, 10, 0.31]])


def test_filter_keeps_persons_only_and_at_most_max_persons():
    found = _detections(
        [[0, 0, 10, 10, 0.9], [20, 0, 30, 10, 0.8], [40, 0, 50, 10, 0.7], [60, 0, 70, 10, 0.95]], [0, 0, 0, 1]
    )
    kept = PersonFilter(max_persons=2).apply(found, 100, 100)
    np.testing.assert_allclose(kept, [[0, 0, 10, 10, 0.9], [20, 0, 30, 10, 0.8]])


def test_nothing_found_is_the_whole_image():
    found = _detections([[0, 0, 10, 10, 0.2]])
    np.testing.assert_array_equal(PersonFilter().apply(found, 64, 48), [[0, 0, 64, 48, 1.0]])
    np.testing.assert_array_equal(PersonFilter().apply(Detections.empty(), 64, 48), [[0, 0, 64, 48, 1.0]])
    assert PersonFilter(whole_image_fallback=False).apply(found, 64, 48).shape == (0, 5)


@pytest.mark.parametrize("bad", [{"score_threshold": 1.5}, {"nms_threshold": -0.1}, {"max_persons": 0}])
def test_filter_settings_are_checked(bad):
    with pytest.raises(ValueError):
        PersonFilter(**bad)


# ---------------------------------------------------------------------------------------------- foreground boxes


def test_two_people_two_boxes_largest_first():
    mask = np.zeros((200, 300), bool)
    mask[20:180, 30:90] = True  # 160 x 60
    mask[50:150, 200:260] = True  # 100 x 60
    np.testing.assert_array_equal(boxes_from_foreground(mask), [[30, 20, 90, 180, 1], [200, 50, 260, 150, 1]])


def test_a_detached_hand_close_to_its_body_merges_and_a_speck_is_dropped():
    mask = np.zeros((200, 300), bool)
    mask[20:180, 30:90] = True  # body
    mask[100:115, 94:104] = True  # a hand 4 px away (merge gap: 2% of 300 = 6 px)
    mask[10:12, 280:282] = True  # a 4-pixel speck, far from anyone (min area: 0.1% of 60,000 = 60 px)
    np.testing.assert_array_equal(boxes_from_foreground(mask), [[30, 20, 104, 180, 1]])


def test_people_further_apart_than_the_gap_stay_apart():
    mask = np.zeros((200, 300), bool)
    mask[20:180, 30:90] = True
    mask[20:180, 97:157] = True  # 7 px away
    assert len(boxes_from_foreground(mask)) == 2
    assert len(boxes_from_foreground(mask, merge_gap=0.05)) == 1
    assert boxes_from_foreground(np.zeros((5, 5), bool)).shape == (0, 5)


def test_foreground_detector_falls_back_to_the_whole_image_and_needs_a_mask():
    detector = ForegroundDetector()
    image = np.zeros((40, 60, 3), np.uint8)
    np.testing.assert_array_equal(detector.detect(image, foreground=np.zeros((40, 60), bool)), [[0, 0, 60, 40, 1]])
    with pytest.raises(ValueError, match="seg model"):
        detector.detect(image)
    mask = np.zeros((40, 60), bool)
    mask[5:35, 5:20] = mask[5:35, 40:55] = True
    assert len(ForegroundDetector(PersonFilter(max_persons=1)).detect(image, foreground=mask)) == 1
