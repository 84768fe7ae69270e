"""Track IDs and video frames in documents and exports: saved, loaded, exported PoseTrack-style, imported back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from sapiens_core.annotation import Annotation, Person, VideoRef
from sapiens_core.errors import AnnotationFormatError
from sapiens_core.export import ExportItem, ExportOptions, ImportedImage, ImportOptions, get_format
from tests.coco_docs import export, import_all, person, quiet


def _frame_docs(tmp_path: Path) -> list[Annotation]:
    """Three frames of clip.mp4 (0, 5, 10): two tracked persons and, in the last, one the tracker left out."""
    rng = np.random.default_rng(3)
    docs = []
    for n, frame in enumerate((0, 5, 10)):
        persons = [person(0, rng, 20), person(1, rng, 200)]
        persons[0].track_id, persons[1].track_id = 3, 8
        if n == 2:
            persons[1].track_id = None
        doc = Annotation(
            str(tmp_path / "frames" / f"clip_f{frame:06d}.jpg"),
            (400, 240),
            "goliath_308",
            persons=persons,
            video=VideoRef("clip.mp4", frame),
        )
        doc.save(tmp_path / "docs" / f"clip_f{frame:06d}.json")
        docs.append(doc)
    return docs


def _as_document(image: ImportedImage) -> Annotation:
    return Annotation(
        str(image.image_path),
        image.size,
        image.keypoint_schema,
        image.class_schema,
        image.persons,
        reviewed=image.reviewed,
        video=image.video,
        **image.layers,
    )


def test_track_id_and_video_frame_survive_save_and_load(tmp_path):
    docs = _frame_docs(tmp_path)
    loaded = Annotation.load(tmp_path / "docs" / "clip_f000010.json")
    assert loaded == docs[2]
    assert [p.track_id for p in loaded.persons] == [3, None]
    assert loaded.video == VideoRef("clip.mp4", 10)
    raw = json.loads((tmp_path / "docs" / "clip_f000010.json").read_text())
    assert raw["video"] == {"name": "clip.mp4", "frame_index": 10}
    assert raw["persons"][0]["track_id"] == 3 and "track_id" not in raw["persons"][1]
    assert raw["version"] == 1  # nothing an older reader cannot open: it ignores the two keys


def test_documents_without_tracks_are_written_as_before(tmp_path):
    rng = np.random.default_rng(0)
    doc = Annotation(str(tmp_path / "a.jpg"), (400, 240), "goliath_308", persons=[person(0, rng, 20)])
    raw = json.loads(doc.save(tmp_path / "a.json").read_text())
    assert "video" not in raw and "track_id" not in raw["persons"][0]
    # An old file (no such keys) loads with neither.
    loaded = Annotation.load(tmp_path / "a.json")
    assert loaded.video is None and loaded.persons[0].track_id is None


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["persons"][0].__setitem__("track_id", -1), "track_id"),
        (lambda d: d["persons"][0].__setitem__("track_id", "7"), "track_id"),
        (lambda d: d.__setitem__("video", {"name": "clip.mp4"}), "video"),
        (lambda d: d.__setitem__("video", {"name": "clip.mp4", "frame_index": 1.5}), "frame index"),
    ],
)
def test_bad_track_and_video_fields_are_named(tmp_path, edit, message):
    _frame_docs(tmp_path)
    path = tmp_path / "docs" / "clip_f000000.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(AnnotationFormatError, match=message):
        Annotation.load(path)


def test_person_copy_and_equality_carry_the_track_id():
    p = Person.from_prediction(0, np.zeros((3, 2)), np.ones(3))
    p.track_id = 4
    assert p.copy().track_id == 4 and p.copy() == p
    q = p.copy()
    q.track_id = 5
    assert q != p
    with pytest.raises(ValueError, match="track_id"):
        Person(0, np.zeros((1, 3)), np.zeros(1), np.zeros(1), track_id=True)


@pytest.mark.parametrize("fmt", ["coco-goliath308", "coco17", "coco-wholebody133"])
def test_coco_exports_track_id_and_posetrack_frame_fields(tmp_path, fmt):
    docs = _frame_docs(tmp_path)
    out = tmp_path / "export" / "clip.json"
    export(fmt, out, docs, score_threshold=None)
    coco = quiet(COCO, str(out))  # the reference reader takes the extra fields as they are
    images = sorted(coco.loadImgs(coco.getImgIds()), key=lambda i: i["frame_id"])
    assert [(i["vid_id"], i["frame_id"]) for i in images] == [("clip.mp4", 0), ("clip.mp4", 5), ("clip.mp4", 10)]
    per_frame = [[a.get("track_id") for a in coco.loadAnns(coco.getAnnIds(imgIds=i["id"]))] for i in images]
    assert per_frame == [[3, 8], [3, 8], [3, None]]

    imported = import_all(fmt, out)
    assert [i.video for i in imported] == [d.video for d in docs]
    assert [[p.track_id for p in i.persons] for i in imported] == [[3, 8], [3, 8], [3, None]]
    for image in imported:
        stem = Path(image.image_path).stem
        _as_document(image).save(tmp_path / "again" / f"{stem}.json")
    again = [Annotation.load(tmp_path / "again" / f"clip_f{f:06d}.json") for f in (0, 5, 10)]
    out2 = tmp_path / "export" / "again.json"
    export(fmt, out2, again, score_threshold=None)
    assert out2.read_bytes() == out.read_bytes()


def test_coco_import_reads_posetrack_style_numbers_and_refuses_half_a_video(tmp_path):
    docs = _frame_docs(tmp_path)
    out = tmp_path / "clip.json"
    export("coco17", out, docs[:1], score_threshold=None)
    data = json.loads(out.read_text())
    data["images"][0]["vid_id"] = 342  # some files number their videos
    out.write_text(json.dumps(data))
    assert import_all("coco17", out)[0].video == VideoRef("342", 0)
    del data["images"][0]["vid_id"]
    out.write_text(json.dumps(data))
    problem = import_all("coco17", out)[0]
    assert "vid_id and frame_id" in str(problem)


def test_labelme_keeps_track_ids_and_the_video_frame(tmp_path):
    docs = _frame_docs(tmp_path)
    for doc in docs:  # labelme checks the image exists and has the stated size
        Path(doc.image_path).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", doc.image_size).save(doc.image_path)
    fmt = get_format("labelme")
    out = tmp_path / "labelme"
    fmt.write(out, [ExportItem(d, Path(d.image_path).stem) for d in docs], ExportOptions(score_threshold=None))
    raw = json.loads((out / "clip_f000010.json").read_text())
    assert raw["track_ids"] == {"0": 3}  # person 1 of this frame is not tracked
    assert raw["video"] == {"name": "clip.mp4", "frame_index": 10}
    assert {s["group_id"] for s in raw["shapes"]} == {0, 1}  # group_id stays the person id

    imported = sorted(fmt.read(out, ImportOptions()), key=lambda i: i.image_path.name)
    assert [[p.track_id for p in i.persons] for i in imported] == [[3, 8], [3, 8], [3, None]]
    assert [i.video for i in imported] == [d.video for d in docs]
    out2 = tmp_path / "labelme2"
    again = [_as_document(i) for i in imported]
    fmt.write(out2, [ExportItem(d, Path(d.image_path).stem) for d in again], ExportOptions(score_threshold=None))
    for name in ("clip_f000000.json", "clip_f000005.json", "clip_f000010.json"):
        assert (out2 / name).read_bytes() == (out / name).read_bytes()
