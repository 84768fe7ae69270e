"""--init from official-style files through the safe loader, refusals, and exact resume."""

from __future__ import annotations

import json

import pytest
import torch

from sapiens_core.errors import CheckpointError, UnsafeCheckpointError
from sapiens_core.nn import build_model
from tests.tiny_models import fake_mmengine, write_malicious_pth
from trainer.cli import main
from trainer.config import CONFIG_NAME
from trainer.init import load_init
from trainer.loop import METRICS_NAME, finetune

from .helpers import tiny_config


def _official_pth(model, path):
    """An official-style task .pth: weights plus an mmengine ConfigDict (and numpy values) in meta."""
    import numpy as np

    with fake_mmengine() as config_dict:
        meta = {"cfg": config_dict(type="TopdownPoseEstimator"), "seed": np.int64(0)}
        torch.save({"state_dict": model.state_dict(), "meta": meta}, path)
    return path


def test_official_task_pth_loads(tmp_path):
    source = build_model("pose", "sapiens_tiny")
    path = _official_pth(source, tmp_path / "sapiens_tiny_goliath.pth")
    target = build_model("pose", "sapiens_tiny")
    load_init(target, path)
    for key, value in source.state_dict().items():
        torch.testing.assert_close(target.state_dict()[key], value)


def test_pretrain_clean_pth_drops_cls_and_resizes_the_grid(tmp_path):
    backbone = build_model("seg", "sapiens_tiny").backbone.state_dict()
    clean = {k: v for k, v in backbone.items() if k != "pos_embed"}
    clean["cls_token"] = torch.zeros(1, 1, 64)
    clean["pos_embed"] = torch.randn(1, 1 + 64 * 64, 64)  # CLS + the 64x64 grid of 1024x1024 pretraining
    torch.save(clean, tmp_path / "sapiens_tiny_clean.pth")
    model = build_model("seg", "sapiens_tiny")
    note = load_init(model, tmp_path / "sapiens_tiny_clean.pth")
    assert "pretrain" in note and model.backbone.pos_embed.shape == (1, 3072, 64)
    torch.testing.assert_close(model.backbone.layers[0].attn.qkv.weight, clean["layers.0.attn.qkv.weight"])


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = write_malicious_pth(tmp_path / "evil.pth", marker)
    with pytest.raises(UnsafeCheckpointError):
        load_init(build_model("pose", "sapiens_tiny"), path)
    assert not marker.exists()


def test_checkpoint_of_another_arch_is_refused_with_its_keys(tmp_path):
    other = build_model("pose", "sapiens_tiny")
    state = {k: v for k, v in other.state_dict().items() if not k.startswith("backbone.layers.1.")}
    state["backbone.extra.weight"] = torch.zeros(2)
    torch.save({"state_dict": state, "meta": {}}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError) as info:
        load_init(build_model("pose", "sapiens_tiny"), tmp_path / "other.pth")
    text = str(info.value)
    assert "missing: backbone.layers.1.ln1.weight" in text and "unexpected: backbone.extra.weight" in text


def _losses(run_dir):
    records = [json.loads(line) for line in (run_dir / METRICS_NAME).read_text().splitlines()]
    return {r["step"]: r["loss"] for r in records if "loss" in r}


def test_interrupted_and_resumed_run_repeats_the_loss_curve(four_image_export, tmp_path):
    # Augmentations on, a decaying schedule and dropout (seg head): everything a resume must restore.
    options = dict(task="seg", epochs=3, batch_size=2, augment=True, schedule="poly", warmup=2, lr=1e-3)
    full = finetune(tiny_config(four_image_export, tmp_path / "full", **options))
    assert len(full["losses"]) == 6
    cut = finetune(tiny_config(four_image_export, tmp_path / "cut", stop_after=3, **options))
    assert cut["stopped"] and cut["steps"] == 3
    # Resume from the command line: the run folder's config.json supplies every option.
    assert json.loads((tmp_path / "cut" / CONFIG_NAME).read_text())["stop_after"] == 3
    assert main(["finetune", "--out", str(tmp_path / "cut"), "--resume"]) == 0
    assert _losses(tmp_path / "cut") == _losses(tmp_path / "full")
