"""Two DDP processes on the CPU (gloo) under torchrun: the run completes and both ranks end with identical weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from trainer.loop import METRICS_NAME


def test_two_process_gloo_run(four_image_export, tmp_path):
    run = tmp_path / "ddp"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-port",
        "29531",
        "-m",
        "trainer",
        "finetune",
        "--task",
        "seg",
        "--arch",
        "sapiens_tiny",
        "--data",
        str(four_image_export),
        "--out",
        str(run),
        "--epochs",
        "1",
        "--batch-size",
        "1",
        "--input-size",
        "96",
        "128",
        "--no-augment",
        "--device",
        "cpu",
        "--warmup",
        "0",
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in (run / METRICS_NAME).read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [1, 2]  # 4 images, 2 ranks, batch 1: 2 steps each
    final = [r for r in records if "ranks_identical" in r]
    assert final and final[-1]["ranks_identical"] and final[-1]["world_size"] == 2
    assert (run / "final.pth").is_file()
