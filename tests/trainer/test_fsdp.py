"""FSDP2 on the CPU (gloo) under torchrun: a sharded run stops, resumes from its shard folder, and its full-weight
checkpoint and exported model hold exactly what the shards hold."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import pytest
import torch

from sapiens_core.errors import SapiensError
from trainer.checkpoint import load_trainer_checkpoint
from trainer.export import export_model
from trainer.loop import METRICS_NAME, finetune
from trainer.sharded import SHARDED_DIR, SafeFileSystemReader, load_model_shards

from .helpers import tiny_config


def _torchrun(*args: str, port: int) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", str(port)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(
        [*command, "-m", "trainer", "finetune", *args], capture_output=True, text=True, timeout=300, env=env
    )


def test_sharded_run_resumes_and_exports_the_gathered_weights(four_image_export, tmp_path):
    run = tmp_path / "fsdp"
    options = ["--task", "seg", "--arch", "sapiens_tiny", "--data", str(four_image_export), "--out", str(run)]
    options += ["--val", str(four_image_export), "--epochs", "1", "--batch-size", "1", "--input-size", "96", "128"]
    options += ["--no-augment", "--device", "cpu", "--warmup", "0", "--fsdp", "--activation-checkpointing"]
    first = _torchrun(*options, "--stop-after", "1", port=29533)
    assert first.returncode == 0, first.stderr[-2000:]
    _, meta = load_trainer_checkpoint(run / "last.pth")
    assert meta["sharded"] == f"{SHARDED_DIR}/step_00000001" and "optimizer" not in meta
    assert {p.name for p in (run / meta["sharded"]).iterdir()} >= {".metadata", "__0_0.distcp", "__1_0.distcp"}

    second = _torchrun("--out", str(run), "--resume", port=29534)  # every other option from config.json
    assert second.returncode == 0, second.stderr[-2000:]
    records = [json.loads(line) for line in (run / METRICS_NAME).read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [1, 2]  # 4 images, 2 ranks, batch 1
    assert sum("eval" in r for r in records) == 2  # before the first step and after the epoch (all ranks run it)
    last, meta = load_trainer_checkpoint(run / "last.pth")
    assert [p.name for p in (run / SHARDED_DIR).iterdir()] == ["step_00000002"]  # older shard folders dropped

    final, _ = load_trainer_checkpoint(run / "final.pth")
    shards = load_model_shards(run / meta["sharded"], {k: torch.zeros_like(v) for k, v in final.items()})
    for key, value in final.items():
        assert torch.equal(shards[key], value), key
        assert torch.equal(last[key], value), key

    model_path, _ = export_model(run, "torchscript", tmp_path / "models")
    exported = torch.jit.load(str(model_path)).state_dict()
    for key, value in final.items():
        assert torch.equal(exported[key], value), key


def test_fsdp_without_torchrun_says_how_to_launch(one_image_export, tmp_path):
    with pytest.raises(SapiensError, match="torchrun --nproc-per-node"):
        finetune(tiny_config(one_image_export, tmp_path / "run", fsdp=True))


def test_shard_metadata_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    folder = tmp_path / "shards"
    folder.mkdir()
    (folder / ".metadata").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(SapiensError, match="refused"):
        SafeFileSystemReader(str(folder)).read_metadata()
    assert not marker.exists()
