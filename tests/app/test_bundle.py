"""The PyInstaller bundle (``make bundle``) builds, starts without a Python installation's help and predicts.

Takes several minutes and about 2 GB of disk: runs only with ``SAPIENS_SLOW_TESTS=1``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.app.test_screenshot_cli import WINDOW_SIZE, app_env, image_in, read_png, run_app

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "app" / "packaging" / "sapiens_studio.spec"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("SAPIENS_SLOW_TESTS") != "1", reason="set SAPIENS_SLOW_TESTS=1 to build the bundle"
    ),
]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """Build the one-folder bundle into a temporary dist folder; returns its executable."""
    pytest.importorskip("PyInstaller")
    work = tmp_path_factory.mktemp("pyinstaller")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(work / "dist"),
            "--workpath",
            str(work / "build"),
            str(SPEC),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    exe = work / "dist" / "sapiens-studio" / ("sapiens-studio.exe" if os.name == "nt" else "sapiens-studio")
    assert exe.is_file() and os.access(exe, os.X_OK)
    return exe


def test_bundled_app_takes_the_same_screenshot_as_the_source(bundle, tmp_path, tiny_checkpoints):
    image = image_in(tmp_path / "bundled")
    shot = tmp_path / "bundled.png"
    env = app_env(tmp_path)
    env.pop("PYTHONPATH", None)  # the bundle must carry its own modules
    result = subprocess.run(
        [
            str(bundle),
            str(image),
            "--pose",
            tiny_checkpoints["pose"],
            "--seg",
            tiny_checkpoints["seg"],
            "--device",
            "cpu",
            "--screenshot",
            str(shot),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (image.parent / "sapiens_studio" / "astronaut.json").is_file()
    bundled = read_png(shot)
    assert bundled.shape == (WINDOW_SIZE[1], WINDOW_SIZE[0], 3)

    source_image = image_in(tmp_path / "source")
    source_shot = tmp_path / "source.png"
    source = run_app(
        [
            source_image,
            "--pose",
            tiny_checkpoints["pose"],
            "--seg",
            tiny_checkpoints["seg"],
            "--device",
            "cpu",
            "--screenshot",
            source_shot,
        ],
        tmp_path,
    )
    assert source.returncode == 0, source.stderr
    # Same models, same schemas and palettes, same window: the same picture.
    difference = np.abs(bundled.astype(int) - read_png(source_shot).astype(int))
    assert difference.mean() < 0.5, "the bundled app draws something else than the source"


def test_bundled_app_reports_a_bad_checkpoint(bundle, tmp_path):
    image = image_in(tmp_path / "bad")
    result = subprocess.run(
        [str(bundle), str(image), "--pose", str(tmp_path / "missing.pt2"), "--screenshot", str(tmp_path / "never.png")],
        cwd=tmp_path,
        env=app_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "error: " in result.stderr and "missing.pt2 does not exist" in result.stderr


def test_bundled_app_runs_the_quick_pose_model_with_no_checkpoint(bundle, tmp_path):
    """A person who downloads the bundle has no checkpoint yet: the quick model's files must travel with it."""
    from sapiens_core.quick import quick_available

    if not quick_available():
        pytest.skip("mediapipe 0.10.14 is not installed here, so the bundle carries no quick model")
    image = image_in(tmp_path / "fresh")
    env = app_env(tmp_path)
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [str(bundle), str(image), "--screenshot", str(tmp_path / "fresh.png")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads((image.parent / "sapiens_studio" / "astronaut.json").read_text())
    assert doc["models"]["pose"]["file"] == "quick" and len(doc["persons"]) == 1
