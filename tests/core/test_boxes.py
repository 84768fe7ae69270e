import json

import numpy as np
import pytest

from sapiens_core.boxes import BoxesFileError, BoxTable


def test_mapping_layout_by_name_stem_and_path(tmp_path):
    f = tmp_path / "boxes.json"
    f.write_text(json.dumps({"a.jpg": [[10, 20, 110, 220]], "b": [[0, 0, 5, 5, 0.7], [1, 1, 9, 9, 0.2]], "c.png": []}))
    table = BoxTable.load(f)
    assert table.lookup("/data/x/a.jpg").tolist() == [[10, 20, 110, 220, 1.0]]
    assert table.lookup("b.png")[:, 4].tolist() == pytest.approx([0.7, 0.2])
    assert table.lookup("c.png").shape == (0, 5)  # listed without boxes: nobody there
    assert table.lookup("d.png") is None  # not listed: whole image


def test_boxes_with_and_without_a_score_mix(tmp_path):
    f = tmp_path / "boxes.json"
    f.write_text(json.dumps({"a.jpg": [[10, 20, 110, 220], [0, 0, 5, 5, 0.5]]}))
    assert BoxTable.load(f).lookup("a.jpg").tolist() == [[10, 20, 110, 220, 1.0], [0, 0, 5, 5, 0.5]]


def test_coco_layout_converts_xywh(tmp_path):
    f = tmp_path / "det.json"
    f.write_text(
        json.dumps(
            {
                "images": [{"id": 7, "file_name": "p.jpg"}, {"id": 8, "file_name": "q.jpg"}],
                "annotations": [{"image_id": 7, "bbox": [10, 20, 30, 40], "score": 0.9}],
            }
        )
    )
    table = BoxTable.load(f)
    assert np.allclose(table.lookup("p.jpg"), [[10, 20, 40, 60, 0.9]])
    assert table.lookup("q.jpg").shape == (0, 5)


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "cannot read"),
        ("[1, 2]", "expected a JSON object"),
        ('{"a.jpg": [[10, 10, 5, 20]]}', "x2 <= x1"),
        ('{"a.jpg": [[1, 2, 3]]}', "boxes must be"),
        ('{"a.jpg": [[1, 2, "x", 4]]}', "boxes must be"),
        ('{"a.jpg": [1, 2, 3, 4]}', "boxes must be"),
        ('{"a.jpg": {"box": [1, 2, 3, 4]}}', "boxes must be"),
        ('{"a.jpg": [[1e30, 1e30, 3e38, 3e38]]}', "a box coordinate of 3e[+]38 is not a pixel position"),
        ('{"a.jpg": [[10, 10, 1000001, 20]]}', "a box coordinate of 1e[+]06 is not a pixel position"),
        ('{"a.jpg": [[10, 10, 1e39, 20]]}', "a box coordinate of 1e[+]39"),  # beyond float32, no overflow warning
        (
            '{"images": [{"id": 1, "file_name": "a"}], "annotations": [{"image_id": 2, "bbox": [0, 0, 1, 1]}]}',
            "malformed COCO",
        ),
    ],
)
def test_bad_files_are_named_and_explained(tmp_path, content, message):
    f = tmp_path / "b.json"
    f.write_text(content)
    with pytest.raises(BoxesFileError, match=message) as err:
        BoxTable.load(f)
    assert "b.json" in str(err.value)


def test_the_largest_coordinate_a_box_may_have(tmp_path):
    f = tmp_path / "b.json"
    f.write_text('{"a.jpg": [[-1000000, 0, 1000000, 5]]}')
    np.testing.assert_array_equal(BoxTable.load(f).lookup("a.jpg"), [[-1e6, 0, 1e6, 5, 1]])
