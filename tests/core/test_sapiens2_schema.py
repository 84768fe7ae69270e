"""Seg-29: the shipped schema equals the spec table; the 29 <-> 28 mapping round-trips and loses only Eyeglass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sapiens_core.schema import class_schema, generate
from sapiens_core.schema.class_maps import class_lookup, convert_class_map

SPEC = Path(__file__).resolve().parents[1] / "data" / "spec"


def test_the_29_classes_are_the_spec_table_row_by_row():
    rows = generate.read_tsv(SPEC / "sapiens2" / "sapiens2_seg_classes.tsv")
    s = class_schema("sapiens2_29")
    assert len(s) == 29 and s.names == tuple(r["v2_name"] for r in rows)
    assert s.colors.tolist() == [[int(r[c]) for c in "rgb"] for r in rows]
    assert s.flip_index.tolist() == [int(r["flip_partner_v2_index"]) for r in rows]
    assert s.class_weights.tolist() == [float(r["ce_class_weight"]) for r in rows]


def test_spec_facts_eyeglass_inserted_at_2_and_v1_shifted_by_one():
    v1, v2 = class_schema("sapiens_28"), class_schema("sapiens2_29")
    assert v2.names[2] == "Eyeglass" and tuple(v2.colors[2]) == (14, 204, 182)
    assert v2.names[:2] == v1.names[:2] and v2.names[3:] == v1.names[2:]
    assert np.array_equal(v2.colors[3:], v1.colors[2:])  # v1 colours unchanged
    pairs = {(5, 14), (6, 15), (7, 16), (8, 17), (9, 18), (10, 19), (11, 20), (12, 21)}  # spec §4.3
    assert {(i, int(j)) for i, j in enumerate(v2.flip_index) if i < j} == pairs


def test_29_to_28_follows_the_index_rule():
    down = class_lookup("sapiens2_29", "sapiens_28")
    assert down[:2].tolist() == [0, 1]
    assert down[2] == class_schema("sapiens_28").index("Face_Neck")  # Eyeglass -> Face_Neck (v1 never learned it)
    assert down[3:29].tolist() == list(range(2, 28))
    assert down[255] == 255 and down[29] == 255


def test_round_trips():
    v1_map = np.arange(28, dtype=np.uint8).reshape(4, 7)
    assert np.array_equal(convert_class_map(convert_class_map(v1_map, "sapiens_28", "sapiens2_29"), "sapiens2_29",
                                            "sapiens_28"), v1_map)  # fmt: skip
    v2_map = np.arange(29, dtype=np.uint8)
    back = convert_class_map(convert_class_map(v2_map, "sapiens2_29", "sapiens_28"), "sapiens_28", "sapiens2_29")
    changed = np.flatnonzero(back != v2_map)
    assert changed.tolist() == [2] and back[2] == 3  # only Eyeglass, which comes back as Face_Neck


def test_mapping_keeps_names_and_flips_commute():
    v1, v2 = class_schema("sapiens_28"), class_schema("sapiens2_29")
    up = class_lookup("sapiens_28", "sapiens2_29")
    assert all(v2.names[up[i]] == v1.names[i] for i in range(28))
    down = class_lookup("sapiens2_29", "sapiens_28")
    # Mirroring then mapping equals mapping then mirroring: left/right stay paired across the sets.
    assert np.array_equal(down[v2.flip_index], v1.flip_index[down[:29]])


def test_unknown_mappings_and_dtypes_fail_clearly():
    with pytest.raises(KeyError, match="no schema data file"):
        class_lookup("sapiens2_29", "sapiens_99")
    with pytest.raises(ValueError, match="uint8"):
        convert_class_map(np.zeros((2, 2), np.int64), "sapiens2_29", "sapiens_28")
