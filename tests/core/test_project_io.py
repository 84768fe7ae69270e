"""The export and import drivers every format goes through: what they check, skip, merge and report.

The formats here are small ones defined in the test (not registered), so these tests pin the drivers' rules
alone; each real format has its own round-trip tests.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation, Person
from sapiens_core.export import ExportReport, Format, ImportedImage, ImportProblem
from sapiens_core.export.project_export import ExportCancelled, export_project, split_targets
from sapiens_core.export.project_import import import_into_project
from sapiens_core.export.split import parse_split
from sapiens_core.io.atomic import atomic_write_text
from sapiens_core.project import Project
from sapiens_core.stats import project_stats

K = 308


def _image(path: Path, size=(40, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size).save(path)
    return path


def _person(pid=0, x=5.0, source=SOURCE_MODEL, visible=True) -> Person:
    xy = np.stack([np.full(K, x), np.linspace(1, 28, K)], axis=1)
    return Person(
        pid, np.concatenate([xy, np.full((K, 1), 0.8)], axis=1), np.full(K, 2 if visible else 0), np.full(K, source)
    )


# A file format of one JSON list: [{"image": name, "x": x, "reviewed": bool}, ...], the least a writer does.
def _write_list(out: Path, items, options) -> ExportReport:
    records, report = [], ExportReport()
    for item in items:
        records.append(
            {
                "image": Path(item.doc.image_path).name,
                "stem": item.stem,
                "reviewed": item.doc.reviewed,
                "layers": item.doc.part_map is not None,
            }
        )
        report.images += 1
    atomic_write_text(out, json.dumps(records))
    report.written.append(out)
    return report


LIST = Format("test-list", "test", "file", ".json", write=_write_list)
LIST_WITH_LAYERS = Format("test-list-layers", "test", "file", ".json", write=_write_list, needs_layers=True)


@pytest.fixture
def project(tmp_path) -> Project:
    folder = tmp_path / "project"
    for i in range(6):
        part_map = np.zeros((30, 40), np.uint8)
        part_map[:10] = i % 3
        Annotation(
            str(_image(tmp_path / "images" / f"im{i}.png")),
            (40, 30),
            "goliath_308",
            "sapiens_28",
            persons=[_person(0)],
            part_map=part_map,
            reviewed=i < 2,
        ).save(folder / f"im{i}.json")
    return Project(folder)


def test_export_streams_every_document_and_loads_layers_only_when_the_format_needs_them(project, tmp_path):
    summary = export_project(project, LIST, tmp_path / "out.json")
    records = json.loads((tmp_path / "out.json").read_text())
    assert [r["stem"] for r in records] == [f"im{i}" for i in range(6)]
    assert not any(r["layers"] for r in records)
    assert summary.written == [tmp_path / "out.json"] and not summary.all_problems
    export_project(project, LIST_WITH_LAYERS, tmp_path / "layers.json")
    assert all(r["layers"] for r in json.loads((tmp_path / "layers.json").read_text()))


def test_only_reviewed(project, tmp_path):
    export_project(project, LIST, tmp_path / "out.json", only_reviewed=True)
    assert [r["stem"] for r in json.loads((tmp_path / "out.json").read_text())] == ["im0", "im1"]


def test_split_writes_one_file_per_part_with_each_image_once(project, tmp_path):
    split = parse_split("train=0.5,val=0.5", seed=4)
    summary = export_project(project, LIST, tmp_path / "coco.json", split=split)
    assert set(summary.reports) == {"train", "val"}
    train = [r["stem"] for r in json.loads((tmp_path / "coco_train.json").read_text())]
    val = [r["stem"] for r in json.loads((tmp_path / "coco_val.json").read_text())]
    assert sorted(train + val) == [f"im{i}" for i in range(6)] and not set(train) & set(val)
    # The part follows the image's name alone: recomputed here from the split, not from the export code.
    assert train == [f"im{i}" for i in range(6) if split.part_of(f"../images/im{i}.png") == "train"]
    again = export_project(project, LIST, tmp_path / "again.json", split=split)
    assert again.reports["train"].images == len(train)


def test_split_targets_of_folder_formats_are_subfolders(tmp_path):
    folder = Format("f", "f", "folder", write=_write_list)
    assert split_targets(folder, tmp_path / "out", parse_split("a=0.5,b=0.5")) == {
        "a": tmp_path / "out" / "a",
        "b": tmp_path / "out" / "b",
    }
    assert split_targets(LIST, tmp_path / "x", None) == {"": tmp_path / "x"}
    assert split_targets(LIST, tmp_path / "x", parse_split("a=1")) == {"a": tmp_path / "x_a.json"}


def test_a_broken_document_is_named_once_and_the_rest_is_exported(project, tmp_path):
    (project.folder / "im3.json").write_text('{"format": "sapiens-studio/annotation", "version": 1}')
    summary = export_project(project, LIST, tmp_path / "out.json", split=parse_split("a=0.5,b=0.5"))
    assert len(summary.problems) == 1 and "im3.json" in summary.problems[0]
    assert sum(r.images for r in summary.reports.values()) == 5


def test_cancel_leaves_no_file(project, tmp_path):
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(ExportCancelled):
        export_project(project, LIST, tmp_path / "out.json", cancelled=cancelled)
    assert list(tmp_path.glob("out*")) == []


def test_progress_counts_every_document(project, tmp_path):
    seen = []
    export_project(project, LIST, tmp_path / "out.json", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(i, 6) for i in range(1, 7)]


# ------------------------------------------------------------------------------------------------ import


def _reader(items):
    return Format("test-reader", "test", "file", read=lambda src, options: iter(items))


def test_import_checks_each_image_and_goes_on_past_problems(tmp_path):
    src = tmp_path / "labels.json"
    src.write_text("{}")
    good = _image(tmp_path / "img" / "good.png")
    other_size = _image(tmp_path / "img" / "small.png", (20, 10))
    far = _person()
    far.keypoints[7, 0] = 1e6
    nan = _person()
    nan.keypoints[8, 1] = np.nan
    hidden_nan = _person(visible=False)
    hidden_nan.keypoints[:, :2] = np.nan  # unlabeled points carry no coordinates: fine
    items = [
        ImportedImage("labels.json: good", good, (40, 30), "goliath_308", persons=[_person(0), hidden_nan.copy()]),
        ImportedImage("labels.json: gone", tmp_path / "img" / "gone.png", (40, 30), "goliath_308"),
        ImportedImage("labels.json: small", other_size, (40, 30), "goliath_308"),
        ImportedImage("labels.json: far", good, (40, 30), "goliath_308", persons=[far]),
        ImportedImage("labels.json: nan", good, None, "goliath_308", persons=[nan]),
        ImportProblem("labels.json: annotation 9", "keypoints must be a list of 924 numbers"),
    ]
    items[0].persons[1].id = 1
    summary = import_into_project(_reader(items), src, tmp_path / "project")
    assert [p.name for p in summary.created] == ["good.json"]
    problems = "\n".join(summary.problems)
    assert "gone: image" in problems and "gone.png is missing" in problems
    assert "small: the source says the image is 40x30, small.png is 20x10" in problems
    assert "far: person 0, keypoint 7 (left_elbow): (1e+06, 1.61564)" in problems
    assert "nan: person 0, keypoint 8 (right_elbow): (5, NaN)" in problems
    assert "annotation 9: keypoints must be" in problems
    assert len(summary.problems) == 5
    doc = Annotation.load(summary.created[0])
    assert doc.image_path == str(good) and doc.image_size == (40, 30) and len(doc.persons) == 2


def test_import_keeps_existing_documents_unless_overwrite_and_then_keeps_human_points(tmp_path):
    image = _image(tmp_path / "img" / "a.png")
    src = tmp_path / "labels.json"
    src.write_text("{}")
    corrected = _person(0, x=5.0)
    corrected.keypoints[0, :2] = (33, 3)
    corrected.source[0] = SOURCE_HUMAN
    project = tmp_path / "project"
    Annotation(str(image), (40, 30), "goliath_308", persons=[corrected]).save(project / "a.json")
    fresh = ImportedImage("labels.json: a", image, (40, 30), "goliath_308", persons=[_person(0, x=9.0)])

    summary = import_into_project(_reader([fresh]), src, project)
    assert summary.kept == [project / "a.json"] and not summary.created
    assert Annotation.load(project / "a.json").persons[0].keypoints[1, 0] == 5  # untouched

    summary = import_into_project(_reader([fresh]), src, project, overwrite=True)
    assert summary.merged == [project / "a.json"]
    person = Annotation.load(project / "a.json").persons[0]
    assert tuple(person.keypoints[0, :2]) == (33, 3) and person.source[0] == SOURCE_HUMAN
    assert person.keypoints[1, 0] == 9 and person.source[1] == SOURCE_MODEL


def test_two_images_with_one_stem_get_two_documents(tmp_path):
    src = tmp_path / "labels.json"
    src.write_text("{}")
    a1, a2 = _image(tmp_path / "x" / "a.png"), _image(tmp_path / "y" / "a.png")
    summary = import_into_project(
        _reader([ImportedImage("1", a1, None), ImportedImage("2", a2, None)]), src, tmp_path / "p"
    )
    assert [p.name for p in summary.created] == ["a.json", "a_2.json"]
    assert Annotation.load(summary.created[1]).image_path == str(a2)


# ------------------------------------------------------------------------------------------------ stats


def test_stats_count_points_by_region_and_source_states_and_class_pixels(project):
    doc = project.load(project.folder / "im5.json")
    doc.persons[0].source[:10] = SOURCE_HUMAN
    doc.persons[0].visibility[300:] = 0
    doc.save(project.folder / "im5.json")
    stats = project_stats(project)
    assert stats.images == 6 and stats.persons == 6
    assert dict(stats.states) == {"reviewed": 2, "edited": 1, "predicted": 3}
    assert stats.human_points == 10 and stats.model_points == 6 * K - 8 - 10
    # By the spec's index list the dense face points are 70-307 (238; nose, eyes and ears are drawn with the body):
    # person im5 lost 8 of them (300-307).
    assert stats.points_by_group["face"] == 6 * 238 - 8
    assert sum(stats.points_by_group.values()) == 6 * K - 8
    # Each map: 10 of 30 rows are class i % 3, the rest background: class 1 in im1, im4; class 2 in im2, im5.
    shares = stats.class_shares("sapiens_28")
    pixels = 6 * 40 * 30
    assert shares["Apparel"] == pytest.approx(2 * 400 / pixels) and shares["Face_Neck"] == pytest.approx(
        2 * 400 / pixels
    )
    assert shares["Background"] == pytest.approx(1 - 4 * 400 / pixels)
    assert Counter(stats.points_by_group)  # the text rendering works on the same figures
    assert "reviewed: 2" in stats.to_text()
