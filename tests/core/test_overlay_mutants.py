"""render_overlay at the edges test_render leaves open: survivors of overlay's mutation run (tests/mutate.py).

Expected pixels come from the schemas' own colour tables and hand arithmetic on the blend (a mean of two colours
whose sums are even is exact), from np.repeat for a nearest-neighbour upscale, and from the geometry of a line or a
dot (a pixel 2 px off a 7 px thick line is covered, off a 1 px line it is not).
"""

from __future__ import annotations

import numpy as np
import pytest

from sapiens_core.annotation import Annotation, Person
from sapiens_core.render import render_overlay
from sapiens_core.schema import class_schema, keypoint_schema

COCO17 = keypoint_schema("coco_17")
PARTS = class_schema("sapiens_28")
PARTS2 = class_schema("sapiens2_29")
BACKGROUND = (100, 150, 200)
FALLBACK = (51, 153, 255)  # the colour of points of an unknown layout
A, B = 5, 6  # COCO-17 shoulders: a green and an orange dot, joined by a link
LINK = [tuple(pair) for pair in COCO17.skeleton.tolist()].index((A, B))
LINK_COLOR = tuple(COCO17.skeleton_colors[LINK])


def _canvas(w: int = 160, h: int = 120) -> np.ndarray:
    image = np.empty((h, w, 3), np.uint8)
    image[:] = BACKGROUND
    return image


def _person(points: dict[int, tuple[float, float]], k: int = len(COCO17)) -> Person:
    xy = np.zeros((k, 2), np.float32)
    scores = np.zeros(k, np.float32)
    for i, (x, y) in points.items():
        xy[i], scores[i] = (x, y), 0.9
    return Person.from_prediction(0, xy, scores, threshold=0.1)


def _doc(*persons: Person, w: int = 160, h: int = 120, kps="coco_17", classes="sapiens_28", **layers) -> Annotation:
    return Annotation("x.png", (w, h), kps, classes, persons=list(persons), **layers)


def _mixed(out: np.ndarray, *colors) -> int:
    """Pixels that are none of the given colours: anti-aliased edges."""
    plain = np.zeros(out.shape[:2], bool)
    for c in colors:
        plain |= (out == np.array(c, np.uint8)).all(axis=2)
    return int((~plain).sum())


# ------------------------------------------------------------------------------------------------ input and sizes


@pytest.mark.parametrize("image", [np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4), np.uint8)], ids=["rgba", "grey"])
def test_only_rgb_images_are_drawn_on(image):
    with pytest.raises(ValueError, match=r"must be an \(H, W, 3\) uint8 array"):
        render_overlay(image, _doc())


def test_a_given_radius_or_thickness_is_used_and_the_other_follows_the_image():
    # 100x100: the automatic radius and thickness are both 1.
    doc = _doc(_person({A: (20, 50), B: (80, 50)}), w=100, h=100)
    out = render_overlay(_canvas(100, 100), doc, radius=5)
    assert tuple(out[50, 24]) == tuple(COCO17.colors[A])  # 4 px from the centre of a radius-5 dot
    assert tuple(out[52, 50]) == BACKGROUND  # the link is 1 px thick
    out = render_overlay(_canvas(100, 100), doc, thickness=7)
    assert tuple(out[52, 50]) == LINK_COLOR  # 2 px off a 7 px thick line
    assert tuple(out[50, 20]) == tuple(COCO17.colors[A])  # the automatic dot is still drawn
    assert tuple(out[50, 24]) == LINK_COLOR  # ... and is 1 px, the link runs on past it


def test_thickness_zero_draws_no_links_and_one_draws_them():
    doc = _doc(_person({A: (20, 60), B: (140, 60)}))
    out = render_overlay(_canvas(), doc, radius=3, thickness=0)
    assert tuple(out[60, 80]) == BACKGROUND and tuple(out[60, 20]) == tuple(COCO17.colors[A])
    out = render_overlay(_canvas(), doc, radius=3, thickness=1)
    assert tuple(out[60, 80]) != BACKGROUND  # a 1 px anti-aliased line: mostly, not fully, the link colour


def test_radius_zero_draws_no_dots_and_one_draws_them():
    doc = _doc(_person({A: (30.5, 40.5)}))
    assert (render_overlay(_canvas(), doc, radius=0, thickness=2) == BACKGROUND).all()
    out = render_overlay(_canvas(), doc, radius=1, thickness=2)
    assert tuple(out[40, 30]) != BACKGROUND  # a radius-1 anti-aliased dot tints its pixel


