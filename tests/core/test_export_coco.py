"""coco-goliath308: the trainer's COCO file — valid for pycocotools, AP 1 against itself, lossless round trip."""

from __future__ import annotations

import copy
import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation, Person
from sapiens_core.annotation.person import float32_to_json, same_array
from sapiens_core.export import (
    ExportItem,
    ExportOptions,
    ImportOptions,
    get_format,
    own_schema_layout,
    read_coco,
    write_coco,
)
from sapiens_core.export.coco import short_floats
from sapiens_core.schema import keypoint_schema
from tests.coco_docs import GOLIATH, K, as_document, documents, export, import_all, items, person, quiet

FMT = "coco-goliath308"


def _evaluate(gt: COCO, results: list[dict], sigmas: np.ndarray) -> float:
    dt = quiet(gt.loadRes, results)
    evaluator = COCOeval(gt, dt, iouType="keypoints")
    evaluator.params.kpt_oks_sigmas = sigmas
    quiet(evaluator.evaluate)
    quiet(evaluator.accumulate)
    quiet(evaluator.summarize)
    return float(evaluator.stats[0])


def test_registered_with_layers():
    fmt = get_format(FMT)
    assert (fmt.target, fmt.suffix, fmt.needs_layers) == ("file", ".json", True)
    assert fmt.write is not None and fmt.read is not None
    assert not get_format("coco17").needs_layers and not get_format("coco-wholebody133").needs_layers


def test_pycocotools_loads_it_and_it_evaluates_to_ap_1_against_itself(tmp_path):
    out = tmp_path / "export" / "train.json"
    report = export(FMT, out, documents(tmp_path))
    assert (report.images, report.persons, report.problems, report.written) == (3, 3, [], [out])
    gt = quiet(COCO, str(out))
    assert len(gt.getImgIds()) == 3 and len(gt.getAnnIds()) == 3
    (category,) = gt.loadCats(gt.getCatIds())
    assert category["keypoints"] == list(GOLIATH.names) and len(category["keypoints"]) == 308
    assert category["skeleton"] == (GOLIATH.skeleton + 1).tolist()

    anns = gt.loadAnns(gt.getAnnIds())
    results = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 0.9} for a in anns]
    assert _evaluate(gt, results, GOLIATH.sigmas) == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    perturbed = copy.deepcopy(results)
    for r in perturbed:
        kp = np.array(r["keypoints"], dtype=np.float64).reshape(-1, 3)
        kp[:, :2] += rng.normal(0, 6, (len(kp), 2))
        r["keypoints"] = kp.reshape(-1).tolist()
    assert _evaluate(gt, perturbed, GOLIATH.sigmas) < 0.9


def test_fields_carry_the_hand_built_values(tmp_path):
    docs = documents(tmp_path)
    out = tmp_path / "export" / "train.json"
    export(FMT, out, docs, score_threshold=None)
    data = json.loads(out.read_text())
    assert "date_created" not in out.read_text()
    assert [i["file_name"] for i in data["images"]] == ["../images/a.jpg", "../images/sub/b.jpg", "../images/empty.jpg"]
    a = data["images"][0]
    assert (a["id"], a["width"], a["height"], a["reviewed"], a["class_schema"]) == (1, 400, 240, True, "sapiens_28")
    assert a["sapiens_layers"] == {
        "part_map": "../docs/a_seg.png",
        "foreground": "../docs/a_fg.png",
        "depth": "../docs/a_depth.npy",
        "normal": "../docs/a_normal.npy",
    }
    assert data["images"][2]["reviewed"] is False and "sapiens_layers" not in data["images"][2]

    record = data["annotations"][1]
    p = docs[0].persons[1]
    assert (record["id"], record["image_id"], record["category_id"], record["iscrowd"]) == (2, 1, 1, 0)
    assert (record["person_id"], record["score"]) == (4, 0.875)
    x1, y1, x2, y2 = p.box.tolist()
    assert record["bbox"] == [x1, y1, x2 - x1, y2 - y1] == [195, 15, 160, 190]
    assert record["area"] == 160 * 190
    kp = np.array(record["keypoints"]).reshape(K, 3)
    labeled = p.visibility > 0
    assert record["num_keypoints"] == labeled.sum()
    lhip = GOLIATH.names.index("left_hip")
    assert labeled[lhip] and np.array_equal(np.float32(kp[lhip]), [*p.keypoints[lhip, :2], p.visibility[lhip]])
    assert np.array_equal(np.float32(kp[:, :2]), np.where(labeled[:, None], p.keypoints[:, :2], 0))
    assert np.array_equal(kp[:, 2], p.visibility)
    assert np.array_equal(np.float32(record["keypoint_scores"]), p.keypoints[:, 2])
    assert record["keypoint_sources"] == p.source.tolist()


