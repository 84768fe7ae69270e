"""A large image costs ``predict`` about one decoded copy of it in the main process, also when a loader worker
decodes it (the image crosses to the main process in shared memory, not pickled: that added two copies).

Peak memory is the kernel's high-water mark (``VmHWM``) of the real ``predict`` process, polled; the bound is a
generous behaviour bound: over a small image's run, the pickled path cost 1.8 images more, this one 0.5 (the
shared pages the main process touches).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.core.trivial_models import save_trivial_models

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="peak memory read from Linux /proc")


def _high_water_mark(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _peak_of_predict(image: Path, out: Path, pose: Path) -> int:
    command = [sys.executable, "-m", "sapiens_core", "predict", str(image), "--out", str(out), "--device", "cpu"]
    command += ["--pose", str(pose), "--no-overlay", "--workers", "1"]
    proc = subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _high_water_mark(proc.pid) or 0)
        time.sleep(0.02)
    assert proc.wait() == 0, proc.stderr.read().decode()[-2000:]
    assert (out / f"{image.stem}.json").is_file()
    return peak


def test_a_large_image_costs_predict_about_one_copy_of_it(tmp_path):
    pose = save_trivial_models(tmp_path / "models")["pose"]
    h, w = 7000, 7000  # 147 MB decoded; a PNG of flat areas is small on disk (as the 1.2 MB scans of the issue)
    big = np.zeros((h, w, 3), np.uint8)
    big[h // 4 : 3 * h // 4, w // 3 : 2 * w // 3] = (40, 90, 200)
    (tmp_path / "big").mkdir()
    assert cv2.imwrite(str(tmp_path / "big" / "scan.png"), big)
    del big
    (tmp_path / "small").mkdir()
    assert cv2.imwrite(str(tmp_path / "small" / "scan.png"), np.zeros((64, 48, 3), np.uint8))
    image_bytes = h * w * 3
    baseline = _peak_of_predict(tmp_path / "small" / "scan.png", tmp_path / "out_small", pose)
    peak = _peak_of_predict(tmp_path / "big" / "scan.png", tmp_path / "out_big", pose)
    extra = (peak - baseline) / image_bytes
    assert extra < 1.2, f"the large image cost {extra:.2f} copies of itself in the main process"
