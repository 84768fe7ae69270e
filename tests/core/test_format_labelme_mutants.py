"""labelme export, the cases mutation testing found unpinned: the exact text layout, the report, problems per
image, track ids and video frames, score boundaries, and embedded images that must be re-encoded.

Expected files and messages are written out by hand from the module's documented layout; embedded pixels are
compared with what Pillow (a second decoder) makes of the same file.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from sapiens_core.annotation import Annotation, Person, VideoRef
from sapiens_core.export import ExportItem, ExportOptions, get_format

FMT = get_format("labelme")
K = 17  # coco_17: 0 nose, 1 left_eye, 2 right_eye, ...


def _image(path: Path, w: int = 40, h: int = 30) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), (10, 20, 30)).save(path)
    return path


def _person(pid: int, points: dict[int, tuple], box=None, score=None, source: int = 1, k: int = K) -> Person:
    """A person with the given keypoints labelled visible: {index: (x, y, score)}."""
    xys = np.zeros((k, 3), np.float32)
    v = np.zeros(k, np.uint8)
    for j, xys_j in points.items():
        xys[j] = xys_j
        v[j] = 2
    box = None if box is None else np.array(box, np.float32)
    return Person(pid, xys, v, np.full(k, source, np.uint8), box=box, score=score)


def _doc(image: Path, persons, schema="coco_17", **fields) -> Annotation:
    return Annotation(str(image), (40, 30), keypoint_schema=schema, persons=persons, **fields)


def _write(out: Path, docs, **options):
    return FMT.write(out, [ExportItem(d, Path(d.image_path).stem) for d in docs], ExportOptions(**options))


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_file_is_one_field_per_line_one_shape_per_line_and_keeps_non_ascii_names(tmp_path):
    image = _image(tmp_path / "straße.png")
    doc = _doc(image, [_person(3, {0: (5, 6, 1)}, box=[1, 2, 11, 12])])
    _write(tmp_path / "out", [doc])
    expected = (
        "{\n"
        '  "version": "5.5.0",\n'
        '  "flags": {"reviewed": false},\n'
        '  "shapes": [\n'
        '    {"label": "person", "points": [[1.0, 2.0], [11.0, 12.0]], "group_id": 3, "description": "", '
        '"shape_type": "rectangle", "flags": {}, "mask": null},\n'
        '    {"label": "nose", "points": [[5.0, 6.0]], "group_id": 3, "description": "score=1.0", '
        '"shape_type": "point", "flags": {"occluded": false, "predicted": false}, "mask": null}\n'
        "  ],\n"
        '  "imagePath": "../straße.png",\n'
        '  "imageData": null,\n'
        '  "imageHeight": 30,\n'
        '  "imageWidth": 40,\n'
        '  "keypoint_schema": "coco_17"\n'
        "}\n"
    )
    assert (tmp_path / "out" / "straße.json").read_text(encoding="utf-8") == expected


def test_an_image_without_persons_or_layout_has_an_empty_shapes_list(tmp_path):
    image = _image(tmp_path / "a.png")
    _write(tmp_path / "out", [_doc(image, [], schema=None)])
    text = (tmp_path / "out" / "a.json").read_text()
    assert '\n  "shapes": [],\n' in text
    assert json.loads(text)["shapes"] == [] and json.loads(text)["keypoint_schema"] is None


def test_images_root_makes_image_paths_relative_to_it(tmp_path):
    image = _image(tmp_path / "pics" / "sub" / "a.png")
    _write(tmp_path / "out", [_doc(image, [])], images_root=tmp_path / "pics")
    assert _read(tmp_path / "out" / "a.json")["imagePath"] == "sub/a.png"


def test_the_output_folder_is_created_with_its_parents_and_may_exist_already(tmp_path):
    image = _image(tmp_path / "a.png")
    out = tmp_path / "not" / "yet" / "there"
    for _ in range(2):
        report = _write(out, [_doc(image, [])])
        assert report.written == [out / "a.json"] and not report.problems


def test_the_report_counts_every_image_and_person_and_names_each_problem(tmp_path):
    a, b = _image(tmp_path / "a.png"), _image(tmp_path / "b.png")
    bad = _image(tmp_path / "bad.png")
    docs = [
        _doc(a, [_person(0, {0: (1, 1, 1)}), _person(1, {0: (2, 2, 1)})]),
        _doc(bad, [], schema="no_such_layout"),
        _doc(b, [_person(5, {0: (3, 3, 1)})]),
    ]
    report = _write(tmp_path / "out", docs)
    assert report.problems == ["bad: unknown keypoint schema 'no_such_layout'"]
    assert report.written == [tmp_path / "out" / "a.json", tmp_path / "out" / "b.json"]
    assert (report.images, report.persons) == (2, 3)
    assert not (tmp_path / "out" / "bad.json").exists()


def _problem(tmp_path, doc, **options) -> str:
    report = _write(tmp_path / "out", [doc], **options)
    assert report.written == [] and len(report.problems) == 1
    return report.problems[0]


def test_values_that_cannot_be_written_are_named(tmp_path):
    image = _image(tmp_path / "a.png")
    box = _person(4, {}, box=[1, np.nan, 3, 4])
    assert _problem(tmp_path, _doc(image, [box])) == "a: person 4: the box is not finite"
    wrong = _person(1, {0: (1, 1, 1)}, k=18)
    assert _problem(tmp_path, _doc(image, [wrong])) == "a: person 1 has 18 keypoints, coco_17 has 17"
    unknown = _person(2, {0: (1, 1, 1)}, k=5)
    assert _problem(tmp_path, _doc(image, [unknown], schema=None)).startswith(
        "a: no known keypoint set has 5 points (known: "
    )


def test_without_a_stated_layout_the_point_count_names_it(tmp_path):
    image = _image(tmp_path / "a.png")
    _write(tmp_path / "out", [_doc(image, [_person(0, {16: (7, 8, 1)})], schema=None)])
    data = _read(tmp_path / "out" / "a.json")
    assert data["keypoint_schema"] == "coco_17"
    assert [s["label"] for s in data["shapes"]] == ["right_ankle"]


def test_a_point_with_a_non_finite_coordinate_is_left_out_and_only_that_one(tmp_path):
    image = _image(tmp_path / "a.png")
    _write(tmp_path / "out", [_doc(image, [_person(0, {0: (np.nan, 5, 1), 1: (3, 4, 1)})])])
    assert [s["label"] for s in _read(tmp_path / "out" / "a.json")["shapes"]] == ["left_eye"]


def test_a_model_point_scoring_exactly_the_threshold_is_written(tmp_path):
    image = _image(tmp_path / "a.png")
    person = _person(0, {0: (1, 1, 0.5), 1: (2, 2, 0.4999)}, source=0)
    _write(tmp_path / "out", [_doc(image, [person])], score_threshold=0.5)
    assert [s["label"] for s in _read(tmp_path / "out" / "a.json")["shapes"]] == ["nose"]


def test_a_box_score_is_the_detectors_double_and_no_score_is_an_empty_description(tmp_path):
    image = _image(tmp_path / "a.png")
    scored = _person(0, {}, box=[1, 1, 5, 5], score=0.123456789)  # float32 would read 0.12345679
    plain = _person(1, {}, box=[2, 2, 6, 6])
    _write(tmp_path / "out", [_doc(image, [scored, plain])])
    shapes = _read(tmp_path / "out" / "a.json")["shapes"]
    assert [s["description"] for s in shapes] == ["score=0.123456789", ""]


def test_track_ids_of_persons_with_shapes_and_the_video_frame(tmp_path):
    image = _image(tmp_path / "clip_f000004.png")
    tracked = _person(0, {0: (1, 1, 1)})
    tracked.track_id = 3
    hidden = _person(1, {})  # no shape in the file: its track id would point at nothing
    hidden.track_id = 8
    untracked = _person(2, {0: (2, 2, 1)})
    doc = _doc(image, [tracked, hidden, untracked], video=VideoRef("clip.mp4", 4))
    _write(tmp_path / "out", [doc])
    data = _read(tmp_path / "out" / "clip_f000004.json")
    assert data["track_ids"] == {"0": 3}
    assert data["video"] == {"name": "clip.mp4", "frame_index": 4}


def _embedded(tmp_path, image: Path) -> bytes:
    report = _write(tmp_path / "out", [_doc(image, [])], embed_images=True)
    assert not report.problems, report.problems
    return base64.b64decode(_read(tmp_path / "out" / f"{image.stem}.json")["imageData"])


def test_an_upright_jpeg_is_embedded_as_its_own_bytes(tmp_path):
    image = tmp_path / "a.jpg"
    Image.new("RGB", (40, 30), (200, 50, 50)).save(image, quality=90)
    assert _embedded(tmp_path, image) == image.read_bytes()


def test_a_rotated_jpeg_is_embedded_as_a_png_of_its_upright_pixels(tmp_path):
    pixels = np.zeros((30, 40, 3), np.uint8)
    pixels[:, :20] = (255, 0, 0)  # left half red, right half blue
    pixels[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise: the left half ends up on top
    image = tmp_path / "a.jpg"
    Image.fromarray(pixels).save(image, quality=95, exif=exif)
    data = _embedded(tmp_path, image)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    got = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    with Image.open(image) as original:
        upright = np.asarray(ImageOps.exif_transpose(original).convert("RGB"))
    assert got.shape == upright.shape == (40, 30, 3)
    assert np.abs(got.astype(int) - upright).max() <= 8  # two JPEG decoders
    assert got[:15, :, 0].min() > 200 and got[25:, :, 2].min() > 200


def test_an_image_labelme_cannot_show_is_embedded_as_a_png_of_the_same_pixels(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    image = tmp_path / "a.bmp"
    Image.fromarray(pixels).save(image)
    data = _embedded(tmp_path, image)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), pixels)


def test_an_image_that_cannot_be_embedded_is_a_problem_of_that_image(tmp_path, monkeypatch):
    junk = tmp_path / "junk.png"
    junk.write_text("not an image")
    problem = _problem(tmp_path, _doc(junk, []), embed_images=True)
    assert problem.startswith("junk: cannot embed junk.png (")
    image = tmp_path / "a.bmp"
    Image.new("RGB", (40, 30)).save(image)
    monkeypatch.setattr(cv2, "imencode", lambda *args: (False, None))
    assert _problem(tmp_path, _doc(image, []), embed_images=True) == "a: cannot embed a.bmp: PNG encoding failed"
