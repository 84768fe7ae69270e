"""The progress of a whole torchrun launch: each rank publishes its count, rank 0 prints the sum (images done of
the total, images/s, ETA) with its own lines and once more when every rank is done."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from sapiens_core.batch.progress_files import read_launch_progress
from sapiens_core.batch.shard import Rank
from sapiens_core.batch.state import STATE_DIR, RunState
from sapiens_core.batch.timing import Progress
from tests.core.trivial_models import save_trivial_models

ROOT = Path(__file__).resolve().parents[2]


def test_rank_0_prints_the_sum_of_every_ranks_progress(tmp_path):
    streams = [io.StringIO(), io.StringIO()]
    ranks = [
        Progress(5, "rank 0/2", streams[0], bar=False, every_s=0, folder=tmp_path, rank=Rank(0, 2), write_s=0),
        Progress(4, "rank 1/2", streams[1], bar=False, every_s=0, folder=tmp_path, rank=Rank(1, 2), write_s=0),
    ]
    ranks[1].update(3)
    time.sleep(0.05)  # a measurable time for images/s
    ranks[0].update(1)
    lines = streams[0].getvalue().splitlines()
    assert lines[0].startswith("rank 0/2: 1/5 images")
    assert lines[1].startswith("total (2 ranks): 4/9 images, ") and "ETA" in lines[1]
    rate = float(lines[1].split(", ")[1].split()[0])
    assert rate > 0
    # Rank 1 prints its own line only: the total is rank 0's to print.
    assert all(line.startswith("rank 1/2: ") for line in streams[1].getvalue().splitlines())
    for progress in ranks:
        progress.update(progress.total - progress.done)
        progress.close()
    final = read_launch_progress(tmp_path, 2)
    assert (final.done, final.total, final.ranks) == (9, 9, 2)
    assert "9/9 images" in final.line() and "ETA 0.0 min" in final.line()


def test_a_rank_not_yet_started_is_named_and_a_larger_launchs_file_is_not_counted(tmp_path):
    folder = tmp_path / STATE_DIR
    folder.mkdir()
    # A file of rank 2, left by a launch of three ranks: this launch has two.
    (folder / "progress-00002.json").write_text(json.dumps({"done": 7, "total": 7, "started": 0, "updated": 1}))
    state = RunState(tmp_path, Rank(0, 2))
    state.start({}, started=time.time())
    state.close()
    assert not (folder / "progress-00002.json").exists()
    stream = io.StringIO()
    Progress(3, "rank 0/2", stream, bar=False, every_s=0, folder=folder, rank=Rank(0, 2), write_s=0).update()
    assert stream.getvalue().splitlines()[1].startswith("total (2 ranks): 1/3 images")
    assert stream.getvalue().splitlines()[1].endswith(", 1 of 2 ranks reporting")


def test_one_process_publishes_nothing(tmp_path):
    progress = Progress(2, "predict", io.StringIO(), bar=False, every_s=0, folder=tmp_path, rank=Rank(), write_s=0)
    progress.update(2)
    progress.close()
    assert list(tmp_path.iterdir()) == []


def test_two_torchrun_ranks_report_the_launch_total(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(7):
        (tmp_path / "in").mkdir(exist_ok=True)
        assert cv2.imwrite(str(tmp_path / "in" / f"img{i}.png"), rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
    pose = save_trivial_models(tmp_path / "models")["pose"]
    out = tmp_path / "out"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    command += ["-m", "sapiens_core", "predict", str(tmp_path / "in"), "--out", str(out), "--device", "cpu"]
    command += ["--pose", str(pose), "--no-overlay", "--workers", "0", "--writers", "0"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    totals = [line for line in proc.stdout.splitlines() if line.startswith("total (2 ranks): ")]
    assert len(totals) == 1 and totals[0].startswith("total (2 ranks): 7/7 images, "), proc.stdout
    shares = [json.loads((out / STATE_DIR / f"progress-{r:05d}.json").read_text()) for r in (0, 1)]
    assert [(s["done"], s["total"]) for s in shares] == [(4, 4), (3, 3)]
