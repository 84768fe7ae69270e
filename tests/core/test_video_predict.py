"""``predict clip.mp4`` end to end with a tiny pose model: documents per frame, track IDs, the tracks file, COCO
with PoseTrack fields (read by pycocotools), and the overlay video (read back by OpenCV)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from sapiens_core.annotation import Annotation, VideoRef
from sapiens_core.cli import main
from sapiens_core.track import TRACKS_FORMAT
from tests.coco_docs import quiet

W, H, FPS, FRAMES = 160, 120, 10.0, 8


def box_of(name: str, t: int) -> list[float]:
    """A walks right along the left half, B stands on the right: they never overlap."""
    if name == "A":
        return [10.0 + 4 * t, 20.0, 50.0 + 4 * t, 110.0]
    return [110.0, 15.0, 150.0, 112.0]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> tuple[Path, Path]:
    """An 8-frame MP4 with two bright figures, and a boxes file naming each frame's two persons."""
    folder = tmp_path_factory.mktemp("clip")
    video = folder / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    boxes = {}
    for t in range(FRAMES):
        frame = np.full((H, W, 3), 30, np.uint8)
        for name in ("A", "B"):
            x1, y1, x2, y2 = (int(v) for v in box_of(name, t))
            cv2.rectangle(frame, (x1, y1), (x2, y2), (60, 170, 220), -1)
        writer.write(frame)
        boxes[f"clip_f{t:06d}"] = [[*box_of("A", t), 0.9], [*box_of("B", t), 0.8]]
    writer.release()
    boxes_file = folder / "boxes.json"
    boxes_file.write_text(json.dumps(boxes))
    return video, boxes_file


def predict(capsys, *args) -> tuple[int, str]:
    rc = main(["predict", *map(str, args), "--device", "cpu"])
    return rc, capsys.readouterr().err


