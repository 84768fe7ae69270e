"""``--resume`` over a dataset that moved (another mount point, a preempted job restarted on another node): the
finished images are recognised by their path below the inputs' common folder, not redone, and their documents
are re-pointed at the images' new place; an image whose path below that folder changed is redone."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from sapiens_core.annotation import Annotation
from sapiens_core.batch.resume import input_root
from tests.core.test_dataset_predict import log_events, make_images, models, predict_command, run_python

__all__ = ["models"]  # the module-scoped fixture, shared with the dataset tests


def _coco_images(out: Path) -> list[tuple[str, int, int]]:
    coco = json.loads((out / "coco.json").read_text())
    return sorted((image["file_name"], image["width"], image["height"]) for image in coco["images"])


def test_a_moved_dataset_resumes_without_redoing_and_its_documents_follow_it(models, tmp_path):
    make_images(tmp_path / "old" / "in", 12)
    out = tmp_path / "out"  # not beside the data: the documents' relative image paths break when the data moves
    first = run_python(predict_command(tmp_path / "old" / "in", out, models, "--workers", "0", "--no-overlay"))
    assert first.returncode == 0, first.stderr
    logged = len(log_events(out))
    new = tmp_path / "mnt" / "node7" / "in"
    new.parent.mkdir(parents=True)
    shutil.move(tmp_path / "old" / "in", new)
    # One image now lies in another sub-folder: the same stem as before, but not the same input.
    (new / "c").mkdir()
    shutil.move(new / "b" / "img0001.png", new / "c" / "img0001.png")

    resumed = run_python(predict_command(new, out, models, "--workers", "0", "--no-overlay", "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    second = log_events(out)[logged:]
    forward = [stem for event, stem in second if event == "forward"]
    skipped = {stem for event, stem in second if event == "skip"}
    assert forward == ["img0001_2"] and len(skipped) == 11 and "img0001_2" not in skipped
    images = sorted(os.path.relpath(p, new) for p in new.rglob("*.png"))
    for json_path in sorted(out.glob("img*.json")):
        doc = Annotation.load(json_path, layers=False)
        assert os.path.isfile(doc.image_path), doc.image_path
        assert os.path.commonpath([doc.image_path, new]) == str(new)
    fresh = tmp_path / "fresh"
    assert run_python(predict_command(new, fresh, models, "--workers", "0", "--no-overlay")).returncode == 0
    assert _coco_images(out) == _coco_images(fresh)
    assert sorted(name for name, _, _ in _coco_images(out)) == images


def test_the_input_root_is_the_deepest_folder_of_all_inputs(tmp_path):
    a, b = tmp_path / "ds" / "a" / "x.png", tmp_path / "ds" / "b" / "c" / "x.png"
    assert input_root([str(a), str(b)]) == str(tmp_path / "ds")
    assert input_root([str(b)]) == str(tmp_path / "ds" / "b" / "c")
    assert input_root([]) is None
