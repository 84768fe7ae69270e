"""labelme import, the cases mutation testing found unpinned: each refusal's exact message, the optional fields
(image size, track ids, video frame, reviewed), backslashes in imagePath, and how shapes become persons.

Messages are the module's documented wording, written out by hand; layouts are counted from the schema tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from sapiens_core.annotation import VideoRef
from sapiens_core.export import ImportedImage, ImportOptions, ImportProblem, get_format

FMT = get_format("labelme")
COCO17 = [
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


def _point(label, x=3, y=4, gid=0, **extra) -> dict:
    shape = {"label": label, "points": [[x, y]], "group_id": gid, "description": "", "shape_type": "point"}
    return {**shape, "flags": {}, "mask": None, **extra}


def _box(gid=0) -> dict:
    return {**_point("person", gid=gid), "points": [[1, 2], [5, 6]], "shape_type": "rectangle"}


def _file(folder: Path, shapes, image=(40, 30), drop=(), **top) -> Path:
    """a.json beside a.png (of size ``image``); ``top`` replaces fields, ``drop`` removes them."""
    Image.new("RGB", image).save(folder / "a.png")
    data = {
        "version": "5.5.0",
        "flags": {},
        "shapes": shapes,
        "imagePath": "a.png",
        "imageData": None,
        "imageHeight": image[1],
        "imageWidth": image[0],
        **top,
    }
    for key in drop:
        del data[key]
    path = folder / "a.json"
    path.write_text(json.dumps(data))
    return path


def _one(folder: Path, **options) -> ImportedImage | ImportProblem:
    (result,) = list(FMT.read(folder, ImportOptions(**options)))
    return result


def _message(folder: Path, shapes, **top) -> str:
    _file(folder, shapes, **top)
    result = _one(folder)
    assert isinstance(result, ImportProblem), result
    return result.message


def test_a_file_without_a_shapes_list_is_named_as_not_labelme(tmp_path):
    (tmp_path / "a.json").write_text('{"shapes": {}}')
    assert _one(tmp_path).message == 'not a labelme file (needs a "shapes" list)'


@pytest.mark.parametrize(
    "top, message",
    [
        ({"imagePath": ""}, "imagePath must name the image, not ''"),
        ({"imagePath": None}, "imagePath must name the image, not None"),
        ({"flags": {"reviewed": 1}}, "flags must map names to true/false"),
        ({"flags": ["reviewed"]}, "flags must map names to true/false"),
        ({"imageWidth": 0}, "imageWidth must be a positive integer, not 0"),
        ({"imageWidth": True}, "imageWidth must be a positive integer, not True"),
        ({"imageWidth": "40"}, "imageWidth must be a positive integer, not '40'"),
        ({"imageHeight": -30}, "imageHeight must be a positive integer, not -30"),
        ({"imageHeight": None}, "imageHeight must be a positive integer, not None"),
        ({"keypoint_schema": 5}, "keypoint_schema must be a name, not 5"),
        ({"keypoint_schema": "nope"}, "keypoint_schema: unknown layout 'nope'"),
        ({"track_ids": [7]}, 'track_ids must map group ids to track ids >= 0, e.g. {"0": 7}'),
        ({"track_ids": {"x": 1}}, 'track_ids must map group ids to track ids >= 0, e.g. {"0": 7}'),
        ({"track_ids": {"X1": 1}}, 'track_ids must map group ids to track ids >= 0, e.g. {"0": 7}'),
        ({"track_ids": {"0": 1.5}}, 'track_ids must map group ids to track ids >= 0, e.g. {"0": 7}'),
        ({"track_ids": {"0": -1}}, 'track_ids must map group ids to track ids >= 0, e.g. {"0": 7}'),
        ({"track_ids": {"0": True}}, 'track_ids must map group ids to track ids >= 0, e.g. {"0": 7}'),
    ],
)
def test_bad_top_level_fields_are_refused_with_their_message(tmp_path, top, message):
    assert _message(tmp_path, [_point("nose")], **top) == message


def test_an_image_path_that_is_no_image_is_refused_as_such(tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    message = _message(tmp_path, [_point("nose")], imagePath="notes.png")
    assert message.startswith("imagePath: ") and "notes.png" in message


def test_a_bad_video_field_is_refused_under_its_name(tmp_path):
    message = _message(tmp_path, [_point("nose")], video={"name": "", "frame_index": 1})
    assert message.startswith("video: ")


@pytest.mark.parametrize(
    "shape, message",
    [
        (5, "shapes[0] must be an object"),
        ({**_point("nose"), "label": 5}, "shapes[0]: label and shape_type must be strings"),
        ({**_point("nose"), "shape_type": None}, "shapes[0]: label and shape_type must be strings"),
        ({**_point("nose"), "points": [[1, 2, 3]]}, "shapes[0].points must be 1 [x, y] pair(s) of numbers"),
        ({**_point("nose"), "points": [["a", 2]]}, "shapes[0].points must be 1 [x, y] pair(s) of numbers"),
        ({**_point("nose"), "points": [[True, 2]]}, "shapes[0].points must be 1 [x, y] pair(s) of numbers"),
        ({**_point("nose"), "description": 5}, "shapes[0].description must be a string"),
        # Within one image size of the 40x30 image is allowed (to -40..80); 100 is beyond it.
        (_point("nose", 100, 5), "shapes[0].points: point 0 (100, 5) lies far outside the 40x30 image"),
    ],
)
def test_bad_shapes_are_refused_with_their_message(tmp_path, shape, message):
    assert _message(tmp_path, [shape]) == message


def test_a_second_box_of_one_person_is_refused(tmp_path):
    assert _message(tmp_path, [_box(0), _box(0)]) == "shapes[1]: person 0 has a second box"


def test_labels_of_no_layout_are_listed_five_at_most(tmp_path):
    shapes = [_point(name, gid=i) for i, name in enumerate("fedcba")]
    assert _message(tmp_path, shapes) == "no known keypoint layout has all of the labels ['a', 'b', 'c', 'd', 'e']"


def test_every_field_that_may_be_left_out(tmp_path):
    path = _file(tmp_path, [_point("nose")], drop=("imageWidth", "imageHeight"))
    result = _one(tmp_path)
    assert isinstance(result, ImportedImage), result
    assert result.size == (40, 30) and result.source == str(path)
    assert result.reviewed is False and result.video is None
    assert [p.track_id for p in result.persons] == [None]


def test_a_one_pixel_image_is_a_valid_size(tmp_path):
    _file(tmp_path, [_point("nose", 0, 0)], image=(1, 1))
    assert _one(tmp_path).size == (1, 1)


def test_backslashes_in_image_path_are_folder_separators(tmp_path):
    (tmp_path / "sub").mkdir()
    Image.new("RGB", (40, 30)).save(tmp_path / "sub" / "b.png")
    _file(tmp_path, [_point("nose")], imagePath="sub\\b.png")
    assert _one(tmp_path).image_path == tmp_path / "sub" / "b.png"


def test_track_ids_and_video_frame_come_back(tmp_path):
    shapes = [_point("nose", gid=0), _point("nose", gid=-1), _point("nose", gid=4)]
    video = {"name": "clip.mp4", "frame_index": 4}
    _file(tmp_path, shapes, track_ids={"0": 0, "-1": 7}, video=video, flags={"reviewed": True})
    result = _one(tmp_path)
    assert isinstance(result, ImportedImage), result
    assert [(p.id, p.track_id) for p in result.persons] == [(0, 0), (-1, 7), (4, None)]
    assert result.video == VideoRef("clip.mp4", 4) and result.reviewed is True


def test_shapes_without_a_group_are_one_more_person_after_the_highest_id(tmp_path):
    shapes = [_point("nose", gid=5), _point("nose", gid=None), _point("left_eye", gid=None)]
    _file(tmp_path, shapes)
    assert [p.id for p in _one(tmp_path).persons] == [5, 6]


@pytest.mark.parametrize(
    "shapes, layout",
    [
        ([_point(name) for name in COCO17], "coco_17"),  # every label of coco_17: still the smallest that fits
        ([_box()], "goliath_308"),  # boxes only: the layout of the Sapiens pose models
    ],
)
def test_the_layout_of_a_file_that_does_not_name_one(tmp_path, shapes, layout):
    _file(tmp_path, shapes)
    assert _one(tmp_path).keypoint_schema == layout
