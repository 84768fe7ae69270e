"""Sapiens2 recipes: a tiny v2 pose and seg finetune learn on the CPU and export a file the app's backends open;
--init takes original-layout safetensors strictly; layer decay groups; activation checkpointing and FSDP units."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from sapiens_core.backends import open_backend
from sapiens_core.errors import CheckpointError, SapiensError
from sapiens_core.nn import build_model
from sapiens_core.nn.family import model_for_state_dict
from trainer.checkpoint import FINAL_NAME, load_trainer_checkpoint
from trainer.data import read_source
from trainer.export import export_model
from trainer.init import load_init
from trainer.loop import finetune
from trainer.models import build_training_model, resolve_arch, transformer_blocks
from trainer.optim import default_layer_decay, param_groups
from trainer.wrap import enable_activation_checkpointing

from .helpers import tiny_config

TINY2 = resolve_arch("sapiens2_tiny")


def _exported_outputs(run, tmp_path, task):
    model_path, card_path = export_model(run, None, tmp_path / "models")
    assert model_path.suffix == ".safetensors"
    card = json.loads(card_path.read_text())
    x = torch.randn(1, 3, 1024, 768, generator=torch.Generator().manual_seed(0))
    with open_backend(model_path, device="cpu") as backend:
        assert (backend.family, backend.task) == ("sapiens2", task)
        out = backend.infer(x.numpy())
    state, _ = load_trainer_checkpoint(run / FINAL_NAME)
    trained = model_for_state_dict(state, task=task)
    np.testing.assert_allclose(out, trained(x).detach().numpy(), atol=1e-4)
    return out, card


def test_tiny_sapiens2_pose_learns_and_exports_a_model_the_backends_open(one_image_export, tmp_path):
    run = tmp_path / "pose2"
    summary = finetune(tiny_config(one_image_export, run, arch="sapiens2_tiny", epochs=20))
    losses = summary["losses"]
    # Heatmap MSE is mostly background: the tiny model's loss falls steadily, by about a quarter in 20 steps.
    assert len(losses) == 20 and np.mean(losses[-3:]) < 0.8 * losses[0] and np.mean(losses[-5:]) < np.mean(losses[:5])
    _, meta = load_trainer_checkpoint(run / FINAL_NAME)
    assert (meta["arch"], meta["family"]) == ("sapiens2_tiny", "sapiens2")
    out, card = _exported_outputs(run, tmp_path, "pose")
    assert out.shape == (1, 308, 256, 192)  # 1/4 of the input, as the released pose heads
    assert card["family"] == "sapiens2" and card["keypoint_schema"]["name"] == "goliath_308"
    assert "licence" not in card  # random init: no Sapiens2 weights in it


def test_tiny_sapiens2_seg_trains_29_classes_from_v1_labels(one_image_export, tmp_path):
    # The fixture's part maps are v1 (sapiens_28): Face_Neck 2, Hair 3, Left_Foot 4 are 3, 4, 5 in Sapiens2's set.
    v1 = read_source(one_image_export, "seg", None)
    v2 = read_source(one_image_export, "seg", None, class_set="sapiens2_29")
    assert set(np.unique(v1.samples[0].layer)) == {0, 2, 3, 4}
    assert set(np.unique(v2.samples[0].layer)) == {0, 3, 4, 5}
    run = tmp_path / "seg2"
    summary = finetune(tiny_config(one_image_export, run, task="seg", arch="sapiens2_tiny", epochs=15, lr=5e-3))
    losses = summary["losses"]
    assert np.mean(losses[-3:]) < 0.85 * losses[0] and np.mean(losses[-5:]) < np.mean(losses[:5])
    out, card = _exported_outputs(run, tmp_path, "seg")
    assert out.shape == (1, 29, 1024, 768) and card["class_schema"] == "sapiens2_29"


def test_export_refuses_traced_formats_for_sapiens2(one_image_export, tmp_path):
    run = tmp_path / "run"
    finetune(tiny_config(one_image_export, run, arch="sapiens2_tiny", task="normal", epochs=1))
    with pytest.raises(SapiensError, match="safetensors only"):
        export_model(run, "torchscript", tmp_path / "models")


def test_sapiens2_has_no_depth_recipe(one_image_export, tmp_path):
    with pytest.raises(SapiensError, match="no Sapiens2 recipe"):
        finetune(tiny_config(one_image_export, tmp_path / "run", arch="sapiens2_tiny", task="depth"))


def test_layer_decay_groups_by_hand():
    model = build_training_model("pose", TINY2)  # 3 blocks: layer ids 0 (embeddings), 1..3 (blocks), 4 (rest)
    groups = param_groups(model, TINY2.num_layers, lr=1.0, weight_decay=0.1, layer_decay=0.5)
    by_name = {name: (g["lr"], g["weight_decay"]) for g in groups for name in g["names"]}
    assert by_name["backbone.patch_embed.projection.weight"] == (0.5**4, 0.1)
    assert by_name["backbone.cls_token"] == (0.5**4, 0.0)  # a learned token: never decayed
    assert by_name["backbone.storage_tokens"] == (0.5**4, 0.0)
    assert by_name["backbone.blocks.0.attn.wq.weight"] == (0.5**3, 0.1)
    assert by_name["backbone.blocks.1.ffn.w12.bias"] == (0.5**2, 0.0)
    assert by_name["backbone.blocks.2.attn.gamma.weight"] == (0.5**1, 0.0)  # 1-D
    assert by_name["backbone.ln1.weight"] == (1.0, 0.0)  # the final norm, not a block's ln1
    assert by_name["decode_head.conv_pose.weight"] == (1.0, 0.1)
    assert len(by_name) == len(list(model.parameters()))  # rope periods is a buffer, not trained
    # The spec's per-size rates for Sapiens2, every task; v1's 1b pose rate stays its own.
    rates = [default_layer_decay("seg", size, None, "sapiens2") for size in ("0.4b", "0.8b", "1b", "5b")]
    assert rates == [0.8, 0.85, 0.9, 0.94]
    assert default_layer_decay("pose", "1b", "goliath_308", "sapiens") == 0.95


def _save(state: dict, path) -> None:
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))


def test_init_from_original_layout_safetensors(tmp_path):
    torch.manual_seed(1)
    released = build_training_model("pose", TINY2)
    pretrain = tmp_path / "sapiens2_tiny_pretrain.safetensors"  # released pretrain files carry no prefix
    _save(released.backbone.state_dict(), pretrain)
    task_file = tmp_path / "sapiens2_tiny_pose.safetensors"
    _save(released.state_dict(), task_file)

    model = build_training_model("pose", TINY2)
    assert "pretrain backbone" in load_init(model, pretrain)
    for key, value in released.backbone.state_dict().items():
        assert torch.equal(model.backbone.state_dict()[key], value), key

    model = build_training_model("pose", TINY2)
    load_init(model, task_file)
    for key, value in released.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key

    state = released.state_dict()
    del state["backbone.blocks.1.attn.wk.bias"]
    state["decode_head.extra.weight"] = torch.zeros(1)
    broken = tmp_path / "broken.safetensors"
    _save(state, broken)
    with pytest.raises(CheckpointError, match=r"missing: backbone\.blocks\.1\.attn\.wk\.bias.*unexpected"):
        load_init(build_training_model("pose", TINY2), broken)

    v1_file = tmp_path / "v1.safetensors"
    _save(build_model("pose", "sapiens_tiny").state_dict(), v1_file)
    with pytest.raises(CheckpointError, match="Sapiens v1 checkpoint.*--arch sapiens_SIZE"):
        load_init(build_training_model("pose", TINY2), v1_file)


def test_activation_checkpointing_passes_the_rope_tables_through():
    torch.manual_seed(0)
    plain = build_training_model("seg", TINY2).train()
    checkpointed = build_training_model("seg", TINY2).train()
    checkpointed.load_state_dict(plain.state_dict())
    enable_activation_checkpointing(checkpointed)
    x = torch.randn(1, 3, 64, 48)
    plain(x).square().mean().backward()
    checkpointed(x).square().mean().backward()
    for (name, a), b in zip(plain.named_parameters(), checkpointed.parameters()):
        torch.testing.assert_close(a.grad, b.grad, msg=name)


def test_fsdp_shards_every_sapiens2_block(tmp_path):
    """FSDP2 in one CPU process (gloo): each Sapiens2 block is its own unit, the root the rest; a step runs."""
    import torch.distributed as dist
    from torch.distributed.fsdp import FSDPModule

    from trainer.sharded import shard_model

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        model = shard_model(build_training_model("pose", TINY2).train())
        blocks = transformer_blocks(model)
        assert len(blocks) == 3 and all(isinstance(block, FSDPModule) for block in blocks)
        assert isinstance(model, FSDPModule)
        model(torch.randn(1, 3, 64, 48)).square().mean().backward()
        assert all(p.grad is not None for p in model.parameters())
    finally:
        dist.destroy_process_group()


def test_a_model_finetuned_from_sapiens2_weights_carries_the_licence(one_image_export, tmp_path):
    from sapiens_core.cards import read_trained_card

    torch.manual_seed(2)
    task_file = tmp_path / "sapiens2_tiny_normal.safetensors"
    _save(build_training_model("normal", TINY2).state_dict(), task_file)
    run = tmp_path / "run"
    finetune(tiny_config(one_image_export, run, task="normal", arch="sapiens2_tiny", init=str(task_file)))
    model_path, card_path = export_model(run, None, tmp_path / "models")
    assert json.loads(card_path.read_text())["licence"] == "Sapiens2 License"
    assert read_trained_card(model_path).describe()["licence"] == "Sapiens2 License"
