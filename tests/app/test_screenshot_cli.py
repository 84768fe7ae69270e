"""``python main.py IMAGE --pose CKPT --seg CKPT --screenshot OUT.png``, run as a user runs it: a separate,
headless process that predicts, saves the window and exits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WINDOW_SIZE = (1280, 860)  # what app/__main__.py gives the window


def app_env(home: Path) -> dict[str, str]:
    """Headless, offline, with preferences and models folders of its own (never the user's)."""
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        HF_HUB_OFFLINE="1",
        XDG_CONFIG_HOME=str(home / "config"),
        SAPIENS_MODELS_DIR=str(home / "models"),
    )
    return env


def run_app(args, home: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *map(str, args)],
        cwd=home,
        env=app_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_preferences(home: Path, section: str, **values: str) -> None:
    """What the app would have saved: QSettings' native INI file on Linux (under XDG_CONFIG_HOME)."""
    path = home / "config" / "SapiensStudio" / "Sapiens Studio.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[{section}]\n" + "".join(f"{k}={v}\n" for k, v in values.items()))


def image_in(folder: Path) -> Path:
    """The sample image alone in its folder (results land in <folder>/sapiens_studio/ and would be reloaded)."""
    folder.mkdir(parents=True)
    return Path(shutil.copy(ROOT / "resources" / "astronaut.png", folder / "astronaut.png"))


def read_png(path: Path) -> np.ndarray:
    assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"{path} does not decode"
    return image


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error:")]


def test_screenshot_shows_the_models_overlay(tmp_path, tiny_checkpoints):
    with_models = image_in(tmp_path / "run")
    plain = image_in(tmp_path / "plain")
    shot, plain_shot = tmp_path / "shots" / "run.png", tmp_path / "shots" / "plain.png"

    result = run_app(
        [
            with_models,
            "--pose",
            tiny_checkpoints["pose"],
            "--seg",
            tiny_checkpoints["seg"],
            "--device",
            "cpu",
            "--screenshot",
            shot,
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert f"screenshot saved to {shot}" in result.stdout
    assert (with_models.parent / "sapiens_studio" / "astronaut.json").is_file()  # the models ran

    write_preferences(tmp_path, "models", quick_pose="off")  # no models at all, not even the quick default
    plain_result = run_app([plain, "--screenshot", plain_shot], tmp_path)
    assert plain_result.returncode == 0, plain_result.stderr
    assert not (plain.parent / "sapiens_studio").exists()

    overlay, photo = read_png(shot), read_png(plain_shot)
    assert overlay.shape == photo.shape == (WINDOW_SIZE[1], WINDOW_SIZE[0], 3)
    assert photo.std() > 10  # a real window with the photo in it, not a blank grab
    changed = np.abs(overlay.astype(int) - photo.astype(int)).max(axis=2) > 24
    # The part map covers the whole 512x512 photo, fitted into the canvas: a large share of the window.
    assert changed.mean() > 0.15
    ys, xs = np.nonzero(changed)
    cy, cx = np.median(ys) / WINDOW_SIZE[1], np.median(xs) / WINDOW_SIZE[0]
    assert 0.3 < cx < 0.7 and 0.3 < cy < 0.7, "the change should sit on the canvas, in the middle of the window"


def test_a_fresh_install_runs_the_quick_pose_model(tmp_path):
    from sapiens_core.quick import quick_available

    if not quick_available():
        pytest.skip("mediapipe 0.10.14 is not installed")
    image = image_in(tmp_path / "fresh")
    result = run_app([image, "--screenshot", tmp_path / "fresh.png"], tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads((image.parent / "sapiens_studio" / "astronaut.json").read_text())
    assert doc["models"]["pose"]["file"] == "quick" and doc["models"]["pose"]["format"] == "mediapipe-holistic"
    assert len(doc["persons"]) == 1


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory, tiny_checkpoints):
    """The app started with a missing and with a truncated pose checkpoint: {case: (checkpoint, shot, result)}."""
    home = tmp_path_factory.mktemp("bad_checkpoint")
    truncated = home / "truncated_pose.pt2"
    truncated.write_bytes(Path(tiny_checkpoints["pose"]).read_bytes()[:4096])
    runs = {}
    for case, ckpt in (("missing", home / "no_such_model.pt2"), ("truncated", truncated)):
        image = image_in(home / case)
        shot = home / f"{case}.png"
        runs[case] = (ckpt, shot, run_app([image, "--pose", ckpt, "--screenshot", shot], home))
    return runs


@pytest.mark.parametrize("case", ["missing", "truncated"])
def test_a_bad_checkpoint_exits_non_zero_with_one_line(bad_runs, case):
    ckpt, shot, result = bad_runs[case]
    assert result.returncode != 0
    assert not shot.exists()
    lines = error_lines(result)
    assert len(lines) == 1, result.stdout + result.stderr
    assert ckpt.name in lines[0]
    assert ("does not exist" if case == "missing" else "corrupt") in lines[0]


def test_a_bad_checkpoint_prints_no_traceback(bad_runs):
    for _ckpt, _shot, result in bad_runs.values():
        assert "Traceback" not in result.stderr


def test_quick_and_a_pose_checkpoint_exclude_each_other(tmp_path, capsys):
    from app.__main__ import build_parser

    assert build_parser().parse_args(["a.png", "--quick", "--seg", "s.pt2"]).quick
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["a.png", "--quick", "--pose", "p.pt2"])
    assert exit_info.value.code == 2 and "not allowed with" in capsys.readouterr().err


def test_a_model_that_fails_on_the_image_exits_1_without_a_screenshot(tmp_path, tiny_checkpoints):
    image = image_in(tmp_path / "wrong")
    shot = tmp_path / "wrong.png"
    # A segmentation model given as the pose model loads, then fails on the image (its outputs are no keypoints).
    result = run_app([image, "--pose", tiny_checkpoints["seg"], "--device", "cpu", "--screenshot", shot], tmp_path)
    assert result.returncode == 1 and not shot.exists()
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith("error: astronaut.png: ") and "pose model" in lines[0], lines
