"""The detector in the pipeline: frames without boxes get the detector's, given boxes win, the seg foreground
can be the detector, and every pose model (a Sapiens backend, the quick model, any PoseModel) runs once per box.
"""

from __future__ import annotations

import numpy as np
import pytest

from sapiens_core.annotation import Person
from sapiens_core.detect import ForegroundDetector
from sapiens_core.pipeline import Frame, Pipeline, TaskModel
from sapiens_core.pose_models import PoseResult
from sapiens_core.quick.holistic import QuickResult
from sapiens_core.quick.pose import QuickPose
from sapiens_core.schema import keypoint_schema

TWO = np.array([[10, 20, 60, 120, 0.9], [100, 30, 150, 140, 0.7]], np.float32)


class FixedDetector:
    """A PersonDetector that always finds the same boxes, and records what it was shown."""

    name = "fixed"

    def __init__(self, boxes=TWO):
        self.boxes, self.seen, self.closed = boxes, [], False

    def detect(self, image, foreground=None):
        self.seen.append((image.shape, None if foreground is None else foreground.copy()))
        return self.boxes

    def describe(self):
        return {"detector": "fixed"}

    def close(self):
        self.closed = True


class FakeHolistic:
    """Stands in for MediaPipe: one person per image shown, all points at the image centre, a full mask."""

    schema = keypoint_schema("goliath_308")

    def __init__(self):
        self.shown = []

    def predict(self, image):
        self.shown.append(image.shape[:2])
        h, w = image.shape[:2]
        n = len(self.schema)
        points = np.tile(np.array([[w / 2, h / 2]], np.float32), (n, 1))
        return QuickResult(points, np.full(n, 0.9, np.float32), np.ones(n, bool), np.ones((h, w), bool))

    def close(self):
        pass


@pytest.fixture
def image():
    return np.zeros((160, 200, 3), np.uint8)


def test_frames_without_boxes_get_the_detectors(tiny_checkpoint, image):
    detector = FixedDetector()
    pipeline = Pipeline.from_paths({"pose": tiny_checkpoint("pose", "pth")}, device="cpu", detector=detector)
    own = np.array([[0, 0, 50, 50, 0.5]], np.float32)
    try:
        detected, given = pipeline.run([Frame(image, "a.png"), Frame(image, "b.png", own)])
    finally:
        pipeline.close()
    assert detector.closed  # the pipeline owns its detector
    assert len(detector.seen) == 1  # given boxes win: the detector never saw b.png
    np.testing.assert_array_equal([p.box for p in detected.persons], TWO[:, :4])
    assert [p.score for p in detected.persons] == pytest.approx([0.9, 0.7])
    assert detected.models["detector"] == {"detector": "fixed"} and "detector" not in given.models
    np.testing.assert_array_equal([p.box for p in given.persons], own[:, :4])


def test_the_seg_foreground_arrives_before_the_boxes_are_asked_for(tiny_checkpoint, image):
    detector = FixedDetector()
    paths = {"pose": tiny_checkpoint("pose", "onnx"), "seg": tiny_checkpoint("seg", "onnx")}
    pipeline = Pipeline.from_paths(paths, device="cpu", detector=detector)
    try:
        (doc,) = pipeline.run([Frame(image, "a.png")])
    finally:
        pipeline.close()
    ((shape, foreground),) = detector.seen
    assert shape == image.shape and foreground is not None
    np.testing.assert_array_equal(foreground, doc.foreground)


def test_boxes_from_the_seg_foreground(tiny_checkpoint, image):
    paths = {"pose": tiny_checkpoint("pose", "onnx"), "seg": tiny_checkpoint("seg", "onnx")}
    pipeline = Pipeline.from_paths(paths, device="cpu", detector=ForegroundDetector())
    try:
        (doc,) = pipeline.run([Frame(image, "a.png")])
    finally:
        pipeline.close()
    assert doc.models["detector"]["detector"] == "seg-foreground"
    # the tiny seg model's random mask decides how many; each is one person, or the whole image when none
    expected = ForegroundDetector().detect(image, foreground=doc.foreground)
    np.testing.assert_array_equal([p.box for p in doc.persons], expected[:, :4])


def test_the_quick_model_runs_once_per_detected_box(image):
    holistic = FakeHolistic()
    quick = QuickPose(holistic)
    pipeline = Pipeline({"pose": TaskModel("pose", quick, pose=quick)}, detector=FixedDetector())
    (doc,) = pipeline.run([Frame(image, "a.png")])
    assert len(holistic.shown) == 2 and len(doc.persons) == 2
    # the first box (10, 20, 60, 120) padded by 1.25 about its centre (35, 70): x from floor(35 - 31.25) = 3 to
    # ceil(35 + 31.25) = 67, y from floor(70 - 62.5) = 7 to ceil(70 + 62.5) = 133: a 64 x 126 region
    assert holistic.shown[0] == (126, 64)
    # the fake puts every point at the centre of the region it was shown
    np.testing.assert_allclose(doc.persons[0].keypoints[0, :2], [35, 70], atol=1)
    assert doc.keypoint_schema == "goliath_308" and doc.foreground is not None


def test_any_pose_model_plugs_in_without_registration(image):
    class CountingPose:
        """A third pose model: the pipeline only needs the protocol."""

        def __init__(self):
            self.calls = []

        def estimate(self, images, boxes, kpt_threshold):
            self.calls.append([None if b is None else len(b) for b in boxes])
            people = [Person.from_prediction(0, np.zeros((17, 2)), np.ones(17), box=np.array([1, 2, 3, 4]))]
            return [PoseResult(people, "coco_17") for _ in images]

        def provenance(self):
            return {"model": "counting"}

        def close(self):
            pass

    class Runtime:
        path, format, device, provider = type("P", (), {"name": "counting"})(), "custom", "cpu", "python"

        def close(self):
            pass

    pose = CountingPose()
    pipeline = Pipeline({"pose": TaskModel("pose", Runtime(), pose=pose)}, detector=FixedDetector())
    first, second = pipeline.run([Frame(image, "a.png"), Frame(image, "b.png", TWO[:1])])
    assert pose.calls == [[2, 1]]  # one call for the batch, with each frame's boxes
    assert first.keypoint_schema == "coco_17" and first.models["pose"]["model"] == "counting"
