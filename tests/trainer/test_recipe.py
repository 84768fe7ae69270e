"""Optimizer groups, schedule and losses of the official recipe."""

from __future__ import annotations

import pytest
import torch

from sapiens_core.nn import build_model
from trainer.losses import keypoint_mse, normal_loss, silog, weighted_cross_entropy
from trainer.optim import build_optimizer, default_layer_decay, param_groups, schedule_factor


def test_layer_decay_and_no_decay_groups():
    model = build_model("pose", "sapiens_tiny", num_outputs=5)
    groups = param_groups(model, 2, lr=1.0, weight_decay=0.1, layer_decay=0.5)
    by_name = {name: g for g in groups for name in g["names"]}
    assert by_name["head.final_layer.weight"]["lr"] == 1.0
    assert by_name["backbone.ln1.weight"]["weight_decay"] == 0.0
    assert by_name["backbone.layers.1.attn.qkv.weight"]["lr"] == 0.5
    assert by_name["backbone.layers.0.attn.qkv.weight"]["lr"] == 0.25
    assert by_name["backbone.patch_embed.projection.weight"]["lr"] == 0.125
    assert by_name["backbone.patch_embed.projection.weight"]["weight_decay"] == 0.1
    assert by_name["backbone.pos_embed"]["weight_decay"] == 0.0
    assert by_name["backbone.layers.0.attn.qkv.bias"]["weight_decay"] == 0.0
    assert len(by_name) == len(list(model.parameters()))
    optimizer = build_optimizer(model, 2, lr=1e-3)
    assert optimizer.defaults["betas"] == (0.9, 0.999)
    assert default_layer_decay("pose", "1b", "goliath_308") == 0.95
    assert default_layer_decay("seg", "1b") == 0.85


def test_schedule():
    assert schedule_factor(0, 100, 10) == pytest.approx(1e-3)
    assert schedule_factor(10, 100, 10) == pytest.approx(0.9)
    assert schedule_factor(100, 100, 10, "poly") == 0
    assert schedule_factor(85, 100, 10, "multistep", (170 / 210, 200 / 210)) == pytest.approx(0.1)
    assert schedule_factor(50, 100, 0, "constant") == 1


def test_losses():
    target = torch.zeros(2, 3, 4, 4)
    target[:, :, 1, 1] = 1
    weights = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    assert keypoint_mse(target, target, weights) == 0
    pred = torch.zeros_like(target)
    assert keypoint_mse(pred, target, weights) == pytest.approx(5 / 16 / 6)
    assert keypoint_mse(pred, target, weights, ohkm_topk=1) == pytest.approx(1 / 16)
    labels = torch.tensor([[[0, 1], [255, 1]]])
    logits = torch.zeros(1, 2, 2, 2)
    ce = weighted_cross_entropy(logits, labels, torch.tensor([1.0, 3.0]))
    assert ce == pytest.approx((1 + 3 + 3) * torch.log(torch.tensor(2.0)).item() / 4)
    depth = torch.tensor([[[[0.5, 1.0], [-1.0, 0.0]]]])
    assert silog(depth, depth) == pytest.approx(0, abs=1e-5)
    # lambda 0.5: a global scale error costs |log s| / sqrt(2), not 0 (half scale-invariant)
    assert silog(depth * 2, depth) == pytest.approx(0.6931472 / 2**0.5, abs=1e-4)
    normals = torch.tensor([0.0, 0.0, 1.0]).view(1, 3, 1, 1).expand(1, 3, 2, 2).clone()
    normals[:, :, 0, 0] = -1000
    assert normal_loss(normals, normals) == pytest.approx(0, abs=1e-6)
