"""coco17: standard COCO person keypoints taken from Goliath documents by name, and imported back into Goliath."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation, Person
from sapiens_core.errors import AnnotationFormatError
from sapiens_core.schema import keypoint_schema
from tests.coco_docs import GOLIATH, K, as_document, documents, export, import_all, quiet

FMT = "coco17"
# The COCO person keypoints and skeleton, as COCO's person_keypoints files list them.
COCO_NAMES = [
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
COCO_SKELETON = [
    [16, 14],
    [14, 12],
    [17, 15],
    [15, 13],
    [12, 13],
    [6, 12],
    [7, 13],
    [6, 7],
    [6, 8],
    [7, 9],
    [8, 10],
    [9, 11],
    [2, 3],
    [1, 2],
    [1, 3],
    [2, 4],
    [3, 5],
    [4, 6],
    [5, 7],
]
FROM_GOLIATH = [GOLIATH.names.index(n) for n in COCO_NAMES]  # Goliath is not in COCO order past point 8


def test_layout_takes_the_17_points_by_name(tmp_path):
    docs = documents(tmp_path)
    out = tmp_path / "coco.json"
    report = export(FMT, out, docs, score_threshold=None)
    assert (report.images, report.persons, report.problems) == (3, 3, [])
    data = json.loads(out.read_text())
    (category,) = data["categories"]
    assert category["keypoints"] == COCO_NAMES and category["skeleton"] == COCO_SKELETON
    assert FROM_GOLIATH[9:11] == [62, 41]  # the wrists sit far from COCO's indices 9 and 10 in Goliath
    for record, p in zip(data["annotations"], [*docs[0].persons, *docs[1].persons], strict=True):
        kp = np.array(record["keypoints"], dtype=np.float64).reshape(17, 3)
        v = p.visibility[FROM_GOLIATH]
        assert np.array_equal(kp[:, 2], v)
        assert np.array_equal(np.float32(kp[:, :2]), np.where(v[:, None] > 0, p.keypoints[FROM_GOLIATH, :2], 0))
        assert np.array_equal(np.float32(record["keypoint_scores"]), p.keypoints[FROM_GOLIATH, 2])
        assert record["keypoint_sources"] == p.source[FROM_GOLIATH].tolist()
        assert record["num_keypoints"] == int((v > 0).sum()) and record["segmentation"] == []
        x1, y1, x2, y2 = p.box.tolist()
        assert record["bbox"] == [x1, y1, x2 - x1, y2 - y1] and record["person_id"] == p.id
    assert "sapiens_layers" not in data["images"][0] and data["images"][0]["reviewed"] is True


def _evaluate(gt: COCO, results: list[dict]) -> float:
    evaluator = COCOeval(gt, quiet(gt.loadRes, results), iouType="keypoints")
    evaluator.params.kpt_oks_sigmas = keypoint_schema("coco_17").sigmas
    for step in (evaluator.evaluate, evaluator.accumulate, evaluator.summarize):
        quiet(step)
    return float(evaluator.stats[0])


def test_pycocotools_self_evaluation_is_ap_1_and_a_perturbed_copy_less(tmp_path):
    out = tmp_path / "coco.json"
    export(FMT, out, documents(tmp_path))
    gt = quiet(COCO, str(out))
    anns = gt.loadAnns(gt.getAnnIds())
    results = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0} for a in anns]
    assert _evaluate(gt, results) == pytest.approx(1.0)
    perturbed = copy.deepcopy(results)
    rng = np.random.default_rng(2)
    for r in perturbed:
        kp = np.array(r["keypoints"], dtype=np.float64).reshape(-1, 3)
        kp[:, :2] += rng.normal(0, 15, (len(kp), 2))
        r["keypoints"] = kp.reshape(-1).tolist()
    assert _evaluate(gt, perturbed) < 0.7


def test_import_maps_back_into_goliath_and_round_trips_byte_identical(tmp_path):
    docs = documents(tmp_path)
    out = tmp_path / "coco.json"
    export(FMT, out, docs, score_threshold=None)
    imported = import_all(FMT, out)
    assert [i.keypoint_schema for i in imported] == ["goliath_308"] * 3
    for doc, image in zip(docs, imported, strict=True):
        assert image.reviewed == doc.reviewed and image.layers == {}
        for want, got in zip(doc.persons, image.persons, strict=True):
            assert got.num_keypoints == K and got.id == want.id and np.array_equal(got.box, want.box)
            assert np.array_equal(got.keypoints[FROM_GOLIATH], want.keypoints[FROM_GOLIATH])
            assert np.array_equal(got.visibility[FROM_GOLIATH], want.visibility[FROM_GOLIATH])
            assert np.array_equal(got.source[FROM_GOLIATH], want.source[FROM_GOLIATH])
            others = np.setdiff1d(np.arange(K), FROM_GOLIATH)
            assert not got.visibility[others].any() and not got.keypoints[others].any()
            assert (got.source[others] == SOURCE_MODEL).all()  # nobody looked at them
    out2 = tmp_path / "again.json"
    export(FMT, out2, [as_document(i) for i in imported], score_threshold=None)
    assert out2.read_bytes() == out.read_bytes()


def test_a_plain_coco_file_imports_as_human_labels(tmp_path):
    """COCO's own files have no score or source: labeled points score 1 and count as human-made."""
    kp = [0, 0, 0] * 17
    kp[3 * 9 : 3 * 9 + 3] = [50, 60, 2]  # left_wrist
    kp[3 * 0 : 3] = [40, 30, 1]  # nose, occluded
    data = {
        "images": [
            {"id": 7, "file_name": "x/a.jpg", "width": 100, "height": 90},
            {"id": 8, "file_name": "b.jpg", "width": 100, "height": 90},
        ],
        "annotations": [
            {
                "id": 1,
                "image_id": 7,
                "category_id": 1,
                "keypoints": kp,
                "num_keypoints": 2,
                "bbox": [10, 20, 30, 40],
                "area": 1200,
                "iscrowd": 0,
            },
            {"id": 2, "image_id": 7, "category_id": 1, "keypoints": [0] * 51, "iscrowd": 1, "bbox": [0, 0, 5, 5]},
        ],
        "categories": [{"id": 1, "name": "person", "keypoints": COCO_NAMES, "skeleton": COCO_SKELETON}],
    }
    (tmp_path / "person_keypoints.json").write_text(json.dumps(data))
    a, b = import_all(FMT, tmp_path / "person_keypoints.json", images_dir=tmp_path / "imgs")
    assert a.image_path == tmp_path / "imgs" / "x" / "a.jpg" and a.size == (100, 90) and b.persons == []
    (p,) = a.persons  # the crowd region is no person to edit
    wrist, nose = GOLIATH.names.index("left_wrist"), GOLIATH.names.index("nose")
    assert p.keypoints[wrist].tolist() == [50, 60, 1] and p.visibility[wrist] == 2 and p.source[wrist] == SOURCE_HUMAN
    assert p.keypoints[nose].tolist() == [40, 30, 1] and p.visibility[nose] == 1
    assert p.visibility.sum() == 3 and p.box.tolist() == [10, 20, 40, 60] and p.id == 0 and p.score is None


