"""The review queue and the part-map flags, on hand-built documents and part maps."""

from __future__ import annotations

import numpy as np
import pytest

from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation, Person
from sapiens_core.annotation.history import History
from sapiens_core.review import (
    PART_CLASSES,
    accept_keypoints,
    allowed_classes,
    low_score_keypoints,
    part_flags,
    person_queue,
    review_queue,
)
from sapiens_core.schema import class_schema, keypoint_schema

GOLIATH = keypoint_schema("goliath_308")
CLASSES = class_schema("sapiens_28")
K = len(GOLIATH)
W, H = 100, 80


def _person(pid: int, scores=None, x: float = 50.0, y: float = 40.0) -> Person:
    kp = np.zeros((K, 3), np.float32)
    kp[:, 0], kp[:, 1] = x, y
    kp[:, 2] = 0.9 if scores is None else scores
    return Person(pid, kp, np.full(K, 2), np.full(K, SOURCE_MODEL))


def _doc(persons, part_map=None) -> Annotation:
    return Annotation("img.png", (W, H), "goliath_308", "sapiens_28", persons=persons, part_map=part_map)


def test_the_table_names_real_groups_and_classes():
    groups = set(GOLIATH.groups) | set(keypoint_schema("coco_wholebody_133").groups)
    assert set(PART_CLASSES) <= groups
    for templates in PART_CLASSES.values():
        for t in templates:
            for side in ("Left", "Right"):
                assert t.format(side=side) in CLASSES.names


def test_allowed_classes_follow_the_side_of_the_name():
    allowed = allowed_classes(GOLIATH, CLASSES)
    assert allowed[GOLIATH.index("left_thumb4")].tolist() == [CLASSES.index("Left_Hand")]
    assert allowed[GOLIATH.index("right_heel")].tolist() == [
        CLASSES.index(n) for n in ("Right_Foot", "Right_Shoe", "Right_Sock")
    ]
    assert allowed[GOLIATH.index("left_knee")] is None  # body joints are not judged


def test_a_left_hand_point_off_the_left_hand_is_flagged_and_only_that():
    left_hand, torso = CLASSES.index("Left_Hand"), CLASSES.index("Torso")
    part_map = np.full((H, W), torso, np.uint8)
    part_map[10:20, 10:20] = left_hand
    person = _person(0)  # every point at (50, 40): on Torso
    thumb, index_tip, knee = (GOLIATH.index(n) for n in ("left_thumb4", "left_forefinger4", "left_knee"))
    person.keypoints[thumb, :2] = (15, 15)  # on the hand: fine
    person.keypoints[index_tip, :2] = (21.5, 15)  # 1.5 px beside the hand: within the radius of 2
    flags = part_flags(_doc([person], part_map), GOLIATH, CLASSES, radius=2)
    flagged = {f.index for f in flags}
    assert thumb not in flagged and index_tip not in flagged and knee not in flagged
    assert GOLIATH.index("left_pinky_finger4") in flagged  # on the torso
    # Every flagged point belongs to a group of the table, and lies on Torso.
    assert all(GOLIATH.groups[i] in PART_CLASSES for i in flagged)
    assert all("(on Torso)" in f.reason for f in flags)
    # Every point of a listed group sits on the torso, which no group allows: all but the two are flagged.
    assert len(flagged) == sum(1 for g in GOLIATH.groups if g in PART_CLASSES) - 2


def test_no_flags_without_part_map_for_occluded_human_or_outside_points():
    part_map = np.zeros((H, W), np.uint8)  # background everywhere: every hand point is "wrong"
    person = _person(0)
    assert part_flags(_doc([person]), GOLIATH, CLASSES) == []
    i = GOLIATH.index("left_thumb4")
    assert any(f.index == i for f in part_flags(_doc([person.copy()], part_map), GOLIATH, CLASSES))
    for change in ("occluded", "human", "outside", "ignore"):
        p = person.copy()
        pm = part_map.copy()
        if change == "occluded":
            p.visibility[i] = 1
        elif change == "human":
            p.source[i] = SOURCE_HUMAN
        elif change == "outside":
            p.keypoints[i, :2] = (W + 5, 10)
        else:
            pm[40, 50] = 255
        assert not any(f.index == i for f in part_flags(_doc([p], pm), GOLIATH, CLASSES)), change


def test_queue_is_lowest_score_first_model_made_only_and_flags_lead():
    scores = np.linspace(0.9, 0.1, K).astype(np.float32)  # the last point scores lowest
    a, b = _person(0, scores), _person(1, np.full(K, 0.6))
    b.keypoints[5, 2] = 0.05  # the lowest of all
    a.source[K - 1] = SOURCE_HUMAN  # a person placed it: never queued
    a.visibility[K - 2] = 0  # unlabeled: not queued
    a.keypoints[3, 2] = np.nan  # no score: first
    queue = low_score_keypoints(_doc([a, b]), GOLIATH)
    assert [(q.person_id, q.index) for q in queue[:3]] == [(0, 3), (1, 5), (0, K - 3)]
    assert (0, K - 1) not in {(q.person_id, q.index) for q in queue}
    assert (0, K - 2) not in {(q.person_id, q.index) for q in queue}
    below = low_score_keypoints(_doc([a, b]), GOLIATH, max_score=0.5)
    assert all(not q.score >= 0.5 for q in below) and below[1].name == GOLIATH.names[5]

    part_map = np.full((H, W), CLASSES.index("Torso"), np.uint8)
    full = review_queue(_doc([a, b], part_map), GOLIATH, CLASSES, max_score=0.5)
    n_flags = sum(q.flagged for q in full)
    assert n_flags > 0 and all(q.flagged for q in full[:n_flags])
    flag_scores = [q.score if np.isfinite(q.score) else -1 for q in full[:n_flags]]
    assert flag_scores == sorted(flag_scores)
    keys = [(q.person_id, q.index) for q in full]
    assert len(keys) == len(set(keys))


def test_persons_lowest_mean_first():
    a, b, c = _person(0, np.full(K, 0.8)), _person(1, np.full(K, 0.3)), _person(2, np.full(K, 0.1))
    c.source[:] = SOURCE_HUMAN
    assert [q.person_id for q in person_queue(_doc([a, b, c]))] == [1, 0]
    assert person_queue(_doc([a, b, c]))[0].score == pytest.approx(0.3)


def test_accept_makes_points_human_without_moving_and_undoes():
    person = _person(0)
    person.keypoints[4] = (12.25, 7.5, 0.2)
    person.visibility[4] = 1
    doc = _doc([person])
    history = History(doc)
    history.push(accept_keypoints(doc, 0, [4]))
    p = doc.persons[0]
    assert p.source[4] == SOURCE_HUMAN and tuple(p.keypoints[4]) == (12.25, 7.5, np.float32(0.2))
    assert p.visibility[4] == 1
    assert 4 not in {q.index for q in low_score_keypoints(doc)}
    history.undo()
    assert doc.persons[0].source[4] == SOURCE_MODEL
    with pytest.raises(KeyError):
        accept_keypoints(doc, 9, [0])
