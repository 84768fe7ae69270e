"""COCO keypoints export: valid for pycocotools, evaluates to AP 1 against itself, and imports back."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation, Person
from sapiens_core.errors import AnnotationFormatError
from sapiens_core.export import exporter_names, from_coco, get_exporter, to_coco, write_coco
from sapiens_core.schema import keypoint_schema

GOLIATH = keypoint_schema("goliath_308")


def _person(pid: int, rng: np.random.Generator, x0: float, box: bool = True) -> Person:
    k = len(GOLIATH)
    xy = np.stack([rng.uniform(x0, x0 + 150, k), rng.uniform(20, 380, k)], axis=1)
    scores = rng.uniform(0.0, 1.0, k)
    person = Person.from_prediction(pid, xy, scores, box=[x0 - 5, 10, x0 + 160, 390] if box else None,
                                    score=0.9)
    person.visibility[0] = 1          # a human said: occluded, but here
    person.source[0] = SOURCE_HUMAN
    person.keypoints[1, 2] = 0.05     # a human placed this point; the model was unsure
    person.visibility[1] = 2
    person.source[1] = SOURCE_HUMAN
    return person


def _documents(tmp_path: Path) -> list[Annotation]:
    rng = np.random.default_rng(0)
    root = tmp_path / "images"
    return [
        Annotation(str(root / "a.jpg"), (640, 400), "goliath_308", persons=[_person(0, rng, 20), _person(1, rng, 300)]),
        Annotation(str(root / "sub" / "b.jpg"), (400, 400), "goliath_308", persons=[_person(0, rng, 100, box=False)]),
        Annotation(str(root / "empty.jpg"), (320, 240), "goliath_308"),
    ]


def _quiet(fn, *args):
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        return fn(*args)


def _evaluate(gt: COCO, results: list[dict]) -> float:
    dt = _quiet(gt.loadRes, results)
    evaluator = COCOeval(gt, dt, iouType="keypoints")
    evaluator.params.kpt_oks_sigmas = GOLIATH.sigmas
    _quiet(evaluator.evaluate)
    _quiet(evaluator.accumulate)
    _quiet(evaluator.summarize)
    return float(evaluator.stats[0])


def test_export_loads_in_pycocotools_and_self_evaluates_to_ap_1(tmp_path):
    path = tmp_path / "train.json"
    data = write_coco(path, _documents(tmp_path), GOLIATH)
    gt = _quiet(COCO, str(path))
    assert len(gt.getImgIds()) == 3 and len(gt.getAnnIds()) == 3
    assert [img["file_name"] for img in data["images"]] == ["a.jpg", "sub/b.jpg", "empty.jpg"]

    results = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 0.9}
               for a in data["annotations"]]
    assert _evaluate(gt, results) == pytest.approx(1.0)

    rng = np.random.default_rng(1)
    perturbed = copy.deepcopy(results)
    for r in perturbed:
        kp = np.array(r["keypoints"], dtype=np.float64).reshape(-1, 3)
        kp[:, :2] += rng.normal(0, 6, (len(kp), 2))
        r["keypoints"] = kp.reshape(-1).tolist()
    assert _evaluate(gt, perturbed) < 0.9


def test_category_and_records(tmp_path):
    docs = _documents(tmp_path)
    data = to_coco(docs, GOLIATH)
    (category,) = data["categories"]
    assert category["id"] == 1 and category["name"] == "person" and category["supercategory"] == "person"
    assert category["keypoints"] == list(GOLIATH.names) and len(category["keypoints"]) == 308
    assert len(category["skeleton"]) == 65
    flat = np.array(category["skeleton"])
    assert flat.min() >= 1 and flat.max() <= 308 and (flat - 1).tolist() == GOLIATH.skeleton.tolist()
    assert data["images"][0] == {"id": 1, "file_name": "a.jpg", "width": 640, "height": 400}

    person = docs[0].persons[0]
    record = data["annotations"][0]
    kp = np.array(record["keypoints"], dtype=np.float32).reshape(-1, 3)
    v = kp[:, 2].astype(int)
    expected_v = person.visibility.astype(int).copy()
    expected_v[(person.source == SOURCE_MODEL) & (person.keypoints[:, 2] < 0.3)] = 0
    assert v.tolist() == expected_v.tolist()
    assert v[0] == 1 and v[1] == 2                            # human labels survive a low score
    assert (kp[v == 0, :2] == 0).all()                        # COCO: unlabeled points at 0, 0
    np.testing.assert_array_equal(kp[v > 0, :2], person.keypoints[v > 0, :2])
    assert record["num_keypoints"] == int((v > 0).sum())
    assert all(isinstance(x, int) for x in record["keypoints"][2::3])
    assert len(record["keypoint_scores"]) == 308
    assert record["bbox"] == [15.0, 10.0, 165.0, 380.0] and record["area"] == 165.0 * 380.0
    assert record["iscrowd"] == 0 and record["category_id"] == 1 and record["image_id"] == 1

    # No box: the tight box of the labeled points.
    no_box = data["annotations"][2]
    labeled = np.array(no_box["keypoints"], dtype=np.float32).reshape(-1, 3)
    labeled = labeled[labeled[:, 2] > 0, :2]
    x, y, w, h = no_box["bbox"]
    assert (x, y) == pytest.approx(tuple(labeled.min(axis=0)))
    assert (x + w, y + h) == pytest.approx(tuple(labeled.max(axis=0)), abs=1e-3)


def test_threshold_none_exports_visibility_as_is(tmp_path):
    docs = _documents(tmp_path)
    docs[0].persons[0].visibility[:] = 2
    kp = np.array(to_coco(docs, GOLIATH, score_threshold=None)["annotations"][0]["keypoints"]).reshape(-1, 3)
    assert (kp[:, 2] == 2).all()


def test_round_trip_through_from_coco(tmp_path):
    docs = _documents(tmp_path)
    path = tmp_path / "export.json"
    write_coco(path, docs, GOLIATH, score_threshold=None)
    imported = from_coco(path, GOLIATH)
    assert list(imported) == ["a.jpg", "sub/b.jpg", "empty.jpg"] and imported["empty.jpg"] == []
    for doc in docs:
        key = Path(doc.image_path).relative_to(tmp_path / "images").as_posix()
        assert len(imported[key]) == len(doc.persons)
        for original, back in zip(doc.persons, imported[key]):
            labeled = original.labeled
            assert back.id == original.id and back.score == original.score
            np.testing.assert_array_equal(back.visibility, original.visibility)
            np.testing.assert_array_equal(back.keypoints[labeled], original.keypoints[labeled])  # bit-exact
            np.testing.assert_array_equal(back.keypoints[:, 2], original.keypoints[:, 2])
            np.testing.assert_array_equal(back.source, original.source)
    # From a dict too, and plain COCO (no extension fields): labels count as human, score 1 where labeled.
    data = json.loads(path.read_text())
    for record in data["annotations"]:
        for key in ("keypoint_scores", "keypoint_sources", "person_id", "score"):
            record.pop(key)
    person = from_coco(data, GOLIATH)["a.jpg"][1]
    assert person.id == 1 and (person.source == SOURCE_HUMAN).all()
    assert person.keypoints[:, 2].tolist() == (person.visibility > 0).astype(float).tolist()


def test_from_coco_validates(tmp_path):
    path = tmp_path / "export.json"
    data = write_coco(path, _documents(tmp_path), GOLIATH)

    def expect(bad: dict, *words: str) -> None:
        path.write_text(json.dumps(bad))
        with pytest.raises(AnnotationFormatError) as info:
            from_coco(path, GOLIATH)
        assert str(path) in str(info.value)
        for word in words:
            assert word in str(info.value), str(info.value)

    with pytest.raises(AnnotationFormatError, match="17"):
        from_coco(data, keypoint_schema("coco_17"))
    swapped = copy.deepcopy(data)
    names = swapped["categories"][0]["keypoints"]
    names[9], names[10] = names[10], names[9]
    expect(swapped, "keypoint 9", "left_hip")
    short = copy.deepcopy(data)
    short["annotations"][0]["keypoints"] = short["annotations"][0]["keypoints"][:-3]
    expect(short, "921", "924")
    bad_v = copy.deepcopy(data)
    bad_v["annotations"][0]["keypoints"][2] = 5
    expect(bad_v, "visibility")
    orphan = copy.deepcopy(data)
    orphan["annotations"][0]["image_id"] = 99
    expect(orphan, "image id 99")
    expect({"images": []}, "not a COCO file")
    path.write_text("{")
    with pytest.raises(AnnotationFormatError, match="not valid JSON"):
        from_coco(path, GOLIATH)


def test_export_refuses_mismatched_schema(tmp_path):
    docs = _documents(tmp_path)
    with pytest.raises(ValueError, match="goliath_308"):
        to_coco(docs, keypoint_schema("coco_17"))


def test_registry():
    assert "coco" in exporter_names()
    exporter = get_exporter("coco")
    assert exporter.write is write_coco and exporter.read is from_coco and exporter.suffix == ".json"
    with pytest.raises(KeyError, match="coco"):
        get_exporter("nope")
