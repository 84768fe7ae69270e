"""The shipped schemas equal the spec tables and carry the facts the spec states in prose."""

import json
from pathlib import Path

import numpy as np
import pytest

from sapiens_core.schema import (
    class_schema,
    class_schema_names,
    generate,
    keypoint_schema,
    keypoint_schema_for_count,
    keypoint_schema_names,
)

# The project's own copy of the specification's tables (see its README), so these tests run on every clone.
SPEC_DIR = Path(__file__).resolve().parents[1] / "data" / "spec"


def test_shipped_json_equals_what_the_spec_tables_generate():
    regenerated = generate.generate(SPEC_DIR)
    for filename, data in regenerated.items():
        shipped = json.loads((generate.DATA_DIR / filename).read_text())
        assert shipped == data, f"{filename} is stale: run python -m sapiens_core.schema.generate"


def test_goliath_rows_match_the_tsv_cell_by_cell():
    rows = generate.read_tsv(SPEC_DIR / "goliath_308_keypoints.tsv")
    s = keypoint_schema("goliath_308")
    assert [r["name"] for r in rows] == list(s.names)
    assert [int(r["flip_index"]) for r in rows] == s.flip_index.tolist()
    assert np.allclose([float(r["sigma_oks"]) for r in rows], s.sigmas)
    assert [[int(r[c]) for c in "rgb"] for r in rows] == s.colors.tolist()


def test_goliath_layout_facts_from_the_spec():
    s = keypoint_schema("goliath_308")
    assert len(s) == 308 and s.skeleton.shape == (65, 2)
    # Index order departs from COCO after 8 (spec §3.1).
    assert s.names[9] == "left_hip" and s.names[10] == "right_hip"
    assert s.names[41] == "right_wrist" and s.names[62] == "left_wrist"
    assert s.names[69] == "neck"
    assert int(np.sum(s.flip_index == np.arange(308))) == 16  # self-paired points
    assert s.flip_index[s.index("left_eye")] == s.index("right_eye")
    assert s.group_mask("hands").sum() == 40 and s.group_mask("feet").sum() == 6
    assert s.group_mask("face").sum() == 238  # dense face points 70-307
    assert s.coco_skeleton()[0] == [14, 12]  # 1-based left_ankle -> left_knee


def test_coco_sets_and_lookup_by_count():
    assert keypoint_schema_for_count(17).name == "coco_17"
    assert keypoint_schema_for_count(133).name == "coco_wholebody_133"
    assert keypoint_schema_for_count(308).name == "goliath_308"
    with pytest.raises(KeyError, match="no known keypoint set has 5 points"):
        keypoint_schema_for_count(5)
    assert set(keypoint_schema_names()) == {"coco_17", "coco_wholebody_133", "goliath_308"}


def test_sapiens_28_classes_palette_and_flip():
    c = class_schema("sapiens_28")
    assert class_schema_names() == ["sapiens2_29", "sapiens_28"]
    assert len(c) == 28 and c.names[0] == "Background" and c.names[27] == "Tongue"
    assert c.colors[0].tolist() == [50, 50, 50]
    swaps = {(4, 13), (5, 14), (6, 15), (7, 16), (8, 17), (9, 18), (10, 19), (11, 20)}
    assert {(i, int(j)) for i, j in enumerate(c.flip_index) if i < j} == swaps
    lut = c.palette()
    assert lut.shape == (256, 3) and lut[255].tolist() == [0, 0, 0]
    img = c.colorize(np.array([[0, 14]], np.uint8))
    assert img[0, 1].tolist() == [255, 0, 0]  # Right_Hand


def test_unknown_names_give_clear_errors():
    with pytest.raises(KeyError, match="no keypoint named"):
        keypoint_schema("goliath_308").index("tail")
    with pytest.raises(KeyError):
        keypoint_schema("sapiens2_29")
