"""Painted pixels survive a model's re-run: in ``merge_keep_human`` (the app's *Run* and ``predict --out`` both go
through it), through save and load, and end to end with a real segmentation model re-run into a project folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from sapiens_core.annotation import Annotation, merge_keep_human
from sapiens_core.annotation.history import History
from sapiens_core.annotation.tile_edits import paint_mask, paint_region
from sapiens_core.cli import main

ASTRONAUT = Path(__file__).resolve().parents[2] / "resources" / "astronaut.png"
W, H = 40, 30


def _doc(**layers) -> Annotation:
    return Annotation("x.png", (W, H), class_schema="sapiens_28", **layers)


def _painted_doc() -> Annotation:
    """A model's part map (class 1 everywhere) in which a person painted a 5x4 block with class 9."""
    doc = _doc(part_map=np.ones((H, W), np.uint8))
    History(doc).push(paint_region(doc, "part_map", 10, 20, np.ones((4, 5), bool), 9))
    return doc


def test_a_rerun_keeps_painted_pixels_and_takes_the_model_everywhere_else():
    old = _painted_doc()
    new_map = np.full((H, W), 3, np.uint8)
    merged = merge_keep_human(old, _doc(part_map=new_map))
    expected = np.full((H, W), 3, np.uint8)
    expected[10:14, 20:25] = 9
    np.testing.assert_array_equal(merged.part_map, expected)
    assert merged.part_map_human.sum() == 20 and merged.part_map_human[10:14, 20:25].all()
    assert (new_map == 3).all() and (old.part_map[10:14, 20:25] == 9).all()  # the inputs are not modified


def test_painted_pixels_are_kept_even_where_the_model_now_agrees_and_stay_marked():
    old = _painted_doc()
    agrees = np.full((H, W), 9, np.uint8)
    merged = merge_keep_human(old, _doc(part_map=agrees))
    assert (merged.part_map == 9).all()
    # Still the person's: a third run with another answer must not take them.
    third = merge_keep_human(merged, _doc(part_map=np.zeros((H, W), np.uint8)))
    assert (third.part_map[10:14, 20:25] == 9).all() and third.part_map.sum() == 20 * 9


def test_a_reviewed_document_keeps_its_painted_layers_whole():
    old = _doc(part_map=np.ones((H, W), np.uint8), foreground=np.ones((H, W), bool), reviewed=True)
    merged = merge_keep_human(old, _doc(part_map=np.zeros((H, W), np.uint8), foreground=np.zeros((H, W), bool)))
    assert (merged.part_map == 1).all() and merged.foreground.all()


def test_new_labels_without_a_layer_keep_the_old_layer_and_its_marks():
    old = _painted_doc()
    merged = merge_keep_human(old, _doc())
    np.testing.assert_array_equal(merged.part_map, old.part_map)
    np.testing.assert_array_equal(merged.part_map_human, old.part_map_human)


def test_a_document_nobody_painted_takes_the_new_layer_as_it_is():
    new_map = np.full((H, W), 4, np.uint8)
    merged = merge_keep_human(_doc(part_map=np.ones((H, W), np.uint8)), _doc(part_map=new_map))
    assert merged.part_map is new_map and merged.part_map_human is None


def test_the_person_mask_keeps_its_own_painted_pixels():
    doc = _doc(foreground=np.zeros((H, W), bool))
    mask = np.zeros((H, W), bool)
    mask[0:3, 0:3] = True
    History(doc).push(paint_mask(doc, "foreground", mask, True))
    merged = merge_keep_human(doc, _doc(foreground=np.zeros((H, W), bool)))
    np.testing.assert_array_equal(merged.foreground, mask)
    np.testing.assert_array_equal(merged.foreground_human, mask)


def test_a_layer_of_another_size_is_refused():
    with pytest.raises(ValueError, match="the new layer is 20x10, the painted one 40x30"):
        merge_keep_human(_painted_doc(), Annotation("x.png", (W, H), part_map=np.zeros((10, 20), np.uint8)))


def test_painted_pixels_survive_save_and_load(tmp_path):
    doc = _painted_doc()
    loaded = Annotation.load(doc.save(tmp_path / "x.json"))
    np.testing.assert_array_equal(loaded.part_map_human, doc.part_map_human)
    assert loaded.foreground_human is None


def test_predict_into_a_project_keeps_painted_pixels_and_overwrite_replaces_them(capsys, tmp_path, tiny_checkpoint):
    image = Path(shutil.copy(ASTRONAUT, tmp_path / "astronaut.png"))
    out = tmp_path / "project"
    seg = tiny_checkpoint("seg", "torchscript")

    def predict(*extra) -> Annotation:
        args = ["predict", str(image), "--out", str(out), "--device", "cpu", "--seg", str(seg), "--no-overlay"]
        assert main([*args, *extra]) == 0, capsys.readouterr().err
        return Annotation.load(out / "astronaut.json")

    model_map = predict().part_map.copy()
    # A person paints a block with a class the model did not give there, and saves.
    doc = Annotation.load(out / "astronaut.json")
    block = (slice(100, 140), slice(200, 260))
    painted_class = int(np.setdiff1d(np.arange(28), model_map[block])[0])  # every pixel of the block changes
    mask = np.zeros(model_map.shape, bool)
    mask[block] = True
    History(doc).push(paint_mask(doc, "part_map", mask, painted_class))
    doc.save(out / "astronaut.json")

    merged = predict()
    expected = model_map.copy()
    expected[block] = painted_class
    np.testing.assert_array_equal(merged.part_map, expected)
    assert merged.part_map_human[block].all() and merged.part_map_human.sum() == 40 * 60

    replaced = predict("--overwrite")
    np.testing.assert_array_equal(replaced.part_map, model_map)
    assert replaced.part_map_human is None
    assert not (out / "astronaut_seg_human.png").exists()  # no stale mask beside the replaced document


def test_replacing_a_document_never_removes_a_file_it_did_not_name(tmp_path):
    user_image = tmp_path / "x_seg_human.png"  # an image that happens to carry a side file's name
    user_image.write_bytes(b"not ours")
    _doc(part_map=np.ones((H, W), np.uint8)).save(tmp_path / "x.json")
    _doc().save(tmp_path / "x.json")
    assert user_image.read_bytes() == b"not ours"
    assert not (tmp_path / "x_seg.png").exists()  # named by the replaced document, by no one now
