"""Project folders: which files are documents, where their images are, review states, names for new documents,
and the merge that keeps every human-made label."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation, Person, merge_keep_human
from sapiens_core.errors import SapiensError
from sapiens_core.project import MissingImageError, Project, ReviewState, annotation_path, review_state

K = 308


def _image(path: Path, size=(40, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (90, 90, 90)).save(path)
    return path


def _person(pid: int, x: float, source: int = SOURCE_MODEL) -> Person:
    xy = np.full((K, 2), x, np.float32)
    xy[:, 1] = np.arange(K, dtype=np.float32) / 10
    return Person(
        pid,
        np.concatenate([xy, np.full((K, 1), 0.9, np.float32)], axis=1),
        np.full(K, 2, np.uint8),
        np.full(K, source, np.uint8),
        box=[1, 2, 30, 28],
    )


def _doc(image: Path, persons=(), **kw) -> Annotation:
    return Annotation(str(image), (40, 30), "goliath_308", persons=list(persons), **kw)


@pytest.fixture
def project(tmp_path) -> Project:
    images = tmp_path / "images"
    folder = tmp_path / "images" / "sapiens_studio"
    _doc(_image(images / "b.png"), [_person(0, 5)]).save(folder / "b.json")
    _doc(_image(images / "a.png"), [_person(0, 5)], reviewed=True).save(folder / "a.json")
    (folder / "coco.json").write_text('{"images": [], "annotations": [], "categories": []}')
    (folder / "notes.json").write_text('{"format": "something else"}')
    (folder / "a_seg.json").write_bytes(b"\x00\xff")  # not even text
    return Project(folder)


def test_lists_only_documents_sorted(project):
    assert [p.name for p in project.document_paths()] == ["a.json", "b.json"]
    assert len(project) == 2


def test_entries_load_one_document_at_a_time_and_filter_reviewed(project):
    entries = project.entries()
    first = next(entries)  # a generator: nothing beyond the first document has been read yet
    assert first.stem == "a" and first.doc.reviewed
    assert [e.stem for e in project.entries(only_reviewed=True)] == ["a"]
    assert [e.state for e in project.entries()] == [ReviewState.REVIEWED, ReviewState.PREDICTED]


def test_review_state_follows_the_labels(tmp_path):
    doc = _doc(tmp_path / "x.png", [_person(0, 5)])
    assert review_state(doc) is ReviewState.PREDICTED
    doc.persons[0].source[17] = SOURCE_HUMAN
    assert review_state(doc) is ReviewState.EDITED
    doc.reviewed = True
    assert review_state(doc) is ReviewState.REVIEWED


def test_moved_project_keeps_finding_its_images(project, tmp_path):
    moved = tmp_path / "elsewhere"
    shutil.move(tmp_path / "images", moved)
    entry = next(Project(moved / "sapiens_studio").entries())
    assert Path(entry.doc.image_path) == moved / "a.png"
    assert Project.image_path(entry.doc, entry.path) == moved / "a.png"


def test_a_missing_image_is_named(project, tmp_path):
    os.remove(tmp_path / "images" / "b.png")
    doc = project.load(project.folder / "b.json")
    with pytest.raises(MissingImageError, match=r"b\.png is missing \(named by .*b\.json\)"):
        Project.image_path(doc, project.folder / "b.json")


def test_not_a_folder_is_refused(tmp_path):
    with pytest.raises(SapiensError, match="is not a folder"):
        Project(tmp_path / "nothing")


def test_document_names_never_take_another_images_name(project, tmp_path):
    # The same image keeps its document; another image with the same stem gets the next free name.
    assert project.path_for(tmp_path / "images" / "a.png") == project.folder / "a.json"
    other = tmp_path / "other" / "a.png"
    assert project.path_for(other) == project.folder / "a_2.json"
    assert project.path_for(other, taken={"a_2"}) == project.folder / "a_3.json"
    assert project.path_for(tmp_path / "new.png") == project.folder / "new.json"


def test_layers_false_reads_persons_and_names_side_files_without_reading_them(tmp_path):
    image = _image(tmp_path / "p.png")
    part_map = np.zeros((30, 40), np.uint8)
    part_map[5:9, 7:11] = 3
    path = _doc(image, [_person(2, 7)], class_schema="sapiens_28", part_map=part_map).save(tmp_path / "d" / "p.json")
    os.remove(tmp_path / "d" / "p_seg.png")  # a full load would now fail; the light one must not read it
    light = Annotation.load(path, layers=False)
    assert light.part_map is None and light.persons[0].id == 2
    assert light.side_files == {"part_map": str(tmp_path / "d" / "p_seg.png")}


def test_reviewed_flag_survives_save_and_load_and_old_documents_default_to_false(tmp_path):
    path = _doc(tmp_path / "x.png", reviewed=True).save(tmp_path / "x.json")
    assert Annotation.load(path).reviewed is True
    text = path.read_text().replace(' "reviewed": true,\n', "")
    assert '"reviewed"' not in text  # as written before the field existed
    path.write_text(text)
    assert Annotation.load(path).reviewed is False


# ------------------------------------------------------------------------------------------------ merge


def test_merge_keeps_human_points_and_takes_model_points_from_the_new_labels(tmp_path):
    old = _person(0, 5)
    old.keypoints[3, :2] = (11, 12)
    old.visibility[3] = 1
    old.source[3] = SOURCE_HUMAN
    new = _person(0, 20)
    merged = merge_keep_human(_doc(tmp_path / "x.png", [old]), _doc(tmp_path / "x.png", [new]))
    (person,) = merged.persons
    assert tuple(person.keypoints[3, :2]) == (11, 12) and person.visibility[3] == 1
    assert person.source[3] == SOURCE_HUMAN
    assert person.keypoints[4, 0] == 20 and person.source[4] == SOURCE_MODEL  # model point: replaced
    assert old.keypoints[4, 0] == 5  # the inputs are not modified


def test_merge_keeps_a_corrected_person_the_new_labels_lack_and_drops_an_unedited_one(tmp_path):
    edited, plain, incoming = _person(1, 5), _person(2, 6), _person(3, 7)
    edited.source[0] = SOURCE_HUMAN
    merged = merge_keep_human(_doc(tmp_path / "x.png", [edited, plain]), _doc(tmp_path / "x.png", [incoming]))
    assert sorted(p.id for p in merged.persons) == [1, 3]


def test_merge_into_a_reviewed_document_keeps_every_labelled_point(tmp_path):
    old = _person(0, 5)  # all model-made, but a person reviewed the image
    merged = merge_keep_human(_doc(tmp_path / "x.png", [old], reviewed=True), _doc(tmp_path / "x.png", [_person(0, 9)]))
    assert merged.reviewed and merged.persons[0] == old


def test_merge_replaces_layers_the_new_labels_have_and_keeps_the_others(tmp_path):
    old_map = np.ones((30, 40), np.uint8)
    depth = np.zeros((30, 40), np.float32)
    new_map = np.full((30, 40), 2, np.uint8)
    merged = merge_keep_human(
        _doc(tmp_path / "x.png", part_map=old_map, depth=depth), _doc(tmp_path / "x.png", part_map=new_map)
    )
    assert merged.part_map is new_map and merged.depth is depth


def test_merge_of_another_keypoint_set_is_refused(tmp_path):
    coco = Person(0, np.zeros((17, 3)), np.zeros(17), np.zeros(17))
    old = _doc(tmp_path / "x.png", [_person(0, 5)])
    new = Annotation(str(tmp_path / "x.png"), (40, 30), "coco_17", persons=[coco])
    with pytest.raises(ValueError, match="cannot merge labels of coco_17"):
        merge_keep_human(old, new)


def test_the_apps_document_of_an_image_lives_in_the_results_folder_beside_it(tmp_path):
    assert annotation_path(tmp_path / "shots" / "a.b.png") == tmp_path / "shots" / "sapiens_studio" / "a.b.json"
    assert annotation_path("x.jpg") == Path("sapiens_studio") / "x.json"
