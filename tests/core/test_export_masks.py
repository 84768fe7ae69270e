"""Stand-alone layer files: class ids, coloured (palette) part maps, depth and normals."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from sapiens_core.export import write_depth, write_normal, write_part_map, write_part_map_color
from sapiens_core.schema import class_schema

PARTS = class_schema("sapiens_28")


def test_part_maps(tmp_path):
    ids = np.random.default_rng(0).integers(0, 28, (30, 40), dtype=np.uint8)
    write_part_map(tmp_path / "ids.png", ids)
    image = Image.open(tmp_path / "ids.png")
    assert image.mode == "L"
    np.testing.assert_array_equal(np.asarray(image), ids)

    write_part_map_color(tmp_path / "color.png", ids, PARTS)
    image = Image.open(tmp_path / "color.png")
    assert image.mode == "P"
    np.testing.assert_array_equal(np.asarray(image), ids)                       # the values are still the ids
    np.testing.assert_array_equal(np.asarray(image.convert("RGB")), PARTS.colorize(ids))  # and it looks coloured
    with pytest.raises(ValueError, match="uint8"):
        write_part_map(tmp_path / "bad.png", ids.astype(np.int32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["color.png", "ids.png"]


def test_depth_and_normal(tmp_path):
    depth = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    depth[0, 0] = np.nan
    write_depth(tmp_path / "d.npy", depth)
    np.testing.assert_array_equal(np.load(tmp_path / "d.npy", allow_pickle=False), depth)
    normal = np.zeros((3, 4, 3), np.float32)
    normal[..., 2] = -1
    write_normal(tmp_path / "n.npy", normal)
    loaded = np.load(tmp_path / "n.npy", allow_pickle=False)
    assert loaded.dtype == np.float32 and loaded.shape == (3, 4, 3)
    with pytest.raises(ValueError, match="float32"):
        write_depth(tmp_path / "d.npy", depth.astype(np.float64))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        write_normal(tmp_path / "n.npy", depth)
