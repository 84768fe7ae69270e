"""``predict`` on the odd inputs a probe found: colliding output names, inputs it cannot read named on the command
line, out-of-range numbers, temporary files a killed run left behind."""

from __future__ import annotations

import json
import os
import time

import cv2
import numpy as np
import pytest

from sapiens_core.annotation import Annotation
from sapiens_core.cli import main


def image(path, seed: int = 0):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.random.default_rng(seed).integers(0, 255, (30, 20, 3), dtype=np.uint8))
    return path


def predict(capsys, *args) -> tuple[int, list[str]]:
    rc = main(["predict", *map(str, args), "--device", "cpu", "--no-overlay"])
    return rc, [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_every_input_gets_its_own_outputs_whatever_the_layout(tiny_checkpoint, tmp_path, capsys):
    inputs = [image(tmp_path / "in" / "a" / "x.png", 1), image(tmp_path / "in" / "b" / "x.png", 2)]
    inputs.append(image(tmp_path / "in" / "x_2.png", 3))
    out = tmp_path / "out"
    rc, err = predict(capsys, tmp_path / "in", "--out", out, "--pose", tiny_checkpoint("pose", "onnx"))
    assert (rc, err) == (0, [])
    docs = {p.name: Annotation.load(p, layers=False) for p in out.glob("*.json") if p.name != "coco.json"}
    assert len(docs) == 3  # three inputs, three documents (the probe found two)
    assert {os.path.realpath(d.image_path) for d in docs.values()} == {os.path.realpath(p) for p in inputs}
    assert os.path.realpath(docs["x_2.json"].image_path) == os.path.realpath(inputs[2])  # its own name
    assert len(json.loads((out / "coco.json").read_text())["images"]) == 3


def test_named_inputs_it_cannot_read_are_reported_and_exit_1(tiny_checkpoint, tmp_path, capsys):
    good = image(tmp_path / "good.png")
    gif = tmp_path / "anim.gif"
    gif.write_bytes(b"GIF89a\x01\x00\x01\x00")
    rc, err = predict(capsys, good, gif, "--out", tmp_path / "out", "--pose", tiny_checkpoint("pose", "onnx"))
    assert rc == 1
    (line,) = err
    assert line.startswith(f"failed: {gif}: not an image type we read")
    assert (tmp_path / "out" / "good.json").is_file()
    assert str(gif) in (tmp_path / "out" / "failures.txt").read_text()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any folder")
def test_an_unreadable_sub_folder_is_reported_and_exit_1(tiny_checkpoint, tmp_path, capsys):
    image(tmp_path / "in" / "ok.png")
    locked = tmp_path / "in" / "locked"
    image(locked / "hidden_from_us.png")
    locked.chmod(0)
    try:
        rc, err = predict(capsys, tmp_path / "in", "--out", tmp_path / "out", "--pose", tiny_checkpoint("pose", "onnx"))
    finally:
        locked.chmod(0o755)
    assert rc == 1 and len(err) == 1 and "cannot list this folder" in err[0] and "locked" in err[0]


@pytest.mark.parametrize("value", ["nan", "-1", "1.5", "inf"])
def test_out_of_range_keypoint_thresholds_are_refused(tmp_path, capsys, value):
    photo = image(tmp_path / "a.png")
    rc, err = predict(capsys, photo, "--out", tmp_path / "out", "--pose", "x.pt2", "--kpt-threshold", value)
    assert rc == 2 and err == [f"error: --kpt-threshold must be a number from 0 to 1, not {float(value)}"]
    assert not (tmp_path / "out").exists()


def test_temp_files_of_a_killed_run_are_removed_at_the_next_start(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    left = [out / ".a.0123456789abcdef.tmp.json", out / ".a_seg.fedcba9876543210.tmp.png"]
    for path in left:
        path.write_bytes(b"half a file")
        os.utime(path, (time.time() - 5, time.time() - 5))  # written before this run started
    unrelated = out / ".keep_me.tmp.json"  # not one of our names
    unrelated.write_text("{}")
    rc, err = predict(capsys, image(tmp_path / "a.png"), "--out", out, "--pose", tiny_checkpoint("pose", "onnx"))
    assert (rc, err) == (0, [])
    assert not any(p.exists() for p in left) and unrelated.exists()
