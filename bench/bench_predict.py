"""``predict`` pipelined (loader worker processes decode and preprocess, writer threads save) against the same run
strictly sequential (``--workers 0 --writers 0``), over 200 photos with a small pose + seg model on the CPU.

Prints each run's wall time, images/s, stage times and overlap ratio (sum of stage times / wall time: 1.0 means
nothing overlapped), and the ratio of the two wall times. Both runs write identical documents; only the schedule
differs. On a machine with few cores the model's forward already uses them all, so the gain there is bounded by
how much of the time is decoding and writing.

    python -m bench bench_predict          # BENCH_IMAGES=200, BENCH_DIM=64 (the model's embedding width)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import torch

from sapiens_core.nn import ArchSpec, build_model

ROOT = Path(__file__).resolve().parent.parent


def _models(folder: Path, dim: int) -> dict[str, Path]:
    torch.manual_seed(0)
    arch = ArchSpec(f"bench-{dim}x1", dim, 1, max(1, dim // 64))
    files = {}
    for task, outputs in (("pose", 308), ("seg", 28)):
        model = build_model(task, arch, num_outputs=outputs, head_channels=16).eval()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(model, torch.randn(1, 3, 1024, 768), check_trace=False)
        files[task] = folder / f"bench_{task}_torchscript.pt2"
        torch.jit.save(traced, str(files[task]))
    return files


def _photos(folder: Path, count: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(count):
        h, w = (480, 640) if i % 2 else (640, 480)
        img = cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (9, 9), 3)
        cv2.rectangle(img, (w // 3, h // 5), (2 * w // 3, 9 * h // 10), (40, 180, 230), -1)
        cv2.imwrite(str(folder / f"photo{i:04d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])


def _run(inputs: Path, out: Path, models: dict, schedule: list[str]) -> tuple[float, str]:
    command = [sys.executable, "-m", "sapiens_core", "predict", str(inputs), "--out", str(out), "--device", "cpu"]
    command += ["--pose", str(models["pose"]), "--seg", str(models["seg"]), "--batch-size", "2", *schedule]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env={**os.environ})
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"predict failed: {proc.stderr[-500:]}")
    summary = next(line for line in proc.stdout.splitlines() if "overlap" in line)
    return wall, summary


def main() -> None:
    count = int(os.environ.get("BENCH_IMAGES", "200"))
    dim = int(os.environ.get("BENCH_DIM", "64"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "in").mkdir()
        _photos(folder / "in", count)
        models = _models(folder, dim)
        runs = {}
        for name, schedule in (("sequential", ["--workers", "0", "--writers", "0"]), ("pipelined", [])):
            runs[name] = _run(folder / "in", folder / name, models, schedule)
            wall, summary = runs[name]
            overlap = float(re.search(r"overlap ([0-9.]+)", summary).group(1))
            print(f"{name:>10}: {wall:6.1f} s process wall, overlap {overlap:.2f} | {summary}", flush=True)
        print(f"pipelined / sequential wall time: {runs['pipelined'][0] / runs['sequential'][0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