def test_score_threshold_drops_only_unsure_model_points(tmp_path):
    xy = np.tile(np.float32([[10, 20]]), (K, 1))
    scores = np.full(K, 0.9, np.float32)
    scores[:3] = 0.1
    p = Person(
        0,
        np.concatenate([xy, scores[:, None]], axis=1),
        np.full(K, 2, np.uint8),
        np.full(K, SOURCE_MODEL),
        np.float32([0, 0, 50, 50]),
    )
    p.source[1] = SOURCE_HUMAN  # a human confirmed a point the model was unsure of
    p.visibility[2] = 1
    doc = Annotation(str(tmp_path / "a.jpg"), (64, 64), "goliath_308", persons=[p])
    for threshold, expected in ((0.3, [0, 2, 0, 2]), (None, [2, 2, 1, 2])):
        export(FMT, tmp_path / "t.json", [doc], score_threshold=threshold)
        kp = json.loads((tmp_path / "t.json").read_text())["annotations"][0]["keypoints"]
        assert kp[2:12:3] == expected
        assert kp[0:2] == ([0, 0] if threshold else [10, 20])  # unlabeled points are written at (0, 0)


def test_person_masks_are_rle_of_the_foreground(tmp_path):
    docs = documents(tmp_path)
    out = tmp_path / "train.json"
    export(FMT, out, docs)
    anns = json.loads(out.read_text())["annotations"]
    two, one = anns[:2], anns[2]
    assert isinstance(one["segmentation"]["counts"], str) and one["segmentation"]["size"] == [240, 320]
    assert np.array_equal(mask_utils.decode(one["segmentation"]).astype(bool), docs[1].foreground)
    # Two persons share one foreground: each gets it inside its box (15..195 x 15..205 and 195..355 x 15..205).
    for ann, (x1, x2) in zip(two, ((15, 175), (195, 355)), strict=True):
        expected = np.zeros_like(docs[0].foreground)
        expected[15:205, x1:x2] = docs[0].foreground[15:205, x1:x2]
        assert np.array_equal(mask_utils.decode(ann["segmentation"]).astype(bool), expected)


def test_no_foreground_no_segmentation_and_person_without_box(tmp_path):
    rng = np.random.default_rng(3)
    boxless, empty = person(0, rng, 30, box=False), person(1, rng, 30, box=False)
    empty.visibility[:] = 0
    doc = Annotation(str(tmp_path / "a.jpg"), (300, 300), "goliath_308", persons=[boxless, empty])
    export(FMT, tmp_path / "t.json", [doc], score_threshold=None)
    (record,) = json.loads((tmp_path / "t.json").read_text())["annotations"]  # no points, no box: left out
    assert record["segmentation"] == [] and "score" not in record
    labeled = boxless.keypoints[boxless.visibility > 0, :2]
    x1, y1 = labeled.min(axis=0)
    x2, y2 = labeled.max(axis=0)
    assert record["bbox"] == pytest.approx([x1, y1, x2 - x1, y2 - y1])


def test_export_import_export_is_byte_identical_and_lossless(tmp_path):
    docs = documents(tmp_path)
    out = tmp_path / "export" / "train.json"
    export(FMT, out, docs, score_threshold=None)
    imported = import_all(FMT, out)
    assert [type(i).__name__ for i in imported] == ["ImportedImage"] * 3
    for doc, image in zip(docs, imported, strict=True):
        assert image.image_path == Path(doc.image_path) and image.size == doc.image_size
        assert image.keypoint_schema == "goliath_308" and image.reviewed == doc.reviewed
        assert image.class_schema == doc.class_schema
        assert image.persons == doc.persons  # ids, xy, scores, visibility, sources, xyxy boxes, scores
        for name in ("part_map", "foreground", "depth", "normal"):
            assert same_array(image.layers.get(name), getattr(doc, name)), name

    # Saved again where they came from (the side files land on the same names), exported again: same bytes.
    for stem, image in zip(("a", "b", "empty"), imported, strict=True):
        as_document(image).save(tmp_path / "docs" / f"{stem}.json")
    again = [Annotation.load(tmp_path / "docs" / f"{s}.json") for s in ("a", "b", "empty")]
    out2 = tmp_path / "export" / "again.json"
    export(FMT, out2, again, score_threshold=None)
    assert out2.read_bytes() == out.read_bytes()


