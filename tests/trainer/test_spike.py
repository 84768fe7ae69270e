"""The skip-batch guard of the official pose models: a NaN loss or one over 25x the last accepted batch's is skipped
(no weight update) and counted; off by default for the dense tasks, and switchable."""

from __future__ import annotations

import json
import math

import torch

from trainer import loop
from trainer.checkpoint import load_trainer_checkpoint
from trainer.loop import METRICS_NAME, finetune
from trainer.spike import SpikeGuard, default_factor

from .helpers import tiny_config


def test_guard_verdicts():
    guard = SpikeGuard(25.0)
    assert not guard.is_spike(100.0)  # nothing accepted yet: only NaN/inf count
    guard.settle(2.0, skipped=False)
    assert not guard.is_spike(50.0) and guard.is_spike(50.1) and guard.is_spike(math.nan) and guard.is_spike(math.inf)
    guard.settle(60.0, skipped=True)
    assert guard.state_dict() == {"last_accepted": 2.0, "skipped": 1}  # a skipped loss is no new reference
    assert not SpikeGuard(0.0).is_spike(math.nan)
    assert default_factor("pose") == 25.0 and default_factor("seg") == 0.0


def _spiking_loss(monkeypatch, at_call: int, factor: float = 1000.0):
    calls = {"n": 0}
    real = loop.task_loss

    def spiking(*args, **kwargs):
        calls["n"] += 1
        loss = real(*args, **kwargs)
        return loss * factor if calls["n"] == at_call else loss

    monkeypatch.setattr(loop, "task_loss", spiking)


def _run(data, out, **options):
    finetune(tiny_config(data, out, epochs=3, stop_after=2, **options))
    records = [json.loads(line) for line in (out / METRICS_NAME).read_text().splitlines()]
    return load_trainer_checkpoint(out / "last.pth")[0], [r["skipped_batches"] for r in records if "loss" in r]


def test_a_spiking_pose_batch_leaves_the_weights_alone(one_image_export, tmp_path, monkeypatch):
    reference = finetune(tiny_config(one_image_export, tmp_path / "one", epochs=3, stop_after=1))
    assert reference["steps"] == 1
    after_one, _ = load_trainer_checkpoint(tmp_path / "one" / "last.pth")
    _spiking_loss(monkeypatch, at_call=2)
    guarded, skipped = _run(one_image_export, tmp_path / "guarded")
    assert skipped == [0, 1]
    for key, value in after_one.items():
        assert torch.equal(guarded[key], value), key
    _spiking_loss(monkeypatch, at_call=2)
    unguarded, skipped = _run(one_image_export, tmp_path / "off", loss_spike_factor=0.0)
    assert skipped == [0, 0]
    assert not torch.equal(unguarded["head.final_layer.weight"], after_one["head.final_layer.weight"])
