"""render_overlay draws what the demos draw, where they draw it, in RGB."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sapiens_core.annotation import SOURCE_HUMAN, Annotation, Person
from sapiens_core.io.images import read_image
from sapiens_core.render import default_radius_thickness, render_overlay
from sapiens_core.schema import class_schema, keypoint_schema

COCO17 = keypoint_schema("coco_17")
PARTS = class_schema("sapiens_28")
ASTRONAUT = Path(__file__).resolve().parents[2] / "resources" / "astronaut.png"
BACKGROUND = (100, 150, 200)


def _canvas(w: int = 160, h: int = 120) -> np.ndarray:
    image = np.empty((h, w, 3), np.uint8)
    image[:] = BACKGROUND
    return image


def _person(points: dict[int, tuple[float, float, float]]) -> Person:
    """Only the given keypoints (index -> x, y, score) are placed; the rest score 0 at the origin."""
    xy = np.zeros((len(COCO17), 2), np.float32)
    scores = np.zeros(len(COCO17), np.float32)
    for k, (x, y, s) in points.items():
        xy[k], scores[k] = (x, y), s
    return Person.from_prediction(0, xy, scores, threshold=0.1)  # labeled as the model saw it; render decides


def _doc(*persons: Person, w: int = 160, h: int = 120, **layers) -> Annotation:
    return Annotation("x.png", (w, h), "coco_17", "sapiens_28", persons=list(persons), **layers)


def test_keypoint_of_known_colour_at_its_pixel():
    image = _canvas()
    # Index 5 (left shoulder) is green, 6 (right shoulder) orange, 0 (nose) blue: RGB, no BGR swap.
    doc = _doc(_person({0: (30, 40, 0.9), 5: (100.0, 20.0, 0.8), 6: (130, 90, 0.95)}))
    out = render_overlay(image, doc, radius=4, thickness=2)
    assert tuple(out[40, 30]) == tuple(COCO17.colors[0]) == (51, 153, 255)
    assert tuple(out[20, 100]) == (0, 255, 0)
    assert tuple(out[90, 130]) == (255, 128, 0)
    assert tuple(out[40, 36]) == BACKGROUND  # a radius-4 dot ends before 6 px
    assert (image == BACKGROUND).all()  # the input is not drawn on


def test_link_between_two_points():
    a, b = 5, 6  # left-right shoulder link, blue in the schema
    link = [tuple(pair) for pair in COCO17.skeleton.tolist()].index((a, b))
    color = tuple(COCO17.skeleton_colors[link])
    doc = _doc(_person({a: (20, 60, 0.9), b: (140, 60, 0.9)}))
    out = render_overlay(_canvas(), doc, radius=3, thickness=3)
    for x in (50, 80, 110):  # along the line, well away from the end dots
        assert tuple(out[60, x]) == color
    assert tuple(out[55, 80]) == BACKGROUND  # 3 px thick: 5 px off the line is untouched
    # With one end below the threshold there is no link (and no dot for that end).
    doc = _doc(_person({a: (20, 60, 0.9), b: (140, 60, 0.2)}))
    out = render_overlay(_canvas(), doc, radius=3, thickness=3)
    assert tuple(out[60, 80]) == BACKGROUND and tuple(out[60, 140]) == BACKGROUND


def test_low_score_and_unlabeled_points_are_not_drawn():
    person = _person({0: (30, 40, 0.29), 1: (60, 40, 0.3), 2: (90, 40, 0.9)})
    person.visibility[2] = 0  # a human removed this label
    out = render_overlay(_canvas(), _doc(person), radius=4, kpt_threshold=0.3)
    assert tuple(out[40, 30]) == BACKGROUND  # below the threshold
    assert tuple(out[40, 60]) == tuple(COCO17.colors[1])  # at the threshold: drawn (score >= thr)
    assert tuple(out[40, 90]) == BACKGROUND  # unlabeled
    person.source[0] = SOURCE_HUMAN  # a human placed it: drawn whatever its score
    out = render_overlay(_canvas(), _doc(person), radius=4, kpt_threshold=0.3)
    assert tuple(out[40, 30]) == tuple(COCO17.colors[0])


def test_part_map_is_blended_with_the_palette():
    part_map = np.zeros((120, 160), np.uint8)
    part_map[10:50, 20:80] = 5
    out = render_overlay(_canvas(), _doc(part_map=part_map), seg_opacity=0.5)
    for (y, x), cls in (((30, 50), 5), ((100, 150), 0)):  # the background class is coloured too, as in the demos
        expected = np.array(BACKGROUND) * 0.5 + PARTS.colors[cls].astype(float) * 0.5
        assert np.abs(out[y, x].astype(float) - expected).max() <= 1
    assert (render_overlay(_canvas(), _doc(part_map=part_map), seg_opacity=0.0) == BACKGROUND).all()
    opaque = render_overlay(_canvas(), _doc(part_map=part_map), seg_opacity=1.0)
    assert tuple(opaque[30, 50]) == tuple(PARTS.colors[5])


def test_preview_of_another_size_scales_coordinates_and_layers():
    part_map = np.zeros((120, 160), np.uint8)
    part_map[:, 80:] = 3
    doc = _doc(_person({0: (100, 60, 0.9)}), part_map=part_map)
    small = render_overlay(_canvas(80, 60), doc, radius=2, seg_opacity=1.0)
    assert small.shape == (60, 80, 3)
    assert tuple(small[30, 50]) == tuple(COCO17.colors[0])
    assert tuple(small[10, 10]) == tuple(PARTS.colors[0]) and tuple(small[10, 70]) == tuple(PARTS.colors[3])


def test_default_sizes_follow_the_image():
    assert default_radius_thickness(768, 1024) == (6, 3)
    assert default_radius_thickness(512, 512) == (3, 2)
    assert default_radius_thickness(4096, 3000) == (24, 12)
    assert default_radius_thickness(20, 10) == (1, 1)


def test_full_goliath_overlay_on_a_photo():
    image = read_image(ASTRONAUT)
    goliath = keypoint_schema("goliath_308")
    rng = np.random.default_rng(0)
    xy = rng.uniform(100, 400, (308, 2))
    person = Person.from_prediction(0, xy, rng.uniform(0, 1, 308))
    part_map = rng.integers(0, 28, (512, 512), dtype=np.uint8)
    doc = Annotation(str(ASTRONAUT), (512, 512), "goliath_308", "sapiens_28", persons=[person], part_map=part_map)
    out = render_overlay(image, doc)
    assert out.shape == image.shape and out.dtype == np.uint8 and out.flags.c_contiguous
    shown = np.flatnonzero(person.keypoints[:, 2] >= 0.3)
    # The last-drawn confident point is fully visible at its centre.
    k = shown[-1]
    x, y = np.round(person.keypoints[k, :2]).astype(int)
    assert tuple(out[y, x]) == tuple(goliath.colors[k])


def test_bad_input():
    with pytest.raises(ValueError, match="uint8"):
        render_overlay(np.zeros((4, 4, 3), np.float32), _doc())


def test_threshold_boundary_points_inclusive_links_strict():
    # 0.25 is exact in float32 (0.3 is not: float32(0.3) > 0.3, so a test at 0.3 cannot tell >= from >).
    # At exactly the threshold a dot is drawn and a link is not, as in the official demos; one float32 step
    # above it both are, one step below neither.
    a, b = 5, 6
    link = [tuple(pair) for pair in COCO17.skeleton.tolist()].index((a, b))
    color = tuple(COCO17.skeleton_colors[link])
    step_up = float(np.nextafter(np.float32(0.25), np.float32(1)))
    step_down = float(np.nextafter(np.float32(0.25), np.float32(0)))
    for score, dots, line in ((0.25, True, False), (step_up, True, True), (step_down, False, False)):
        doc = _doc(_person({a: (20, 60, score), b: (140, 60, score)}))
        out = render_overlay(_canvas(), doc, radius=3, thickness=3, kpt_threshold=0.25)
        assert (tuple(out[60, 20]) == tuple(COCO17.colors[a])) == dots, score
        assert (tuple(out[60, 80]) == color) == line, score
        if not line:
            assert tuple(out[60, 80]) == BACKGROUND
