"""Wrapping the model for training: activation checkpointing, ``torch.compile``, DDP or FSDP2. ``unwrap`` undoes
the wrappers for saving, evaluation and export, so checkpoints always carry the official key names (FSDP2 adds
no wrapper module: it swaps the model's class in place and its parameters become shards)."""

from __future__ import annotations

import functools

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from sapiens_core.errors import SapiensError

from .models import transformer_blocks


def _checkpointed(forward, *args):
    return checkpoint(forward, *args, use_reentrant=False)  # a Sapiens2 block also takes the RoPE tables


def enable_activation_checkpointing(model: nn.Module) -> None:
    """Recompute each transformer block in the backward pass: activation memory of one block instead of all.
    The block's ``forward`` is replaced on the instance, so no wrapper module changes the state-dict keys."""
    for layer in transformer_blocks(model):
        layer.forward = functools.partial(_checkpointed, layer.forward)


def wrap_model(model: nn.Module, cfg, dist) -> nn.Module:
    model.train()
    if cfg.activation_checkpointing:
        enable_activation_checkpointing(model)
    if cfg.fsdp:
        if not dist.enabled:
            raise SapiensError(
                "--fsdp shards the model across processes: launch with torchrun --nproc-per-node N (N >= 2)"
            )
        from .sharded import shard_model

        model = shard_model(model)
    elif dist.enabled:
        ids = [dist.device.index] if dist.device.type == "cuda" else None
        model = nn.parallel.DistributedDataParallel(model, device_ids=ids)
    if cfg.compile:
        model = torch.compile(model)
    return model


def unwrap(model: nn.Module) -> nn.Module:
    model = getattr(model, "_orig_mod", model)  # torch.compile
    return getattr(model, "module", model)  # DDP
