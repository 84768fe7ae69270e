"""coco-wholebody133: the real COCO-WholeBody layout, checked field by field against names looked up here."""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest

from sapiens_core.annotation import SOURCE_HUMAN, Annotation, Person
from sapiens_core.errors import AnnotationFormatError
from sapiens_core.schema import keypoint_schema
from tests.coco_docs import GOLIATH, K, as_document, documents, export, import_all, quiet

FMT = "coco-wholebody133"
BODY = [
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
]
FOOT = ["left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel"]
FINGERS = [
    f"{f}{i}" for f in ("thumb", "forefinger", "middle_finger", "ring_finger", "pinky_finger") for i in (1, 2, 3, 4)
]
G = {n: i for i, n in enumerate(GOLIATH.names)}


def _hand(side: str) -> list[int | None]:
    """Goliath index of each of the 21 WholeBody hand points: root = wrist, finger joints 2-4 by name, 1 none."""
    return [G[f"{side}_wrist"]] + [G.get(f"{side}_{f}") for f in FINGERS]


def _expected(p: Person, goliath_indices: list[int | None]) -> np.ndarray:
    out = []
    for g in goliath_indices:
        out += [0, 0, 0] if g is None or p.visibility[g] == 0 else [*p.keypoints[g, :2], p.visibility[g]]
    return np.float32(out)


def _same(written: list, expected: np.ndarray) -> bool:
    return np.array_equal(np.float32(written), expected)


def _box(p: Person, goliath_indices: list[int | None]) -> list[float]:
    pts = np.array([p.keypoints[g, :2] for g in goliath_indices if g is not None and p.visibility[g]], np.float32)
    (x1, y1), (x2, y2) = pts.min(axis=0), pts.max(axis=0)
    return np.float32([x1, y1, x2 - x1, y2 - y1])


def test_layout_field_by_field(tmp_path):
    docs = documents(tmp_path)
    out = tmp_path / "wb.json"
    export(FMT, out, docs, score_threshold=None)
    data = json.loads(out.read_text())
    (category,) = data["categories"]
    assert category["keypoints"] == BODY and len(category["skeleton"]) == 19  # not a flat 133-point category
    assert sum(None not in (g,) for g in [G.get(n) for n in BODY + FOOT] + _hand("left") + _hand("right")) == 55
    record = data["annotations"][0]
    p = docs[0].persons[0]
    assert set(record) == {
        "id",
        "image_id",
        "category_id",
        "keypoints",
        "foot_kpts",
        "face_kpts",
        "lefthand_kpts",
        "righthand_kpts",
        "num_keypoints",
        "bbox",
        "area",
        "iscrowd",
        "segmentation",
        "face_box",
        "lefthand_box",
        "righthand_box",
        "face_valid",
        "lefthand_valid",
        "righthand_valid",
        "foot_valid",
        "person_id",
        "score",
        "keypoint_scores",
        "keypoint_sources",
    }
    assert _same(record["keypoints"], _expected(p, [G[n] for n in BODY]))
    assert _same(record["foot_kpts"], _expected(p, [G[n] for n in FOOT]))
    assert record["face_kpts"] == [0.0, 0.0, 0] * 68 and record["face_box"] == [0, 0, 0, 0]
    assert record["face_valid"] is False
    assert _same(record["lefthand_kpts"], _expected(p, _hand("left")))
    assert _same(record["righthand_kpts"], _expected(p, _hand("right")))
    assert _same(record["lefthand_box"], _box(p, _hand("left"))) and record["lefthand_valid"] is True
    assert _same(record["righthand_box"], _box(p, _hand("right"))) and record["righthand_valid"] is True
    assert record["foot_valid"] is bool(p.visibility[[G[n] for n in FOOT]].any())
    assert record["num_keypoints"] == int((p.visibility[[G[n] for n in BODY]] > 0).sum())  # body only, as WholeBody
    x1, y1, x2, y2 = p.box.tolist()
    assert record["bbox"] == [x1, y1, x2 - x1, y2 - y1]
    assert len(record["keypoint_scores"]) == len(record["keypoint_sources"]) == 133


def test_a_hand_with_one_labeled_point_is_not_valid(tmp_path):
    """A zero-size hand box would give the hand datasets a crop of no size."""
    kp = np.zeros((K, 3), np.float32)
    v = np.zeros(K, np.uint8)
    for name, xy in (("left_wrist", (30, 40)), ("right_wrist", (80, 40)), ("right_thumb4", (90, 55))):
        kp[G[name]] = [*xy, 1]
        v[G[name]] = 2
    doc = Annotation(
        str(tmp_path / "a.jpg"),
        (100, 100),
        "goliath_308",
        persons=[Person(0, kp, v, np.full(K, SOURCE_HUMAN), [0, 0, 99, 99])],
    )
    export(FMT, tmp_path / "wb.json", [doc])
    (record,) = json.loads((tmp_path / "wb.json").read_text())["annotations"]
    assert record["lefthand_kpts"][:3] == [30, 40, 2] and record["lefthand_valid"] is False
    assert record["lefthand_box"] == [0, 0, 0, 0]
    assert record["righthand_valid"] is True and record["righthand_box"] == [80, 40, 10, 15]
    assert record["foot_valid"] is False and record["keypoints"][27:33] == [30, 40, 2, 80, 40, 2]


