"""Sapiens2Model = backbone + ``decode_head``, building one for a size, and loading an original task file strictly.

Task files hold ``backbone.*`` and ``decode_head.*`` (spec §2.2; confirmed by transformers' conversion mapping).
Size and head widths are read from the weight shapes, never from the file name: the head dim is the length of
``attn.q_norm.weight`` and each layer's KV head count is its ``attn.wk`` rows / head dim, so a file describes
its own architecture completely.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

import torch
from torch import nn

from ..errors import CheckpointError
from .sapiens2 import Sapiens2Backbone
from .sapiens2_config import (
    INPUT_SIZE,
    PATCH_SIZE,
    Sapiens2Arch,
    Sapiens2HeadLayout,
    get_sapiens2_arch,
    sapiens2_archs,
    sapiens2_head_layouts,
)
from .sapiens2_heads import (
    Sapiens2MattingHead,
    Sapiens2NormalHead,
    Sapiens2PointmapHead,
    Sapiens2PoseHead,
    Sapiens2SegHead,
    scale_grid,
)

# The weight that names each head's task (its final conv), as in the original modules.
TASK_BY_FINAL_KEY = {
    "decode_head.conv_pose.weight": "pose",
    "decode_head.conv_seg.weight": "seg",
    "decode_head.conv_normal.weight": "normal",
    "decode_head.conv_pointmap.weight": "pointmap",
    # Not in the spec's snapshot: the name transformers 5.23.0's conversion maps to its matting predictor.
    "decode_head.conv_matting.weight": "matting",
}
DEFAULT_OUTPUTS = {"pose": 308, "seg": 29}


class Sapiens2Model(nn.Module):
    """(B, 3, 1024, 768) -> the head's output; pointmap: 4 channels (XYZ and the scale, see POINTMAP_SCALE_CHANNEL);
    matting: 4 channels in [0, 1] (premultiplied foreground RGB and alpha, see MATTING_ALPHA_CHANNEL)."""

    family = "sapiens2"

    def __init__(self, task: str, backbone: Sapiens2Backbone, head: nn.Module) -> None:
        super().__init__()
        self.task = task
        self.backbone = backbone
        self.decode_head = head

    @property
    def num_outputs(self) -> int:
        return self.decode_head.num_outputs

    @property
    def arch(self) -> Sapiens2Arch:
        return self.backbone.arch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode_head(self.backbone(x))


def build_head(
    task: str,
    embed_dim: int,
    layout: Sapiens2HeadLayout,
    num_outputs: int | None = None,
    input_size: tuple[int, int] = INPUT_SIZE,
) -> nn.Module:
    if task == "pose":
        return Sapiens2PoseHead(embed_dim, layout, num_outputs or DEFAULT_OUTPUTS["pose"])
    if task == "seg":
        return Sapiens2SegHead(embed_dim, layout, num_outputs or DEFAULT_OUTPUTS["seg"])
    if task == "normal":
        return Sapiens2NormalHead(embed_dim, layout)
    if task == "matting":
        return Sapiens2MattingHead(embed_dim, layout)
    if task == "pointmap":
        grid = scale_grid((input_size[0] // PATCH_SIZE, input_size[1] // PATCH_SIZE), len(layout.scale_conv))
        return Sapiens2PointmapHead(embed_dim, layout, layout.scale_conv[-1] * grid[0] * grid[1])
    raise ValueError(f"unknown Sapiens2 task {task!r}; expected pose, seg, normal, pointmap or matting")


def build_sapiens2(
    task: str,
    size: str | Sapiens2Arch = "0.4b",
    layout: Sapiens2HeadLayout | None = None,
    num_outputs: int | None = None,
    input_size: tuple[int, int] = INPUT_SIZE,
) -> Sapiens2Model:
    """A randomly initialised model; build under ``torch.device("meta")`` to get names and shapes for free.

    ``layout`` defaults to the official widths of the size (an ArchSpec of a custom size must bring its own).
    """
    arch = get_sapiens2_arch(size)
    if layout is None:
        layout = sapiens2_head_layouts().get(arch.name, {}).get(task)
        if layout is None:  # a pretrain-only size, or matting at a size it was not released at
            raise ValueError(f"Sapiens2 {arch.name} has no released {task} head; give a head layout")
    head = build_head(task, arch.embed_dim, layout, num_outputs, input_size)
    return Sapiens2Model(task, Sapiens2Backbone(arch), head)


# ------------------------------------------------------------------------------------------------ from weights
def _shape(state_dict: Mapping[str, torch.Tensor], key: str) -> tuple[int, ...]:
    if key not in state_dict:
        raise CheckpointError(f"has no '{key}' weight")
    return tuple(state_dict[key].shape)


def _indices(state_dict: Mapping[str, torch.Tensor], pattern: str) -> list[int]:
    regex = re.compile(pattern)
    return sorted({int(m.group(1)) for key in state_dict if (m := regex.fullmatch(key))})


def arch_from_weights(state_dict: Mapping[str, torch.Tensor], prefix: str = "backbone.") -> Sapiens2Arch:
    """The backbone the shapes describe, named after the table's size when it is one."""
    embed_dim = _shape(state_dict, f"{prefix}patch_embed.projection.weight")[0]
    head_dim = _shape(state_dict, f"{prefix}blocks.0.attn.q_norm.weight")[0]
    layers = _indices(state_dict, re.escape(prefix) + r"blocks\.(\d+)\.ln1\.weight")
    if layers != list(range(len(layers))):
        raise CheckpointError(f"has non-contiguous block indices {layers}")
    if embed_dim % head_dim:
        raise CheckpointError(f"has embed dim {embed_dim}, not a multiple of its head dim {head_dim}")
    heads = embed_dim // head_dim
    kv = [_shape(state_dict, f"{prefix}blocks.{i}.attn.wk.weight")[0] // head_dim for i in layers]
    grouped = sorted(set(kv) - {heads})
    if len(grouped) > 1:
        raise CheckpointError(f"has several grouped KV head counts {grouped}")
    hidden = _shape(state_dict, f"{prefix}blocks.0.ffn.w3.weight")[1]
    storage = _shape(state_dict, f"{prefix}storage_tokens")[1]
    mhsa = frozenset(i for i, n in zip(layers, kv) if n == heads)
    kv_heads = grouped[0] if grouped else heads
    found = Sapiens2Arch(
        f"custom-{embed_dim}x{len(layers)}", embed_dim, len(layers), heads, kv_heads, mhsa, hidden, storage
    )
    return next((a for a in sapiens2_archs().values() if replace(a, name=found.name) == found), found)


def task_of_weights(state_dict: Mapping[str, torch.Tensor]) -> str:
    found = [task for key, task in TASK_BY_FINAL_KEY.items() if key in state_dict]
    if len(found) == 1:
        return found[0]
    if not any(k.startswith("decode_head.") for k in state_dict):
        if "storage_tokens" in state_dict:
            raise CheckpointError("is a Sapiens2 pretrain backbone without a task head")
        raise CheckpointError("has no 'decode_head.' weights, so no Sapiens2 task head")
    if not found:
        sample = ", ".join(sorted(k for k in state_dict if k.startswith("decode_head."))[-2:])
        raise CheckpointError(f"has a Sapiens2 head this app cannot build yet (ends with {sample})")
    raise CheckpointError(f"has several task heads ({', '.join(found)})")


def _widths(state_dict: Mapping[str, torch.Tensor], stem: str, out_dim: int, divide: int = 1) -> tuple[int, ...]:
    indices = _indices(state_dict, re.escape(stem) + r"\.(\d+)(?:\.0)?\.weight")
    return tuple(int(state_dict[_weight_key(state_dict, stem, i)].shape[out_dim]) // divide for i in indices)


def _weight_key(state_dict: Mapping[str, torch.Tensor], stem: str, index: int) -> str:
    nested = f"{stem}.{index}.0.weight"  # upsample blocks nest their conv one level deeper
    return nested if nested in state_dict else f"{stem}.{index}.weight"


def head_from_weights(state_dict: Mapping[str, torch.Tensor], task: str) -> tuple[Sapiens2HeadLayout, int, int]:
    """(layout, num_outputs, scale MLP input features) of the head the weights hold."""
    h = "decode_head."
    conv = _widths(state_dict, f"{h}conv_layers", 0)
    if task in ("pose", "seg"):
        upsample = _widths(state_dict, f"{h}deconv_layers", 1)  # ConvTranspose2d weight: (in, out, k, k)
        final = {"pose": "conv_pose", "seg": "conv_seg"}[task]
        return Sapiens2HeadLayout(upsample, conv), _shape(state_dict, f"{h}{final}.weight")[0], 0
    upsample = _widths(state_dict, f"{h}upsample_blocks", 0, divide=4)
    if task in ("normal", "matting"):
        return Sapiens2HeadLayout(upsample, conv), 3 if task == "normal" else 4, 0
    scale_conv = _widths(state_dict, f"{h}scale_conv_layers", 0)
    mlp_idx = _indices(state_dict, re.escape(f"{h}scale_final_layer.") + r"(\d+)\.weight")
    mlp = tuple(_shape(state_dict, f"{h}scale_final_layer.{i}.weight")[0] for i in mlp_idx)
    features = _shape(state_dict, f"{h}scale_final_layer.{mlp_idx[0]}.weight")[1] if mlp_idx else 0
    return Sapiens2HeadLayout(upsample, conv, scale_conv, mlp), 4, features


@dataclass(frozen=True)
class KeyMismatch:
    """How a state dict differs from a model's: every key, not the first few."""

    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    wrong_shape: tuple[str, ...]  # "key (file shape) vs (model shape)"

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.wrong_shape)

    def describe(self, limit: int = 3) -> str:
        parts = []
        kinds = (("missing", self.missing), ("unexpected", self.unexpected), ("wrong shape", self.wrong_shape))
        for label, items in kinds:
            if items:
                more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
                parts.append(f"{len(items)} {label}: {', '.join(items[:limit])}{more}")
        return "; ".join(parts) or "no mismatch"


def key_mismatch(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> KeyMismatch:
    expected = model.state_dict()
    return KeyMismatch(
        missing=tuple(k for k in expected if k not in state_dict),
        unexpected=tuple(k for k in state_dict if k not in expected),
        wrong_shape=tuple(
            f"{k} {tuple(state_dict[k].shape)} vs {tuple(v.shape)}"
            for k, v in expected.items()
            if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)
        ),
    )


def sapiens2_from_state_dict(
    state_dict: Mapping[str, torch.Tensor], task: str | None = None, source: str = "the state dict"
) -> Sapiens2Model:
    """Build the model an original Sapiens2 task file describes and load it strictly; eval mode, fp32.

    Every CheckpointError starts with ``source`` (the file name) and lists what does not fit.
    """
    try:
        found = task_of_weights(state_dict)
        if task is not None and task != found:
            raise CheckpointError(f"is a Sapiens2 {found} checkpoint, not {task}")
        arch = arch_from_weights(state_dict)
        layout, outputs, features = head_from_weights(state_dict, found)
        with torch.device("meta"):  # no second copy of multi-GB weights: filled by assignment below
            head = build_head(found, arch.embed_dim, layout, outputs)
            if features and isinstance(head, Sapiens2PointmapHead):
                head = Sapiens2PointmapHead(arch.embed_dim, layout, features)
            model = Sapiens2Model(found, Sapiens2Backbone(arch), head)
        mismatch = key_mismatch(model, state_dict)
        if mismatch:
            raise CheckpointError(f"does not fit a Sapiens2 {arch.name} {found} model; {mismatch.describe()}")
    except CheckpointError as error:
        raise CheckpointError(f"{source} {error}") from None
    model.load_state_dict(dict(state_dict), strict=True, assign=True)
    return model.float().eval()
