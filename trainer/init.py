"""Where a run's weights come from (``--init``): an official task ``.pth``, an official pretrain ``_clean.pth``, a
Sapiens2 ``.safetensors`` in the original layout (pretrain backbone or task file), a checkpoint this trainer
wrote, or nothing (random, for tests).

Every file goes through a loader that runs no code: safetensors holds raw tensors only, and ``.pth`` files go
through sapiens_core's safe loader (torch's weights_only unpickler with a short allow-list). The file's family
(told by its keys) must be the run's: a v1 file does not initialise a Sapiens2 network or the other way round.
A task checkpoint must fit the architecture key for key; the one allowed difference is the pose head's last
layer when the keypoint set changes, whose rows are copied by point name.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from sapiens_core.errors import CheckpointError
from sapiens_core.io.checkpoints import load_checkpoint
from sapiens_core.io.safetensors_files import load_safetensors, looks_like_safetensors
from sapiens_core.nn import SapiensModel, load_pretrained_backbone
from sapiens_core.nn.family import family_of_keys
from sapiens_core.nn.sapiens2_model import key_mismatch
from sapiens_core.schema import KeypointSchema, keypoint_schema_for_count

from .describe import state_dict_diff
from .models import V2, family_of, final_conv_name, init_fresh_head

__all__ = ["init_fresh_head", "is_pretrain", "load_init", "read_weights"]


def _final_keys(model: nn.Module) -> tuple[str, str]:
    stem = final_conv_name(model)
    return f"{stem}.weight", f"{stem}.bias"


def _copy_rows(
    model: SapiensModel, state: Mapping[str, torch.Tensor], names_from: tuple[str, ...], names_to: tuple[str, ...]
) -> int:
    """Copy final-layer rows of points present in both sets (by name); the rest keep their fresh init."""
    rows = {name: i for i, name in enumerate(names_from)}
    copied = 0
    own = model.state_dict()
    with torch.no_grad():
        for key in _final_keys(model):
            for j, name in enumerate(names_to):
                if name in rows:
                    own[key][j].copy_(state[key][rows[name]])
                    copied += key.endswith("weight")
    return copied


def _source_names(state: Mapping[str, torch.Tensor], meta: dict, key: str) -> tuple[str, ...] | None:
    names = (meta.get("trainer") or {}).get("keypoint_names") if isinstance(meta, dict) else None
    if names:
        return tuple(names)
    try:
        return keypoint_schema_for_count(int(state[key].shape[0])).names
    except KeyError:
        return None


def is_pretrain(state: Mapping[str, torch.Tensor]) -> bool:
    """A backbone without a head: ``_clean.pth`` / a Sapiens2 pretrain file (no prefix) or a raw MAE checkpoint
    (``backbone.`` + neck)."""
    if "patch_embed.projection.weight" in state:
        return True
    return not any(k.startswith(("head.", "decode_head.")) for k in state)


def read_weights(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(state dict, meta) of a ``.pth`` or a ``.safetensors`` (told by its bytes, not its name)."""
    if not path.is_file():
        raise CheckpointError(f"{path.name} does not exist or is not a file")
    with path.open("rb") as handle:
        head = handle.read(16)
    if looks_like_safetensors(head, path.stat().st_size):
        return load_safetensors(path), {}
    return load_checkpoint(path)


def _check_family(model: nn.Module, state: Mapping[str, torch.Tensor], path: Path) -> None:
    found, wanted = family_of_keys(state), family_of(model)
    if found is not None and found != wanted:
        flag = "sapiens2_SIZE" if found == V2 else "sapiens_SIZE"
        names = {V2: "a Sapiens2", "sapiens": "a Sapiens v1"}
        raise CheckpointError(
            f"{path.name} is {names[found]} checkpoint and the run trains {names[wanted]} model; use --arch {flag}"
        )


def _load_v2_backbone(model: nn.Module, state: Mapping[str, torch.Tensor], path: Path) -> int:
    """A Sapiens2 pretrain file (no prefix, as released) or any file's ``backbone.*`` into the backbone, strictly;
    returns how many keys were left out (a head or anything else outside the backbone)."""
    prefixed = any(k.startswith("backbone.") for k in state)
    weights = {k.removeprefix("backbone."): v for k, v in state.items() if not prefixed or k.startswith("backbone.")}
    mismatch = key_mismatch(model.backbone, weights)
    if mismatch:
        arch = model.arch.name
        raise CheckpointError(f"{path.name} does not fit the Sapiens2 {arch} backbone; {mismatch.describe()}")
    model.backbone.load_state_dict(weights, strict=True)
    return len(state) - len(weights)


def load_init(model: SapiensModel, path: Path, schema: KeypointSchema | None = None) -> str:
    """Fill ``model`` from ``path``; returns a one-line description of what was loaded. Raises CheckpointError."""
    state, meta = read_weights(path)
    _check_family(model, state, path)
    if is_pretrain(state):
        if family_of(model) == V2:
            ignored = _load_v2_backbone(model, state, path)
        else:
            ignored = len(load_pretrained_backbone(model, state, source=path.name))
        init_fresh_head(model)
        return f"pretrain backbone from {path.name} (fresh head; ignored {ignored} keys)"
    expected = model.state_dict()
    weight_key, bias_key = _final_keys(model)
    diff = state_dict_diff(expected, state)
    remap = model.task == "pose" and schema is not None
    if remap:
        diff["wrong_shape"] = [e for e in diff["wrong_shape"] if not e.startswith((weight_key, bias_key))]
    problems = [f"{label}: {', '.join(keys)}" for label, keys in diff.items() if keys]
    if problems:
        raise CheckpointError(f"{path.name} does not fit {model.arch.name} {model.task}; " + "; ".join(problems))
    if remap:
        names_from = _source_names(state, meta, weight_key)
        if names_from is None or len(names_from) != state[weight_key].shape[0]:
            raise CheckpointError(f"{path.name}: its {state[weight_key].shape[0]} keypoints match no known set")
        same_layout = tuple(names_from) == tuple(schema.names)
        body = {k: v for k, v in state.items() if same_layout or k not in (weight_key, bias_key)}
        model.load_state_dict(body, strict=same_layout)
        if not same_layout:
            nn.init.normal_(model.state_dict()[weight_key], std=0.001)
            nn.init.zeros_(model.state_dict()[bias_key])
            copied = _copy_rows(model, state, names_from, schema.names)
            return f"{path.name} (head re-initialised for {len(schema)} points, {copied} copied by name)"
        return f"{path.name}"
    model.load_state_dict(dict(state), strict=True)
    return f"{path.name}"
