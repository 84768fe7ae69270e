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
    np.testing.assert_array_equal(np.asarray(image), ids)  # the values are still the ids
    np.testing.assert_array_equal(np.asarray(image.convert("RGB")), PARTS.colorize(ids))  # and it looks coloured
    with pytest.raises(ValueError, match="uint8"):
        write_part_map(tmp_path / "bad.png", ids.astype(np.int32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["color.png", "ids.png"]


def test_depth_and_normal(tmp_path):
    depth = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    depth[0, 0] = np.nan
    write_depth(tmp_path / "d.npy", depth)
    np.testing.assert_array_equal(np.load(tmp_path / "d.npy", allow_pickle=False), depth)
    # Distinct unit vectors per pixel (a transposed or channel-swapped write would show), NaN background.
    rng = np.random.default_rng(3)
    normal = rng.standard_normal((3, 4, 3)).astype(np.float32)
    normal /= np.linalg.norm(normal, axis=2, keepdims=True)
    normal[0, 1] = np.nan
    write_normal(tmp_path / "n.npy", normal)
    loaded = np.load(tmp_path / "n.npy", allow_pickle=False)
    assert loaded.dtype == np.float32 and loaded.shape == (3, 4, 3)
    assert loaded.tobytes() == normal.tobytes()  # every value bit for bit, NaNs where they were
    assert np.isnan(loaded[0, 1]).all() and not np.isnan(np.delete(loaded.reshape(-1, 3), 1, axis=0)).any()
    # A non-contiguous view (as a model's output often is) is written in (H, W, 3) order, not memory order.
    chw = np.ascontiguousarray(normal.transpose(2, 0, 1))
    write_normal(tmp_path / "v.npy", chw.transpose(1, 2, 0))
    assert np.load(tmp_path / "v.npy", allow_pickle=False).tobytes() == normal.tobytes()
    with pytest.raises(ValueError, match="float32"):
        write_depth(tmp_path / "d.npy", depth.astype(np.float64))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        write_normal(tmp_path / "n.npy", depth)
