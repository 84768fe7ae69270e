"""labelme format: the file labelme's own reader expects, field by field, and an exact round trip.

labelme itself is not installed for these tests: for the Python versions we support, ``pip install labelme``
pulls in PyQt5 beside our PySide6. The expected files below are written out by hand from labelme's label-file
schema (``labelme/_label_file.py``: the reserved top-level keys, the seven shape keys, point counts per
shape type, flags as name -> bool, description a string, group_id an int or null).
"""

from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sapiens_core.annotation import Annotation, Person
from sapiens_core.export import ExportItem, ExportOptions, ImportedImage, ImportOptions, ImportProblem, get_format
from sapiens_core.schema import keypoint_schema

FMT = get_format("labelme")
COCO17 = keypoint_schema("coco_17")


def _image(path: Path, w: int = 40, h: int = 30) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), (10, 20, 30)).save(path)
    return path


def _doc(image: Path) -> Annotation:
    k = len(COCO17)
    xy = np.zeros((k, 3), np.float32)
    xy[0] = (10.25, 5.5, 0.9)  # nose: model-made, visible
    xy[1] = (11.0, 4.75, 0.125)  # left_eye: model-made but below 0.3: not written
    xy[5] = (20.1, 12.3, np.nan)  # left_shoulder: human, occluded, no score
    v = np.zeros(k, np.uint8)
    v[[0, 1, 5]] = (2, 2, 1)
    src = np.ones(k, np.uint8)
    src[[0, 1]] = 0
    a = Person(7, xy, v, src, box=np.array([2, 1, 30.5, 28], np.float32), score=0.8125)
    b_xy = np.zeros((k, 3), np.float32)
    b_xy[16] = (39.0, 29.0, 1.0)  # right_ankle
    b_v = np.zeros(k, np.uint8)
    b_v[16] = 2
    b = Person(2, b_xy, b_v, np.ones(k, np.uint8))
    return Annotation(str(image), (40, 30), keypoint_schema="coco_17", persons=[a, b], reviewed=True)


def _write(out: Path, docs, **options):
    items = [ExportItem(d, Path(d.image_path).stem) for d in docs]
    return FMT.write(out, items, ExportOptions(**options))


def _to_doc(imported: ImportedImage) -> Annotation:
    return Annotation(
        str(imported.image_path),
        imported.size,
        keypoint_schema=imported.keypoint_schema,
        persons=imported.persons,
        reviewed=imported.reviewed,
    )


def test_writes_labelmes_schema_field_by_field(tmp_path):
    image = _image(tmp_path / "images" / "a.png")
    report = _write(tmp_path / "out", [_doc(image)])
    assert report.images == 1 and report.persons == 2 and not report.problems
    data = json.loads((tmp_path / "out" / "a.json").read_text())
    assert list(data) == [
        "version",
        "flags",
        "shapes",
        "imagePath",
        "imageData",
        "imageHeight",
        "imageWidth",
        "keypoint_schema",
    ]
    assert data["version"] == "5.5.0"
    assert data["flags"] == {"reviewed": True}
    assert data["imagePath"] == "../images/a.png"  # relative to the JSON's folder, as labelme resolves it
    assert data["imageData"] is None
    assert (data["imageHeight"], data["imageWidth"]) == (30, 40)
    assert data["keypoint_schema"] == "coco_17"

    def shape(label, points, gid, desc, kind, flags):
        return {
            "label": label,
            "points": points,
            "group_id": gid,
            "description": desc,
            "shape_type": kind,
            "flags": flags,
            "mask": None,
        }

    assert data["shapes"] == [
        shape("person", [[2.0, 1.0], [30.5, 28.0]], 7, "score=0.8125", "rectangle", {}),
        shape("nose", [[10.25, 5.5]], 7, "score=0.9", "point", {"occluded": False, "predicted": True}),
        shape("left_shoulder", [[20.1, 12.3]], 7, "score=nan", "point", {"occluded": True, "predicted": False}),
        shape("right_ankle", [[39.0, 29.0]], 2, "score=1.0", "point", {"occluded": False, "predicted": False}),
    ]
    for s in data["shapes"]:  # labelme's own checks on load
        assert len(s["points"]) == {"point": 1, "rectangle": 2}[s["shape_type"]]
        assert all(isinstance(k, str) and isinstance(v, bool) for k, v in s["flags"].items())
        assert all(math.isfinite(c) for p in s["points"] for c in p)


def test_embedded_image_is_the_files_bytes(tmp_path):
    image = _image(tmp_path / "a.png")
    _write(tmp_path / "out", [_doc(image)], embed_images=True)
    data = json.loads((tmp_path / "out" / "a.json").read_text())
    assert base64.b64decode(data["imageData"]) == image.read_bytes()


