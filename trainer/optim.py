"""AdamW with layer-wise LR decay and the warmup + schedule of the official recipes (spec §6.1-6.5).

Groups as mmengine's LayerDecayOptimWrapper: with L blocks there are L+2 layer ids, 0 for the embeddings (v1
patch_embed / pos_embed / cls_token; Sapiens2 patch_embed / cls_token / storage_tokens), i+1 for block i (v1
``backbone.layers.i``, Sapiens2 ``backbone.blocks.i``), L+1 for everything else (final norm, head); lr scale =
rate^(L+1-id). No weight decay on 1-D parameters, biases or learned position/prefix tokens (pos_embed, and
Sapiens2's cls and storage tokens, which have no position embedding to share that role with).
"""

from __future__ import annotations

import math
import re

import torch
from torch import nn

# (task, keypoint set or None, size) -> layer decay rate; spec §6.2-6.5. Sizes not listed use DEFAULT_DECAY.
DEFAULT_DECAY = 0.85
POSE_DECAY = {("goliath_308", "1b"): 0.95, ("coco_wholebody_133", "0.3b"): 0.75, ("coco_wholebody_133", "0.6b"): 0.75}
BASE_LR = {"pose/goliath_308": 5e-5, "pose": 5e-4, "seg": 5e-4, "depth": 5e-4, "normal": 5e-4}


def default_layer_decay(task: str, size: str, keypoint_set: str | None = None, family: str = "sapiens") -> float:
    if family == "sapiens2":  # one rate per size for every task (trainer.models)
        from .models import default_v2_layer_decay

        return default_v2_layer_decay(size) or DEFAULT_DECAY
    if task == "pose":
        return POSE_DECAY.get((keypoint_set, size), DEFAULT_DECAY)
    return DEFAULT_DECAY


def default_lr(task: str, keypoint_set: str | None = None) -> float:
    return BASE_LR.get(f"{task}/{keypoint_set}", BASE_LR[task])


_BLOCK = re.compile(r"^backbone\.(?:layers|blocks)\.(\d+)\.")
_EMBEDDINGS = ("backbone.patch_embed", "backbone.pos_embed", "backbone.cls_token", "backbone.storage_tokens")
_NO_DECAY_NAMES = ("pos_embed", "cls_token", "storage_tokens")


def layer_id(name: str, num_layers: int) -> int:
    if name.startswith(_EMBEDDINGS):
        return 0
    match = _BLOCK.match(name)
    return int(match.group(1)) + 1 if match else num_layers + 1


def param_groups(model: nn.Module, num_layers: int, lr: float, weight_decay: float, layer_decay: float) -> list[dict]:
    groups: dict[tuple[int, bool], dict] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        lid = layer_id(name.removeprefix("module."), num_layers)
        no_decay = param.ndim == 1 or name.endswith(".bias") or any(n in name for n in _NO_DECAY_NAMES)
        group = groups.setdefault(
            (lid, no_decay),
            {
                "params": [],
                "names": [],
                "lr_scale": layer_decay ** (num_layers + 1 - lid),
                "weight_decay": 0.0 if no_decay else weight_decay,
            },
        )
        group["params"].append(param)
        group["names"].append(name)
    for group in groups.values():
        group["lr"] = lr * group["lr_scale"]
    return [groups[key] for key in sorted(groups)]


def build_optimizer(
    model: nn.Module,
    num_layers: int,
    lr: float,
    weight_decay: float = 0.1,
    layer_decay: float = 0.85,
    betas=(0.9, 0.999),
    fused: bool | None = None,
) -> torch.optim.AdamW:
    """``fused`` None: the fused CUDA kernel when every parameter is on a CUDA device (one launch per step
    instead of several per parameter group), else torch's default."""
    groups = param_groups(model, num_layers, lr, weight_decay, layer_decay)
    for group in groups:
        del group["names"]  # torch keeps unknown keys in its state dict; names are only for tests and logs
    if fused is None:
        fused = all(p.is_cuda for g in groups for p in g["params"]) or None
    return torch.optim.AdamW(groups, lr=lr, betas=tuple(betas), weight_decay=weight_decay, fused=fused)


def schedule_factor(
    step: int, total: int, warmup: int, kind: str = "poly", milestones=(), start: float = 1e-3, power: float = 1.0
) -> float:
    """LR multiplier at ``step``: LinearLR from ``start`` over ``warmup`` steps, then ``poly`` (to 0 at ``total``),
    ``multistep`` (x0.1 at each fraction of ``total`` in ``milestones``), ``cosine`` or ``constant``."""
    warm = start + (1 - start) * min(step / warmup, 1.0) if warmup > 0 else 1.0
    progress = min(step / max(total, 1), 1.0)
    if kind == "poly":
        after = (1 - progress) ** power
    elif kind == "multistep":
        after = 0.1 ** sum(progress >= m for m in milestones)
    elif kind == "cosine":
        after = 0.5 * (1 + math.cos(math.pi * progress))
    elif kind == "constant":
        after = 1.0
    else:
        raise ValueError(f"unknown schedule {kind!r}; expected poly, multistep, cosine or constant")
    return warm * after


def build_scheduler(optimizer, total: int, warmup: int, kind: str, milestones=()) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: schedule_factor(step, total, warmup, kind, milestones)
    )