def count_frames(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


@pytest.fixture(scope="module")
def tracked_run(tiny_checkpoint, clip, tmp_path_factory):
    video, boxes = clip
    out = tmp_path_factory.mktemp("tracked")
    pose = tiny_checkpoint("pose", "torchscript")
    rc = main(
        ["predict", str(video), "--pose", str(pose), "--boxes", str(boxes), "--out", str(out)]
        + ["--track", "--render-video", "--device", "cpu"]
    )
    return rc, out


def test_one_document_and_frame_image_per_frame_with_track_ids(tracked_run):
    rc, out = tracked_run
    assert rc == 0
    docs = [Annotation.load(out / f"clip_f{t:06d}.json") for t in range(FRAMES)]
    assert sorted(p.name for p in out.glob("clip_f*.jpg")) == [f"clip_f{t:06d}.jpg" for t in range(FRAMES)]
    ids = {"A": set(), "B": set()}
    for t, doc in enumerate(docs):
        assert doc.video == VideoRef("clip.mp4", t)
        assert Path(doc.image_path) == out / f"clip_f{t:06d}.jpg" and doc.image_size == (W, H)
        assert len(doc.persons) == 2
        for person in doc.persons:
            name = "A" if person.box[0] < 100 else "B"
            assert person.box.tolist() == pytest.approx(box_of(name, t))
            ids[name].add(person.track_id)
    assert len(ids["A"]) == 1 and len(ids["B"]) == 1 and ids["A"] | ids["B"] == {1, 2}


def test_tracks_file_lists_each_tracks_frames_and_boxes(tracked_run):
    _, out = tracked_run
    data = json.loads((out / "clip_tracks.json").read_text())
    assert (data["format"], data["video"], data["fps"], data["every"]) == (TRACKS_FORMAT, "clip.mp4", FPS, 1)
    assert data["frame_count"] == FRAMES
    assert [t["track_id"] for t in data["tracks"]] == [1, 2]
    for track in data["tracks"]:
        assert track["frames"] == list(range(FRAMES))
        assert track["times"] == pytest.approx([t / FPS for t in range(FRAMES)])
        name = "A" if track["boxes"][0][0] < 100 else "B"
        assert track["boxes"] == [pytest.approx(box_of(name, t)) for t in range(FRAMES)]
        assert track["scores"] == pytest.approx([0.9 if name == "A" else 0.8] * FRAMES)


def test_coco_file_has_posetrack_fields_and_loads_in_pycocotools(tracked_run):
    _, out = tracked_run
    coco = quiet(COCO, str(out / "clip_coco.json"))
    images = sorted(coco.loadImgs(coco.getImgIds()), key=lambda i: i["frame_id"])
    assert [(i["vid_id"], i["frame_id"], i["file_name"]) for i in images] == [
        ("clip.mp4", t, f"clip_f{t:06d}.jpg") for t in range(FRAMES)
    ]
    for image in images:
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        assert sorted(a["track_id"] for a in anns) == [1, 2]


def test_overlay_video_has_one_frame_per_processed_frame(tracked_run):
    _, out = tracked_run
    assert count_frames(out / "clip_overlay.mp4") == FRAMES
    assert not list(out.glob(".*partial*"))  # the temporary name is gone


def test_every_nth_frame_without_tracking(tiny_checkpoint, clip, tmp_path, capsys):
    video, boxes = clip
    pose = tiny_checkpoint("pose", "torchscript")
    rc, err = predict(capsys, video, "--pose", pose, "--boxes", boxes, "--out", tmp_path, "--every", "3")
    assert rc == 0, err
    assert sorted(p.name for p in tmp_path.glob("clip_f*.json")) == [
        "clip_f000000.json",
        "clip_f000003.json",
        "clip_f000006.json",
    ]
    doc = Annotation.load(tmp_path / "clip_f000003.json")
    assert doc.video == VideoRef("clip.mp4", 3) and all(p.track_id is None for p in doc.persons)
    assert not (tmp_path / "clip_tracks.json").exists() and not (tmp_path / "clip_overlay.mp4").exists()
    coco = json.loads((tmp_path / "clip_coco.json").read_text())
    assert [i["frame_id"] for i in coco["images"]] == [0, 3, 6]
    assert all("track_id" not in a for a in coco["annotations"])


def test_smoothing_with_tracking_writes_smoothed_points(tiny_checkpoint, clip, tmp_path, capsys):
    video, boxes = clip
    pose = tiny_checkpoint("pose", "torchscript")
    common = [video, "--pose", pose, "--boxes", boxes, "--track", "--every", "2"]
    assert predict(capsys, *common, "--out", tmp_path / "raw")[0] == 0
    assert predict(capsys, *common, "--smooth", "--out", tmp_path / "smooth")[0] == 0
    raw = Annotation.load(tmp_path / "raw" / "clip_f000000.json")
    first = Annotation.load(tmp_path / "smooth" / "clip_f000000.json")
    assert first.persons == raw.persons  # the first frame passes unchanged
    raw, smooth = (Annotation.load(tmp_path / d / "clip_f000006.json") for d in ("raw", "smooth"))
    moving = next(i for i, p in enumerate(raw.persons) if p.box[0] < 100)  # A walks: its points lag a little
    assert [p.track_id for p in smooth.persons] == [p.track_id for p in raw.persons]
    assert not np.array_equal(smooth.persons[moving].keypoints[:, :2], raw.persons[moving].keypoints[:, :2])
    assert np.array_equal(smooth.persons[moving].keypoints[:, 2], raw.persons[moving].keypoints[:, 2])


def test_bad_video_and_bad_flags(tiny_checkpoint, clip, tmp_path, capsys):
    video, _ = clip
    pose = tiny_checkpoint("pose", "torchscript")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(2048))
    rc, err = predict(capsys, junk, "--pose", pose, "--out", tmp_path / "out")
    assert rc == 1
    assert "junk.mp4: Cannot open junk.mp4: not a video file OpenCV can read" in err
    rc, err = predict(capsys, video, "--pose", pose, "--out", tmp_path / "out", "--smooth")
    assert rc == 2 and "add --track" in err
    rc, err = predict(capsys, video, "--pose", pose, "--out", tmp_path / "out", "--every", "0")
    assert rc == 2 and "--every must be at least 1" in err
