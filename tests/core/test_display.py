"""The one rule for which keypoints and links are drawn, at its boundaries, and the overlay renderer following it."""

from __future__ import annotations

import numpy as np

from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation, Person
from sapiens_core.annotation.display import (
    linkable_points,
    shown_keypoints,
    shown_links,
    shown_person_links,
    shown_points,
)
from sapiens_core.render import render_overlay
from sapiens_core.schema import keypoint_schema

COCO17 = keypoint_schema("coco_17")
# 0.25 is exact in float32, so "exactly at the threshold" is exactly at it; one float32 step either side.
T = 0.25
ABOVE = float(np.nextafter(np.float32(T), np.float32(1)))
BELOW = float(np.nextafter(np.float32(T), np.float32(0)))


def _person(scores, visibility=None, source=None) -> Person:
    k = len(scores)
    kp = np.zeros((k, 3), np.float32)
    kp[:, 0] = np.arange(k) * 10.0
    kp[:, 2] = scores
    vis = np.full(k, 2, np.uint8) if visibility is None else np.asarray(visibility, np.uint8)
    src = np.full(k, SOURCE_MODEL, np.uint8) if source is None else np.asarray(source, np.uint8)
    return Person(0, kp, vis, src)


def test_points_at_the_threshold_are_shown_below_are_not():
    person = _person([BELOW, T, ABOVE, 0.0, 1.0])
    assert shown_keypoints(person, T).tolist() == [False, True, True, False, True]


def test_human_made_points_show_whatever_their_score_unless_deleted():
    h, m = SOURCE_HUMAN, SOURCE_MODEL
    # human low score; human deleted (visibility 0); human occluded at score 0; model-made deleted at score 1.
    person = _person([0.0, 0.9, 0.0, 1.0], visibility=[2, 0, 1, 0], source=[h, h, h, m])
    assert shown_keypoints(person, T).tolist() == [True, False, True, False]
    assert linkable_points(person.keypoints, person.visibility, person.source, T).tolist() == [
        True,
        False,
        True,
        False,
    ]


def test_links_need_both_ends_strictly_above_the_threshold_or_human():
    skeleton = np.array([[0, 1], [1, 2], [2, 3], [3, 4]])
    # 0: above, 1: exactly at (dot, no link), 2: above, 3: human at score 0, 4: model below.
    person = _person([ABOVE, T, ABOVE, 0.0, BELOW], source=[0, 0, 0, SOURCE_HUMAN, 0])
    assert shown_keypoints(person, T).tolist() == [True, True, True, True, False]
    assert shown_person_links(person, T, skeleton).tolist() == [False, False, True, False]


def test_points_without_finite_coordinates_are_never_shown():
    person = _person([0.9, 0.9, 0.9], source=[SOURCE_HUMAN] * 3)
    person.keypoints[1, 0] = np.nan
    person.keypoints[2, 1] = np.inf
    assert shown_keypoints(person, T).tolist() == [True, False, False]
    assert shown_person_links(person, T, np.array([[0, 1], [0, 2]])).tolist() == [False, False]


def test_array_form_without_sources_means_model_made():
    kp = np.array([[0, 0, 0.1], [1, 1, 0.5]], np.float32)
    assert shown_points(kp, np.array([2, 2]), None, 0.3).tolist() == [False, True]
    assert shown_links(np.array([[0, 1]]), np.array([True, True])).tolist() == [True]


def test_overlay_draws_exactly_the_rule():
    # Every COCO-17 point on its own pixel, with mixed scores, sources and visibility; the rendered dots must be
    # exactly those the rule picks (links at the threshold: test_render's boundary test).
    rng = np.random.default_rng(3)
    k = len(COCO17)
    kp = np.zeros((k, 3), np.float32)
    kp[:, 0] = 20 + (np.arange(k) % 6) * 40
    kp[:, 1] = 20 + (np.arange(k) // 6) * 40
    kp[:, 2] = rng.choice([BELOW, T, ABOVE, 0.0, 0.9], k)
    vis = rng.choice([0, 1, 2], k).astype(np.uint8)
    src = rng.choice([SOURCE_MODEL, SOURCE_HUMAN], k).astype(np.uint8)
    person = Person(0, kp, vis, src)
    doc = Annotation("x.png", (260, 140), "coco_17", persons=[person])
    out = render_overlay(np.zeros((140, 260, 3), np.uint8), doc, kpt_threshold=T, radius=3, thickness=0)
    drawn = [bool(out[int(y), int(x)].any()) for x, y in kp[:, :2]]
    assert drawn == shown_keypoints(person, T).tolist()
    assert any(drawn) and not all(drawn)  # the sample exercises both outcomes
