"""``predict --out`` into a project folder that already holds corrected documents: corrections survive a
re-run, ``--overwrite`` replaces them, and an unreadable document is never overwritten."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation
from sapiens_core.cli import main

ASTRONAUT = Path(__file__).resolve().parents[2] / "resources" / "astronaut.png"


def _predict(capsys, image: Path, out: Path, pose: Path, *extra) -> tuple[int, str]:
    rc = main(
        ["predict", str(image), "--out", str(out), "--device", "cpu", "--pose", str(pose), "--no-overlay", *extra]
    )
    return rc, capsys.readouterr().err


def test_rerun_keeps_corrections_and_overwrite_replaces_them(capsys, tmp_path, tiny_checkpoint):
    image = Path(shutil.copy(ASTRONAUT, tmp_path / "astronaut.png"))
    out = tmp_path / "project"
    pose = tiny_checkpoint("pose", "torchscript")
    assert _predict(capsys, image, out, pose)[0] == 0
    predicted = Annotation.load(out / "astronaut.json")
    model_xy = predicted.persons[0].keypoints[:, :2].copy()

    # A person corrects two points (one moved, one marked occluded) and saves.
    corrected = Annotation.load(out / "astronaut.json")
    person = corrected.persons[0]
    person.keypoints[3, :2] = (11.0, 22.0)
    person.source[3] = SOURCE_HUMAN
    person.visibility[7] = 1
    person.source[7] = SOURCE_HUMAN
    corrected.save(out / "astronaut.json")

    assert _predict(capsys, image, out, pose)[0] == 0
    merged = Annotation.load(out / "astronaut.json").persons[0]
    assert tuple(merged.keypoints[3, :2]) == (11.0, 22.0) and merged.source[3] == SOURCE_HUMAN
    assert merged.visibility[7] == 1 and merged.source[7] == SOURCE_HUMAN
    others = np.setdiff1d(np.arange(len(model_xy)), [3, 7])
    np.testing.assert_array_equal(merged.keypoints[others, :2], model_xy[others])
    assert (merged.source[others] == SOURCE_MODEL).all()

    assert _predict(capsys, image, out, pose, "--overwrite")[0] == 0
    replaced = Annotation.load(out / "astronaut.json").persons[0]
    np.testing.assert_array_equal(replaced.keypoints[:, :2], model_xy)
    assert (replaced.source == SOURCE_MODEL).all()


def test_an_unreadable_document_is_kept_and_named(capsys, tmp_path, tiny_checkpoint):
    image = Path(shutil.copy(ASTRONAUT, tmp_path / "astronaut.png"))
    out = tmp_path / "project"
    out.mkdir()
    foreign = out / "astronaut.json"
    foreign.write_text('{"shapes": [], "version": "5.0"}')  # someone else's label file
    rc, err = _predict(capsys, image, out, tiny_checkpoint("pose", "torchscript"))
    assert rc == 1 and "astronaut.json" in err
    assert foreign.read_text() == '{"shapes": [], "version": "5.0"}'