def test_links_and_dots_are_anti_aliased():
    # A diagonal link and no dots; then a dot and no links: both leave pixels between the two colours.
    line = render_overlay(_canvas(), _doc(_person({A: (20, 10), B: (140, 100)})), radius=0, thickness=3)
    assert tuple(line[55, 80]) == LINK_COLOR and _mixed(line, BACKGROUND, LINK_COLOR) > 20
    dot = render_overlay(_canvas(), _doc(_person({A: (50.3, 40.7)})), radius=6, thickness=0)
    assert tuple(dot[41, 50]) == tuple(COCO17.colors[A]) and _mixed(dot, BACKGROUND, COCO17.colors[A]) > 8


@pytest.mark.parametrize("far", [1e9, -1e9])
def test_a_far_off_point_still_gets_its_link_towards_it(far):
    # The far end is clipped to 2^20 px before the 1/16-pixel fixed point, which keeps the line's direction.
    near = 20 if far > 0 else 140
    out = render_overlay(_canvas(), _doc(_person({A: (near, 60), B: (far, 60)})), radius=3, thickness=3)
    edge = 159 if far > 0 else 0
    assert tuple(out[60, edge]) == LINK_COLOR
    assert tuple(out[60, 159 - edge]) == BACKGROUND


# ------------------------------------------------------------------------------------------------ part map


def test_the_default_opacity_is_one_half():
    part_map = np.zeros((120, 160), np.uint8)
    out = render_overlay(_canvas(), _doc(part_map=part_map))
    # (100, 150, 200) and the background class's (50, 50, 50), half each: exact.
    assert tuple(PARTS.colors[0]) == (50, 50, 50)
    assert (out == np.array((75, 100, 125), np.uint8)).all()


def test_an_opacity_above_one_is_opaque():
    part_map = np.zeros((120, 160), np.uint8)
    part_map[:, 80:] = 2
    out = render_overlay(_canvas(), _doc(part_map=part_map), seg_opacity=1.5)
    assert tuple(out[10, 10]) == tuple(PARTS.colors[0]) and tuple(out[10, 100]) == tuple(PARTS.colors[2])


def test_a_given_class_schema_wins_over_the_documents():
    part_map = np.full((120, 160), 2, np.uint8)
    assert tuple(PARTS.colors[2]) != tuple(PARTS2.colors[2])
    out = render_overlay(_canvas(), _doc(part_map=part_map), class_schema=PARTS2, seg_opacity=1.0)
    assert tuple(out[60, 80]) == tuple(PARTS2.colors[2])


def test_a_larger_preview_upscales_the_class_map_without_inventing_classes():
    part_map = np.array([[0, 0, 20, 20], [0, 20, 20, 0]], np.uint8)
    out = render_overlay(_canvas(8, 4), _doc(part_map=part_map, w=4, h=2), seg_opacity=1.0)
    expected = PARTS.palette()[np.repeat(np.repeat(part_map, 2, axis=0), 2, axis=1)]
    assert np.array_equal(out, expected)


def test_an_unknown_class_set_gets_a_stable_palette_with_a_grey_background():
    part_map = np.zeros((120, 160), np.uint8)
    for c in range(1, 17):
        part_map[(c - 1) // 4 * 30 : (c - 1) // 4 * 30 + 30, (c - 1) % 4 * 40 : (c - 1) % 4 * 40 + 20] = c
    doc = _doc(part_map=part_map, classes="no_such_classes")
    first = render_overlay(_canvas(), doc, seg_opacity=1.0)
    assert np.array_equal(render_overlay(_canvas(), doc, seg_opacity=1.0), first)  # the same colours every time
    assert tuple(first[0, 30]) == (50, 50, 50)  # class 0
    colours = {tuple(first[(c - 1) // 4 * 30 + 5, (c - 1) % 4 * 40 + 5]) for c in range(1, 17)}
    assert len(colours) == 16 and (50, 50, 50) not in colours  # the classes are told apart


# ------------------------------------------------------------------------------------------------ keypoint layouts


def test_a_document_without_a_keypoint_set_name_is_drawn_by_its_point_count():
    doc = _doc(_person({A: (20, 60), B: (140, 60)}), kps=None)
    out = render_overlay(_canvas(), doc, radius=3, thickness=3)
    assert tuple(out[60, 20]) == tuple(COCO17.colors[A]) == (0, 255, 0)
    assert tuple(out[60, 80]) == LINK_COLOR


@pytest.mark.parametrize("given", [COCO17, None], ids=["coco17-given", "none"])
def test_points_of_another_count_than_the_schema_are_plain_dots_without_links(given):
    # 20 points: not COCO-17's layout (and no known layout has 20): the fallback colour and no skeleton.
    person = _person({A: (20, 60), B: (140, 60), 18: (80, 100)}, k=20)
    out = render_overlay(_canvas(), _doc(person, kps=None), keypoint_schema=given, radius=3, thickness=3)
    for x, y in ((20, 60), (140, 60), (80, 100)):
        assert tuple(out[y, x]) == FALLBACK
    assert tuple(out[60, 80]) == BACKGROUND
