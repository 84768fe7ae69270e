"""The tracker on synthetic trajectories: crossing paths, hidden persons, new persons, unsure detections; IoU and
OKS against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sapiens_core.annotation import Person
from sapiens_core.schema import keypoint_schema
from sapiens_core.track import DEFAULT_SIGMA, DocumentTracker, PersonTracker, TrackerConfig, box_iou, oks, sigmas_for

# A standing figure's 17 COCO points in a unit box (x right, y down): head, shoulders, elbows, wrists, hips, knees,
# ankles; only the layout's rough shape matters.
TEMPLATE = np.array(
    [
        [0.5, 0.08], [0.45, 0.06], [0.55, 0.06], [0.4, 0.08], [0.6, 0.08],
        [0.3, 0.25], [0.7, 0.25], [0.2, 0.42], [0.8, 0.42], [0.15, 0.58], [0.85, 0.58],
        [0.38, 0.55], [0.62, 0.55], [0.37, 0.77], [0.63, 0.77], [0.36, 0.98], [0.64, 0.98],
    ]
)  # fmt: skip


def person_at(x: float, y: float, w: float = 60, h: float = 160) -> tuple[np.ndarray, np.ndarray]:
    box = np.array([x, y, x + w, y + h], float)
    return box, TEMPLATE * [w, h] + [x, y]


def run(tracker: PersonTracker, frames: list[list[tuple[str, float, float]]], seed: int = 0) -> list[dict[str, int]]:
    """Feed frames of (name, x, y) persons in a shuffled order; per frame, the ID each name got."""
    rng = np.random.default_rng(seed)
    seen = []
    for persons in frames:
        order = rng.permutation(len(persons))
        persons = [persons[i] for i in order]
        made = [person_at(x, y) for _, x, y in persons]
        boxes = np.array([b for b, _ in made]).reshape(-1, 4)
        points = np.array([p for _, p in made]).reshape(-1, 17, 2)
        ids = tracker.update(boxes, np.full(len(persons), 0.9), points, np.ones(points.shape[:2], bool))
        seen.append({name: tid for (name, _, _), tid in zip(persons, ids)})
    return seen


def coco_tracker(**config) -> PersonTracker:
    return PersonTracker.for_schema("coco_17", 17, TrackerConfig(**config))


def test_two_people_crossing_paths_keep_their_ids():
    # A walks right, B walks left along the same line, 7 px a frame: their boxes overlap for 17 frames and almost
    # coincide between frames 28 and 29. Matching on last positions alone swaps them there; the motion model does not.
    frames = [[("A", 20 + 7 * t, 100), ("B", 420 - 7 * t, 100)] for t in range(58)]
    seen = run(coco_tracker(), frames)
    a_ids, b_ids = {s["A"] for s in seen}, {s["B"] for s in seen}
    assert len(a_ids) == 1 and len(b_ids) == 1 and a_ids | b_ids == {1, 2}


@pytest.mark.parametrize("hidden", [1, 5, 8])
def test_a_person_hidden_up_to_max_gap_frames_comes_back_with_the_same_id(hidden):
    # A walks right and is hidden (no detection) for `hidden` frames; B stands still the whole time.
    frames = []
    for t in range(30):
        persons = [("B", 400, 50)]
        if not 10 <= t < 10 + hidden:
            persons.append(("A", 20 + 6 * t, 100))
        frames.append(persons)
    seen = run(coco_tracker(max_gap=8), frames)
    assert {s["A"] for s in seen if "A" in s} == {seen[0]["A"]}
    assert {s["B"] for s in seen} == {seen[0]["B"]}


def test_a_person_hidden_longer_than_max_gap_gets_a_new_id_and_ids_are_never_reused():
    frames = [[("A", 100, 100)] for _ in range(5)] + [[] for _ in range(9)] + [[("A", 100, 100)] for _ in range(3)]
    tracker = coco_tracker(max_gap=8)
    seen = run(tracker, frames)
    assert seen[0]["A"] == 1
    assert {s["A"] for s in seen[14:]} == {2}  # same place, but gone for 9 > 8 frames: a new track, not 1 again
    assert tracker.live_ids == [2]


def test_a_new_person_gets_a_fresh_id():
    frames = [[("A", 20 + 5 * t, 100)] + ([("C", 300, 80)] if t >= 4 else []) for t in range(10)]
    seen = run(coco_tracker(), frames)
    assert all(s["A"] == 1 for s in seen)
    assert all(s["C"] == 2 for s in seen[4:])


def test_unsure_detections_continue_a_track_but_never_start_one():
    tracker = PersonTracker(TrackerConfig(high_score=0.5, low_score=0.1))
    box = np.array([[10, 10, 70, 170]], float)
    assert tracker.update(box, [0.3]) == [None]  # unsure and nothing to continue
    assert tracker.update(box, [0.9]) == [1]
    assert tracker.update(box + 2, [0.3]) == [1]  # half hidden, lower score: still the same person
    assert tracker.update(box + 400, [0.3]) == [None]  # unsure and far from every track
    assert tracker.update(box, [0.05]) == [None]  # below low_score: ignored


def test_ids_follow_boxes_alone_without_keypoints():
    tracker = PersonTracker()
    a, b = np.array([0, 0, 50, 100.0]), np.array([200, 0, 250, 100.0])
    assert tracker.update(np.stack([a, b])) == [1, 2]
    assert tracker.update(np.stack([b + 3, a + 3])) == [2, 1]


def test_keypoints_decide_when_boxes_alone_cannot():
    # Two people in the same box (one in front of the other, e.g. a dance lift): only their points tell them apart.
    box = np.array([100, 100, 200, 300.0])
    pts_a = TEMPLATE * [100, 200] + [100, 100]
    pts_b = pts_a[::-1].copy()  # another arrangement of points in the same box
    visible = np.ones((2, 17), bool)
    tracker = PersonTracker.for_schema("coco_17", 17)
    assert tracker.update(np.stack([box, box]), None, np.stack([pts_a, pts_b]), visible) == [1, 2]
    assert tracker.update(np.stack([box, box]), None, np.stack([pts_b, pts_a]), visible) == [2, 1]


def test_iou_against_a_hand_computation():
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[5, 5, 15, 15], [20, 20, 30, 30], [0, 0, 10, 10]], float)
    # Overlap 5x5 = 25 of a union 100 + 100 - 25 = 175; disjoint; identical.
    assert box_iou(a, b)[0] == pytest.approx([25 / 175, 0.0, 1.0])


def test_oks_against_a_hand_computation():
    sigmas = np.array([0.05, 0.1, 0.025])
    a = np.array([[[10.0, 10.0], [50.0, 50.0], [0.0, 0.0]]])
    b = np.array([[[13.0, 14.0], [50.0, 50.0], [99.0, 99.0]], [[0, 0], [0, 0], [0, 0]]])
    visible_a = np.array([[True, True, True]])
    visible_b = np.array([[True, True, False], [False, False, False]])
    area = 100.0 * 100.0
    # Point 0: d² = 3² + 4² = 25, k = 2 * 0.05 = 0.1, e = 25 / (2 * 10000 * 0.01) = 0.125. Point 1: d = 0, e = 0.
    # Point 2 is unlabeled in b: left out. The second b shares no point: no OKS at all.
    expected = (math.exp(-0.125) + 1.0) / 2
    got = oks(a, visible_a, np.array([area]), b, visible_b, sigmas)
    assert got[0, 0] == pytest.approx(expected, rel=1e-12)
    assert math.isnan(got[0, 1])


def test_sigmas_come_from_the_schema_else_the_documented_constant():
    assert np.array_equal(sigmas_for("goliath_308", 308), keypoint_schema("goliath_308").sigmas)
    assert sigmas_for("coco_17", 17)[0] == pytest.approx(0.026)  # COCO's nose
    assert np.all(sigmas_for(None, 5) == DEFAULT_SIGMA)
    assert np.all(sigmas_for("coco_17", 5) == DEFAULT_SIGMA)  # a count that does not fit the named schema
    coco = keypoint_schema("coco_17").sigmas
    assert DEFAULT_SIGMA == pytest.approx(coco.mean(), abs=5e-4)  # what the constant's comment claims


def test_document_tracker_sets_track_ids_on_persons():
    def frame(xs):
        persons = []
        for i, x in enumerate(xs):
            box, pts = person_at(x, 50)
            persons.append(Person.from_prediction(i, pts, np.ones(17), box=box, score=0.9))
        return persons

    tracker = DocumentTracker()
    first, second = frame([10, 300]), frame([305, 14])  # the detector lists them in another order
    tracker.update(first, "coco_17")
    tracker.update(second, "coco_17")
    assert [p.track_id for p in first] == [1, 2]
    assert [p.track_id for p in second] == [2, 1]


def test_schema_sigmas_are_used_even_when_the_first_frame_is_empty():
    tracker = DocumentTracker()
    tracker.update([], "coco_17")
    box, pts = person_at(10, 10)
    tracker.update([Person.from_prediction(0, pts, np.ones(17), box=box, score=0.9)], "coco_17")
    assert np.array_equal(tracker._tracker.sigmas, keypoint_schema("coco_17").sigmas)


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match="max_gap"):
        TrackerConfig(max_gap=-1)
    with pytest.raises(ValueError, match="low_score"):
        TrackerConfig(low_score=0.8, high_score=0.5)