def test_default_threshold_round_trip_is_stable_too(tmp_path):
    docs = documents(tmp_path)
    out, out2 = tmp_path / "one.json", tmp_path / "two.json"
    export(FMT, out, docs)
    export(FMT, out2, [as_document(i) for i in import_all(FMT, out)])
    first, second = json.loads(out.read_text()), json.loads(out2.read_text())
    assert first["annotations"] == second["annotations"]  # layers in memory only: "images" names no side files


def test_images_root_option_and_images_dir_on_import(tmp_path):
    docs = documents(tmp_path)
    out = tmp_path / "elsewhere" / "train.json"
    out.parent.mkdir()
    export(FMT, out, docs, images_root=tmp_path / "images")
    data = json.loads(out.read_text())
    assert [i["file_name"] for i in data["images"]] == ["a.jpg", "sub/b.jpg", "empty.jpg"]
    assert data["images"][0]["sapiens_layers"]["foreground"] == "../docs/a_fg.png"
    imported = import_all(FMT, out, images_dir=tmp_path / "images")
    assert [i.image_path for i in imported] == [Path(d.image_path) for d in docs]
    assert same_array(imported[0].layers["foreground"], docs[0].foreground)


def test_writer_streams_a_one_shot_iterable_with_flat_memory(tmp_path):
    rng = np.random.default_rng(5)
    template = person(0, rng, 10)

    def many(n):
        for i in range(n):
            yield ExportItem(Annotation(f"/data/{i}.jpg", (200, 200), "goliath_308", persons=[template]), str(i))

    peaks = {}
    for n in (50, 500):
        tracemalloc.start()
        report = get_format(FMT).write(tmp_path / f"{n}.json", many(n), ExportOptions())
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert report.persons == n
    # 450 more records of ~10 kB each would be ~4.5 MB if they were kept; the small image entries are not.
    assert peaks[500] - peaks[50] < 1_000_000, peaks


def test_a_crash_midway_leaves_the_previous_file(tmp_path):
    docs = documents(tmp_path)
    out = tmp_path / "train.json"
    out.write_text("previous")

    def failing():
        yield from items(docs[:1])
        raise RuntimeError("disk pulled")

    with pytest.raises(RuntimeError):
        get_format(FMT).write(out, failing(), ExportOptions())
    assert out.read_text() == "previous" and [p.name for p in tmp_path.iterdir() if p.suffix == ".json"] == [out.name]


def test_documents_of_another_keypoint_set_are_reported_and_left_out(tmp_path):
    coco17 = keypoint_schema("coco_17")
    p = Person.from_prediction(0, np.full((17, 2), 5.0), np.ones(17), box=[0, 0, 9, 9])
    docs = [
        Annotation(str(tmp_path / "x.jpg"), (20, 20), "coco_17", persons=[p]),
        Annotation(str(tmp_path / "y.jpg"), (20, 20), "goliath_308"),
    ]
    report = export(FMT, tmp_path / "t.json", docs)
    assert report.images == 1 and len(report.problems) == 1
    assert "x.jpg" in report.problems[0] and "coco_17" in report.problems[0]
    # A 17-point model's documents go into a plain COCO file of their own set (what predict writes) and back.
    report = write_coco(tmp_path / "own.json", items(docs), ExportOptions(), own_schema_layout(coco17))
    assert report.problems == [] and report.persons == 1
    (image, _) = read_coco(tmp_path / "own.json", ImportOptions(), own_schema_layout(coco17))
    assert image.keypoint_schema == "coco_17" and image.persons[0].num_keypoints == 17


def test_short_floats_writes_the_digits_of_float32_to_json():
    rng = np.random.default_rng(7)
    values = (rng.uniform(-5, 5, 20000) * 10.0 ** rng.integers(-6, 7, 20000)).astype(np.float32)
    values[:4] = [np.nan, np.inf, 0, 1e-7]
    assert short_floats(values) == float32_to_json(values)
