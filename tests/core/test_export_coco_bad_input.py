"""Bad COCO input: a file unreadable as a whole raises one line naming it; a bad annotation or image entry is a
problem for that image only (nothing imported for it) and the rest of the file still imports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sapiens_core.errors import AnnotationFormatError
from sapiens_core.export import ImportedImage, ImportProblem
from tests.coco_docs import documents, export, import_all

FORMATS = ["coco-goliath308", "coco17", "coco-wholebody133"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Each format's export of the hand-built documents (a.jpg with 2 persons, sub/b.jpg with 1, empty.jpg)."""
    tmp = tmp_path_factory.mktemp("bad")
    docs = documents(tmp)
    files = {}
    for fmt in FORMATS:
        export(fmt, tmp / f"{fmt}.json", docs)
        files[fmt] = tmp / f"{fmt}.json"
    return files


def _variant(exported, fmt: str, tmp_path: Path, change) -> Path:
    data = json.loads(exported[fmt].read_text())
    change(data)
    path = exported[fmt].parent / f"{tmp_path.name}.json"  # beside the original: side-file names still resolve
    path.write_text(json.dumps(data))
    return path


def _problems(results) -> tuple[list[str], list[str]]:
    images = [r.image_path.name for r in results if isinstance(r, ImportedImage)]
    problems = [str(r) for r in results if isinstance(r, ImportProblem)]
    for p in problems:
        assert "\n" not in p and "Traceback" not in p
    return images, problems


def _set(field, value, index=0):
    def change(data):
        data["annotations"][index][field] = value

    return change


def _point(field, offset, value):
    def change(data):
        data["annotations"][0][field][offset] = value

    return change


CASES = {
    "wrong keypoint count": (_set("keypoints", [1.0, 2.0, 2]), r"keypoints must be a list of \d+ numbers, got 3"),
    "unknown category": (_set("category_id", 99), r"category_id 99 is not in \"categories\""),
    "NaN coordinate": (_point("keypoints", 0, float("nan")), r"keypoints holds NaN or infinity at index 0"),
    "huge coordinate": (_point("keypoints", 1, 3e9), r"keypoints: point 0 has coordinates .* beyond ±1e\+06 px"),
    "bad visibility": (_point("keypoints", 2, 3), r"keypoints: visibility must be 0, 1 or 2; point 0 has 3"),
    "string in keypoints": (_point("keypoints", 0, "12"), r"keypoints must hold only numbers, found '12'"),
    "bad source": (_point("keypoint_sources", 0, 7), r"keypoint_sources must be 0 \(model\) or 1 \(human\)"),
    "bad bbox": (_set("bbox", [0, 0, -5, 10]), r"bbox \[x, y, w, h\] needs w, h >= 0"),
    "bad person id": (_set("person_id", "x"), r"person_id must be an integer"),
    "bad score": (_set("score", float("inf")), r"score must be a finite number"),
    "duplicate person id": (_set("person_id", 4, index=0), r"person_id 4 appears twice in this image"),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_annotation_is_a_problem_for_its_image_only(exported, fmt, case, tmp_path):
    change, message = CASES[case]
    results = import_all(fmt, _variant(exported, fmt, tmp_path, change))
    images, problems = _problems(results)
    assert images == ["b.jpg", "empty.jpg"]
    (problem,) = problems
    assert re.match(rf"{tmp_path.name}\.json: image 'images/a\.jpg': annotations\[[01]\] \(id [12]\): ", problem)
    assert re.search(message, problem), problem


@pytest.mark.parametrize("fmt", FORMATS)
def test_duplicate_image_ids_make_both_images_problems(exported, fmt, tmp_path):
    def change(data):
        data["images"][2]["id"] = data["images"][0]["id"]

    images, problems = _problems(import_all(fmt, _variant(exported, fmt, tmp_path, change)))
    assert images == ["b.jpg"] and len(problems) == 2
    assert all('id 1 is used by 2 images (field "id")' in p for p in problems)


@pytest.mark.parametrize("fmt", FORMATS)
def test_annotation_of_no_listed_image_and_bad_image_entries(exported, fmt, tmp_path):
    def change(data):
        data["annotations"][2]["image_id"] = 42
        data["images"][2]["width"] = "wide"
        data["images"][1]["reviewed"] = "yes"

    images, problems = _problems(import_all(fmt, _variant(exported, fmt, tmp_path, change)))
    assert images == ["a.jpg"]
    assert any("image 'images/sub/b.jpg': reviewed must be true or false" in p for p in problems)
    assert any("image 'images/empty.jpg': width and height must be positive integers" in p for p in problems)
    assert any(p.endswith("annotations[2]: image_id 42 is not the id of an image in the file") for p in problems)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "text,message",
    [
        ("{not json", r"not valid JSON"),
        ("[1, 2]", r"the top level must be an object"),
        ('{"images": [], "annotations": {}, "categories": []}', r'field "annotations" must be a list'),
        ('{"images": [], "annotations": [], "categories": []}', r"categories: needs exactly one category"),
        (
            '{"images": [], "annotations": [], "categories": [{"id": 1, "name": "person", "keypoints": ["a"]}]}',
            r"categories\[0\]\.keypoints lists 1 names",
        ),
    ],
)
def test_a_file_unreadable_as_a_whole_raises_one_line_naming_it(fmt, text, message, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(AnnotationFormatError, match=message) as info:
        import_all(fmt, path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_missing_file_and_reordered_names_are_refused(exported, tmp_path):
    with pytest.raises(AnnotationFormatError, match="no such file"):
        import_all("coco17", tmp_path / "nothing.json")

    def swap(data):
        names = data["categories"][0]["keypoints"]
        names[9], names[10] = names[10], names[9]

    with pytest.raises(
        AnnotationFormatError,
        match=r"categories\[0\]\.keypoints\[9\] is 'right_wrist'; coco17 "
        r"expects 'left_wrist' there",
    ):
        import_all("coco17", _variant(exported, "coco17", tmp_path, swap))


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda p: p.unlink(), r"sapiens_layers\.foreground: the side file .* is missing"),
        (lambda p: p.write_text("not a png"), r"sapiens_layers\.foreground: .* is not a readable PNG"),
    ],
)
def test_missing_or_malformed_side_file_is_a_problem_for_that_image(exported, tmp_path, damage, message):
    data = json.loads(exported["coco-goliath308"].read_text())
    root = exported["coco-goliath308"].parent
    fg = root / data["images"][0]["sapiens_layers"]["foreground"]
    backup = fg.read_bytes()
    try:
        damage(fg)
        images, problems = _problems(import_all("coco-goliath308", exported["coco-goliath308"]))
    finally:
        fg.write_bytes(backup)
    assert images == ["b.jpg", "empty.jpg"] and len(problems) == 1
    assert re.search(message, problems[0]) and problems[0].startswith("coco-goliath308.json: image")


def test_side_files_of_the_wrong_size_or_unknown_layers_are_problems(exported, tmp_path):
    def wrong(data):
        data["images"][1]["sapiens_layers"]["foreground"] = data["images"][0]["sapiens_layers"]["foreground"]
        data["images"][2]["sapiens_layers"] = {"thermal": "x.png"}

    images, problems = _problems(import_all("coco-goliath308", _variant(exported, "coco-goliath308", tmp_path, wrong)))
    assert images == ["a.jpg"]
    assert any("foreground must be a bool array of shape (240, 320)" in p for p in problems)
    assert any("sapiens_layers: unknown layer 'thermal'" in p for p in problems)
