"""The Pipeline API the app and the CLI share: options, persons per box, model errors, and the quick pose source."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sapiens_core.annotation import Annotation
from sapiens_core.errors import BackendError, CheckpointError
from sapiens_core.io.images import read_image
from sapiens_core.pipeline import QUICK_MODEL_ID, Frame, Pipeline, run_on_images
from sapiens_core.quick import load_mapping, quick_available

ROOT = Path(__file__).resolve().parents[2]
ASTRONAUT = ROOT / "resources" / "astronaut.png"

needs_quick = pytest.mark.skipif(not quick_available(), reason="mediapipe with the legacy Holistic solution missing")


@pytest.fixture(scope="module")
def astronaut():
    return read_image(ASTRONAUT)


def test_from_paths_keeps_its_signature_and_options(tiny_checkpoint):
    pipeline = Pipeline.from_paths(
        {"pose": tiny_checkpoint("pose", "onnx"), "seg": None},
        device="cpu",
        batch_size=3,
        flip_test=True,
        kpt_threshold=0.5,
    )
    try:
        assert set(pipeline.models) == {"pose"}
        assert (pipeline.batch_size, pipeline.flip_test, pipeline.kpt_threshold) == (3, True, 0.5)
        assert pipeline.run([]) == []
        assert pipeline.models["pose"].backend.provider  # the app shows it
    finally:
        pipeline.close()


def test_bad_requests_are_refused(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown task"):
        Pipeline.from_paths({"keypoints": "x.pt2"})
    with pytest.raises(ValueError, match="only gives pose"):
        Pipeline.from_paths({"seg": QUICK_MODEL_ID})
    monkeypatch.chdir(tmp_path)  # a Path is always a checkpoint file, even one called "quick"
    with pytest.raises(CheckpointError, match="does not exist"):
        Pipeline.from_paths({"pose": Path(QUICK_MODEL_ID)})


def test_persons_follow_the_boxes(tiny_checkpoint, astronaut):
    pipeline = Pipeline.from_paths({"pose": tiny_checkpoint("pose", "torchscript")}, device="cpu", batch_size=2)
    boxes = np.array([[40, 20, 300, 500, 0.9], [200, 10, 500, 400, 0.6]], np.float32)
    try:
        two, none, whole = pipeline.run(
            [Frame(astronaut, "a.png", boxes), Frame(astronaut, "b.png", boxes[:0]), Frame(astronaut, "c.png")]
        )
    finally:
        pipeline.close()
    assert [len(d.persons) for d in (two, none, whole)] == [2, 0, 1]
    assert [p.id for p in two.persons] == [0, 1] and [p.score for p in two.persons] == pytest.approx([0.9, 0.6])
    assert np.array_equal(two.persons[1].box, boxes[1, :4])
    assert np.array_equal(whole.persons[0].box, [0, 0, 512, 512])
    assert two.keypoint_schema == whole.keypoint_schema == "goliath_308"
    assert two.models["pose"]["format"] == "torchscript" and two.models["pose"]["device"] == "cpu"


@pytest.mark.parametrize("task,model_of", [("normal", "depth"), ("depth", "seg"), ("pose", "normal")])
def test_a_model_of_another_task_is_a_backend_error(tiny_checkpoint, astronaut, task, model_of):
    # TorchScript, ExportedProgram and ONNX files do not say their task; their output must give them away.
    pipeline = Pipeline.from_paths({task: tiny_checkpoint(model_of, "onnx")}, device="cpu")
    try:
        with pytest.raises(BackendError, match=f"is it really a {task} model"):
            pipeline.run([Frame(astronaut, "a.png")])
    finally:
        pipeline.close()


def test_run_on_images_streams_in_batches(tiny_checkpoint, astronaut):
    pipeline = Pipeline.from_paths({"normal": tiny_checkpoint("normal", "pth")}, device="cpu", batch_size=2)
    try:
        frames = (Frame(np.ascontiguousarray(astronaut[: 100 + 10 * i]), f"{i}.png") for i in range(3))
        docs = list(run_on_images(pipeline, frames))
    finally:
        pipeline.close()
    assert [d.image_path for d in docs] == ["0.png", "1.png", "2.png"]
    assert [d.normal.shape for d in docs] == [(100, 512, 3), (110, 512, 3), (120, 512, 3)]


# ------------------------------------------------------------------------------------------ quick pose source


@pytest.fixture(scope="module")
def quick_depth(tiny_checkpoint):
    if not quick_available():
        pytest.skip("mediapipe with the legacy Holistic solution missing")
    pipeline = Pipeline.from_paths({"pose": QUICK_MODEL_ID, "depth": tiny_checkpoint("depth", "onnx")}, device="cpu")
    yield pipeline
    pipeline.close()


def test_quick_pose_document(quick_depth, astronaut, tmp_path):
    (doc,) = quick_depth.run([Frame(astronaut, str(ASTRONAUT))])
    assert doc.keypoint_schema == "goliath_308" and doc.class_schema is None and doc.part_map is None
    provenance = doc.models["pose"]
    assert (provenance["file"], provenance["format"], provenance["device"]) == ("quick", "mediapipe-holistic", "cpu")
    assert doc.models["depth"]["format"] == "onnx"
    (person,) = doc.persons
    # Points the mapping has no MediaPipe source for stay unlabeled with score 0, whatever the threshold.
    unmapped = ~load_mapping().mapped_mask()
    assert unmapped.any() and np.all(person.visibility[unmapped] == 0) and np.all(person.keypoints[unmapped, 2] == 0)
    assert person.labeled.sum() > 100 and set(np.unique(person.visibility)) <= {0, 2}
    nose = person.keypoints[0]
    assert person.visibility[0] == 2 and nose[1] < 256
    # The person mask is the foreground (no seg model ran) and masks the depth.
    fg = doc.foreground
    assert fg.dtype == bool and fg.shape == (512, 512) and 0.25 < fg.mean() < 0.65
    assert np.array_equal(np.isfinite(doc.depth), fg)
    # The box is tight around the person, not the whole image.
    x1, y1, x2, y2 = person.box
    assert 0 <= x1 < nose[0] < x2 <= 512 and 0 <= y1 < nose[1] < y2 <= 512 and (x2 - x1) * (y2 - y1) < 512 * 512
    doc.save(tmp_path / "astronaut.json")
    assert Annotation.load(tmp_path / "astronaut.json") == doc


def test_quick_one_person_per_box(quick_depth, astronaut):
    canvas = np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)  # two people side by side, 1024x512
    boxes = np.array([[0, 0, 512, 512, 0.8], [512, 0, 1024, 512, 0.7]], np.float32)
    (doc,) = quick_depth.run([Frame(np.ascontiguousarray(canvas), "two.png", boxes)])
    assert len(doc.persons) == 2
    for person, box in zip(doc.persons, boxes):
        nose = person.keypoints[0]
        assert box[0] < nose[0] < box[2] and nose[1] < 256
        assert np.array_equal(person.box, box[:4]) and person.score == pytest.approx(float(box[4]))
        labeled = person.keypoints[person.labeled, :2]
        assert np.all((labeled[:, 0] >= box[0] - 1) & (labeled[:, 0] <= box[2]))
    assert doc.foreground[:, :512].mean() > 0.2 and doc.foreground[:, 512:].mean() > 0.2


def test_quick_without_a_person(quick_depth):
    (doc,) = quick_depth.run([Frame(np.full((200, 160, 3), 127, np.uint8), "empty.png")])
    assert doc.persons == [] and doc.keypoint_schema == "goliath_308"
    assert doc.foreground is not None and not doc.foreground.any() and np.isnan(doc.depth).all()


@needs_quick
def test_quick_with_seg_the_seg_foreground_wins(tiny_checkpoint, astronaut):
    pipeline = Pipeline.from_paths(
        {"pose": QUICK_MODEL_ID, "seg": tiny_checkpoint("seg", "onnx")}, device="cpu", kpt_threshold=0.95
    )
    try:
        (doc,) = pipeline.run([Frame(astronaut, "a.png")])
    finally:
        pipeline.close()
    assert doc.class_schema == "sapiens_28" and np.array_equal(doc.foreground, doc.part_map != 0)
    (person,) = doc.persons
    # A higher threshold hides more points but keeps their scores.
    assert 0 < (person.visibility > 0).sum() < (person.keypoints[:, 2] > 0).sum()
    assert np.all(person.keypoints[person.visibility > 0, 2] >= 0.95)