def test_documents_of_other_keypoint_sets_export_by_name(tmp_path):
    """A 17-point or 133-point model's documents: the same names, whatever the index."""
    coco17, wholebody = keypoint_schema("coco_17"), keypoint_schema("coco_wholebody_133")
    xy = np.arange(2 * 133, dtype=np.float32).reshape(133, 2)
    docs = [
        Annotation(
            str(tmp_path / f"{s.name}.jpg"),
            (500, 500),
            s.name,
            persons=[
                Person(
                    0,
                    np.concatenate([xy[: len(s)], np.ones((len(s), 1), np.float32)], 1),
                    np.full(len(s), 2),
                    np.full(len(s), SOURCE_HUMAN),
                    [0, 0, 10, 10],
                )
            ],
        )
        for s in (coco17, wholebody)
    ]
    export(FMT, tmp_path / "coco.json", docs)
    first, second = json.loads((tmp_path / "coco.json").read_text())["annotations"]
    assert first["keypoints"] == second["keypoints"]  # COCO-WholeBody starts with the 17 body points


def test_a_goliath_file_is_refused_naming_the_file_and_field(tmp_path):
    export("coco-goliath308", tmp_path / "g.json", documents(tmp_path))
    with pytest.raises(AnnotationFormatError, match=r"g\.json: categories\[0\]\.keypoints lists 308 names; coco17"):
        import_all(FMT, tmp_path / "g.json")