def test_round_trip_is_exact_and_stable(tmp_path):
    image = _image(tmp_path / "images" / "a.png")
    doc = _doc(image)
    _write(tmp_path / "one", [doc])
    (imported,) = list(FMT.read(tmp_path / "one", ImportOptions()))
    assert isinstance(imported, ImportedImage)
    assert imported.image_path == image and imported.size == (40, 30) and imported.reviewed
    a, b = imported.persons
    assert (a.id, b.id) == (7, 2)
    assert a.box.tolist() == [2.0, 1.0, 30.5, 28.0] and a.score == 0.8125 and b.box is None
    labeled = np.flatnonzero(a.visibility)
    assert labeled.tolist() == [0, 5]  # the eye below the threshold was not written
    assert a.visibility[[0, 5]].tolist() == [2, 1] and a.source[[0, 5]].tolist() == [0, 1]
    assert a.keypoints[0].tolist() == [10.25, 5.5, np.float32(0.9)]
    assert a.keypoints[5, :2].tolist() == [np.float32(20.1), np.float32(12.3)] and np.isnan(a.keypoints[5, 2])
    assert b.keypoints[16].tolist() == [39.0, 29.0, 1.0] and b.visibility[16] == 2 and b.source[16] == 1
    _write(tmp_path / "two", [_to_doc(imported)])
    # Written at the same folder depth, so even imagePath is the same: identical files.
    assert (tmp_path / "two" / "a.json").read_bytes() == (tmp_path / "one" / "a.json").read_bytes()


def _labelme_file(folder: Path, shapes, name="a", **top) -> Path:
    _image(folder / f"{name}.png")
    data = {
        "version": "5.5.0",
        "flags": {},
        "shapes": shapes,
        "imagePath": f"{name}.png",
        "imageData": None,
        "imageHeight": 30,
        "imageWidth": 40,
        **top,
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def _point(label, x, y, gid=0, **extra):
    return {
        "label": label,
        "points": [[x, y]],
        "group_id": gid,
        "description": "",
        "shape_type": "point",
        "flags": {},
        "mask": None,
        **extra,
    }


def test_a_plain_labelme_file_imports_as_human_labels(tmp_path):
    _labelme_file(tmp_path, [_point("nose", 3, 4, None), _point("left_hip", 5, 6, None, description="blurry")])
    (imported,) = list(FMT.read(tmp_path, ImportOptions()))
    assert imported.keypoint_schema == "coco_17"  # the smallest layout holding both labels
    (p,) = imported.persons
    assert p.id == 0 and p.visibility[[0, 11]].tolist() == [2, 2] and p.source[[0, 11]].tolist() == [1, 1]
    assert p.keypoints[11].tolist() == [5.0, 6.0, 1.0]


@pytest.mark.parametrize(
    "shapes, top, message",
    [
        (
            [_point("nose", 3, 4), {**_point("cat", 1, 1), "shape_type": "polygon"}],
            {},
            r"shapes\[1\].*'polygon'.*'cat'",
        ),
        ([_point("cat", 3, 4)], {"keypoint_schema": "coco_17"}, "'cat' is no keypoint of coco_17"),
        ([_point("cat", 3, 4)], {}, "no known keypoint layout"),
        ([{**_point("nose", 3, 4), "points": [[1, 2], [3, 4]]}], {}, r"shapes\[0\].points"),
        ([_point("nose", float("nan"), 4)], {}, r"shapes\[0\].points: point 0 is not finite"),
        ([_point("nose", 1e9, 4)], {}, r"shapes\[0\].points: point 0 .* far outside"),
        ([_point("nose", 3, 4), _point("nose", 5, 6)], {}, "second 'nose'"),
        ([_point("nose", 3, 4, flags={"occluded": 1})], {}, r"shapes\[0\].flags"),
        ([_point("nose", 3, 4, description="score=high")], {}, r"shapes\[0\].description"),
        ([_point("nose", 3, 4, group_id="x")], {}, r"shapes\[0\].group_id"),
        ([_point("nose", 3, 4)], {"imageWidth": 41}, "say 41x30, bad.png is 40x30"),
        ([_point("nose", 3, 4)], {"imagePath": "missing.png"}, "no such image"),
        ([_point("nose", 3, 4)], {"keypoint_schema": "goliath_308"}, "the import asked for 'coco_17'"),
    ],
)
def test_bad_files_are_refused_whole_and_the_rest_continues(tmp_path, shapes, top, message):
    _labelme_file(tmp_path, [_point("nose", 1, 1)], name="good")
    bad = _labelme_file(tmp_path, shapes, name="bad", **top)
    requested = "coco_17" if "goliath_308" in str(top) else None
    results = list(FMT.read(tmp_path, ImportOptions(keypoint_schema=requested)))
    problems = [r for r in results if isinstance(r, ImportProblem)]
    assert len(problems) == 1 and problems[0].source == str(bad)
    assert re.search(message, problems[0].message), problems[0].message
    assert "\n" not in str(problems[0])
    assert [r.image_path.name for r in results if isinstance(r, ImportedImage)] == ["good.png"]


def test_malformed_json_is_one_problem(tmp_path):
    (tmp_path / "x.json").write_text("{not json")
    (tmp_path / "y.json").write_text('{"shapes": 3}')
    results = list(FMT.read(tmp_path, ImportOptions()))
    assert [type(r) for r in results] == [ImportProblem, ImportProblem]
    assert "not valid JSON" in results[0].message and "shapes" in results[1].message


def test_images_dir_resolves_image_paths(tmp_path):
    _image(tmp_path / "pics" / "a.png")
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.json").write_text(
        json.dumps(
            {
                "version": "5.5.0",
                "flags": {},
                "shapes": [_point("nose", 1, 2)],
                "imagePath": "a.png",
                "imageData": None,
                "imageHeight": 30,
                "imageWidth": 40,
            }
        )
    )
    (imported,) = list(FMT.read(tmp_path / "labels", ImportOptions(images_dir=tmp_path / "pics")))
    assert imported.image_path == tmp_path / "pics" / "a.png"


def test_format_flags():
    assert FMT.target == "folder" and not FMT.needs_layers and FMT.read is not None
