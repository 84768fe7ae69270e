"""The matte in the annotation document: STEM_alpha.png (8-bit grey) and STEM_fg_rgb.png (8-bit RGB) beside the JSON,
version 4 only when a matte is there, read back exactly (a second save writes the same bytes), checked on load, and
replaced (never merged) by a model's re-run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from sapiens_core.annotation import Annotation
from sapiens_core.annotation.merge import merge_keep_human
from sapiens_core.errors import AnnotationFormatError

W, H = 5, 3


def _matte(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    alpha = rng.integers(0, 256, (H, W), dtype=np.uint8)
    fg = (rng.random((H, W, 3)) * alpha[..., None]).astype(np.uint8)  # premultiplied: never above alpha
    return alpha, fg


def test_saved_as_pngs_a_viewer_shows_and_read_back_byte_identical(tmp_path):
    alpha, fg = _matte()
    doc = Annotation(str(tmp_path / "a.png"), (W, H), alpha=alpha, fg_rgb=fg, models={"matting": {"file": "m"}})
    doc.save(tmp_path / "one" / "a.json")
    data = json.loads((tmp_path / "one" / "a.json").read_text())
    assert data["version"] == 4  # an older Sapiens Studio says "newer" instead of failing on an unknown layer
    assert data["layers"] == {"alpha": "a_alpha.png", "fg_rgb": "a_fg_rgb.png"}
    grey, rgb = Image.open(tmp_path / "one" / "a_alpha.png"), Image.open(tmp_path / "one" / "a_fg_rgb.png")
    assert grey.mode == "L" and np.array_equal(np.asarray(grey), alpha)
    assert rgb.mode == "RGB" and np.array_equal(np.asarray(rgb), fg)  # red first in the file, as any viewer reads it

    back = Annotation.load(tmp_path / "one" / "a.json")
    assert back == doc and back.alpha.dtype == np.uint8 and back.fg_rgb.dtype == np.uint8
    back.save(tmp_path / "two" / "a.json")
    for name in ("a_alpha.png", "a_fg_rgb.png"):
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name


def test_documents_without_a_matte_keep_their_version(tmp_path):
    doc = Annotation(str(tmp_path / "a.png"), (W, H), depth=np.zeros((H, W), np.float32))
    doc.save(tmp_path / "a.json")
    assert json.loads((tmp_path / "a.json").read_text())["version"] == 1
    assert Annotation.load(tmp_path / "a.json") == doc


def test_wrong_layers_are_refused_naming_them(tmp_path):
    alpha, fg = _matte()
    with pytest.raises(ValueError, match=r"alpha must be a uint8 array of shape \(3, 5\), not float32"):
        Annotation("a.png", (W, H), alpha=alpha.astype(np.float32) / 255).validate()
    with pytest.raises(ValueError, match=r"fg_rgb must be a uint8 array of shape \(3, 5, 3\)"):
        Annotation("a.png", (W, H), fg_rgb=fg[:, :4]).validate()
    Annotation("a.png", (W, H), alpha=alpha, fg_rgb=fg).save(tmp_path / "a.json")
    Image.fromarray(alpha).save(tmp_path / "a_fg_rgb.png")  # a grey image where the colour belongs
    with pytest.raises(AnnotationFormatError, match=r"fg_rgb \(a_fg_rgb.png\): a_fg_rgb.png is not an 8-bit RGB"):
        Annotation.load(tmp_path / "a.json")
    (tmp_path / "a_alpha.png").unlink()
    with pytest.raises(AnnotationFormatError, match="alpha side file .* is missing"):
        Annotation.load(tmp_path / "a.json")


def test_a_rerun_replaces_the_matte_and_a_run_without_one_keeps_it():
    old_alpha, old_fg = _matte(1)
    new_alpha, new_fg = _matte(2)
    existing = Annotation("a.png", (W, H), alpha=old_alpha, fg_rgb=old_fg)
    merged = merge_keep_human(existing, Annotation("a.png", (W, H), alpha=new_alpha, fg_rgb=new_fg))
    assert merged.alpha is new_alpha and merged.fg_rgb is new_fg
    seg_only = Annotation("a.png", (W, H), foreground=np.ones((H, W), bool))
    kept = merge_keep_human(existing, seg_only)
    assert kept.alpha is old_alpha and kept.fg_rgb is old_fg and kept.foreground is not None
