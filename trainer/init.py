"""Where a run's weights come from (``--init``): an official task ``.pth``, an official pretrain ``_clean.pth``, a
checkpoint this trainer wrote, or nothing (random, for tests).

Every file goes through sapiens_core's safe loader (torch's weights_only unpickler with a short allow-list):
nothing in a checkpoint is executed. A task checkpoint must fit the architecture key for key; the one allowed
difference is the pose head's last layer when the keypoint set changes, whose rows are copied by point name.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from sapiens_core.errors import CheckpointError
from sapiens_core.io.checkpoints import load_checkpoint
from sapiens_core.nn import SapiensModel, load_pretrained_backbone
from sapiens_core.schema import KeypointSchema, keypoint_schema_for_count

from .describe import state_dict_diff


def init_fresh_head(model: SapiensModel) -> None:
    """The official head inits (spec §5.2): pose Normal(0, 0.001) on every conv; seg/depth/normal Normal(0, 0.01) on
    conv_seg, torch's defaults elsewhere. Biases 0."""
    head = model.task_head
    convs = [m for m in head.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    targets = convs if model.task == "pose" else [head.conv_seg]
    std = 0.001 if model.task == "pose" else 0.01
    for module in targets:
        nn.init.normal_(module.weight, std=std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def _final_keys(model: SapiensModel) -> tuple[str, str]:
    stem = "head.final_layer" if model.task == "pose" else "decode_head.conv_seg"
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
    """A backbone without a head: ``_clean.pth`` (no prefix) or a raw MAE checkpoint (``backbone.`` + neck)."""
    if "patch_embed.projection.weight" in state:
        return True
    return not any(k.startswith(("head.", "decode_head.")) for k in state)


def load_init(model: SapiensModel, path: Path, schema: KeypointSchema | None = None) -> str:
    """Fill ``model`` from ``path``; returns a one-line description of what was loaded. Raises CheckpointError."""
    state, meta = load_checkpoint(path)
    if is_pretrain(state):
        ignored = load_pretrained_backbone(model, state, source=path.name)
        init_fresh_head(model)
        return f"pretrain backbone from {path.name} (fresh head; ignored {len(ignored)} keys)"
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