def test_round_trip_into_goliath_and_byte_identical(tmp_path):
    docs = documents(tmp_path)
    out = tmp_path / "wb.json"
    export(FMT, out, docs, score_threshold=None)
    imported = import_all(FMT, out)
    carried = sorted({G[n] for n in BODY + FOOT} | {g for s in ("left", "right") for g in _hand(s) if g is not None})
    assert len(carried) == 53  # 55 WholeBody points, the two wrists counted twice
    for doc, image in zip(docs, imported, strict=True):
        assert image.keypoint_schema == "goliath_308"
        for want, got in zip(doc.persons, image.persons, strict=True):
            assert np.array_equal(got.keypoints[carried], want.keypoints[carried])
            assert np.array_equal(got.visibility[carried], want.visibility[carried])
            assert np.array_equal(got.source[carried], want.source[carried])
            assert got.visibility.sum() == want.visibility[carried].sum()
    out2 = tmp_path / "again.json"
    export(FMT, out2, [as_document(i) for i in imported], score_threshold=None)
    assert out2.read_bytes() == out.read_bytes()


def test_a_wholebody_model_document_keeps_its_face(tmp_path):
    wb = keypoint_schema("coco_wholebody_133")
    xy = np.stack([np.arange(133) + 10, np.arange(133) * 2 + 5], axis=1).astype(np.float32)
    p = Person(
        3, np.concatenate([xy, np.ones((133, 1), np.float32)], 1), np.full(133, 2), np.full(133, 1), [0, 0, 300, 300]
    )
    export(FMT, tmp_path / "wb.json", [Annotation(str(tmp_path / "a.jpg"), (400, 400), wb.name, persons=[p])])
    (record,) = json.loads((tmp_path / "wb.json").read_text())["annotations"]
    face = np.array(record["face_kpts"]).reshape(68, 3)
    first_face = wb.names.index("face-0")
    assert face[0].tolist() == [first_face + 10, first_face * 2 + 5, 2] and record["face_valid"] is True
    assert record["face_box"] == [first_face + 10, first_face * 2 + 5, 67, 134]


def test_a_flat_133_point_category_is_refused(tmp_path):
    wb = keypoint_schema("coco_wholebody_133")
    data = {
        "images": [],
        "annotations": [],
        "categories": [{"id": 1, "name": "person", "keypoints": list(wb.names), "skeleton": []}],
    }
    (tmp_path / "flat.json").write_text(json.dumps(data))
    with pytest.raises(AnnotationFormatError, match=r"flat\.json: categories\[0\]\.keypoints lists 133 names"):
        import_all(FMT, tmp_path / "flat.json")


def _xtcocotools():
    try:
        from xtcocotools.coco import COCO
        from xtcocotools.cocoeval import COCOeval
    except Exception as exc:  # missing, or a wheel built against another numpy (it fails with ValueError)
        pytest.skip(f"xtcocotools unusable here: {exc}")
    return COCO, COCOeval


def test_xtcocotools_reads_it_and_evaluates_it_against_itself(tmp_path):
    COCO, COCOeval = _xtcocotools()
    out = tmp_path / "wb.json"
    export(FMT, out, documents(tmp_path))
    gt = quiet(COCO, str(out))
    anns = gt.loadAnns(gt.getAnnIds())
    assert len(anns) == 3 and all(len(a["lefthand_kpts"]) == 63 for a in anns)
    sigmas = keypoint_schema("coco_wholebody_133").sigmas
    fields = ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")

    def ap(results):
        evaluator = COCOeval(gt, quiet(gt.loadRes, results), "keypoints_wholebody", sigmas, use_area=True)
        evaluator.params.useSegm = None
        with contextlib.redirect_stdout(None):
            evaluator.evaluate()
            evaluator.accumulate()
            evaluator.summarize()
        return float(evaluator.stats[0])

    results = [{"image_id": a["image_id"], "category_id": 1, "score": 1.0, **{f: a[f] for f in fields}} for a in anns]
    assert ap(results) == pytest.approx(1.0)
    rng = np.random.default_rng(4)
    for r in results:
        for f in fields:
            kp = np.array(r[f], dtype=np.float64).reshape(-1, 3)
            kp[:, :2] += rng.normal(0, 8, (len(kp), 2))
            r[f] = kp.reshape(-1).tolist()
    assert ap(results) < 0.7
