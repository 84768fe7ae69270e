"""SapiensModel = backbone + task head, with the original top-level prefixes, and building one from a state dict."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import CheckpointError
from ..task_specs import TASKS, task_spec
from .arch import POS_GRID, ArchSpec, arch_from_state_dict, get_arch, grid_for_tokens
from .heads import DEFAULT_LAYOUTS, HEAD_CLASSES, HeadLayout
from .vit import SapiensViT, resize_pos_embed


class SapiensModel(nn.Module):
    """(B, 3, 1024, 768) -> raw head output. The head sits under ``head`` (pose) or ``decode_head`` (others)."""

    def __init__(self, task: str, backbone: SapiensViT, head: nn.Module) -> None:
        super().__init__()
        self.task = task
        self.head_attr = task_spec(task).head_prefix.rstrip(".")
        self.backbone = backbone
        setattr(self, self.head_attr, head)

    @property
    def task_head(self) -> nn.Module:
        return getattr(self, self.head_attr)

    @property
    def num_outputs(self) -> int:
        return self.task_head.num_outputs

    @property
    def arch(self) -> ArchSpec:
        return self.backbone.arch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.task_head(self.backbone(x))


def _layout(
    task: str,
    head_channels: int | None,
    deconv_channels: Sequence[int] | None,
    conv_channels: Sequence[int] | None,
    divisor: int = 1,
) -> HeadLayout:
    base = DEFAULT_LAYOUTS[task]
    deconv = tuple(c // divisor for c in base.deconv_channels)
    conv = tuple(c // divisor for c in base.conv_channels)
    if head_channels is not None:  # one width for every stage, keeping the official stage counts
        deconv, conv = (head_channels,) * len(deconv), (head_channels,) * len(conv)
    if deconv_channels is not None:
        deconv = tuple(int(c) for c in deconv_channels)
    if conv_channels is not None:
        conv = tuple(int(c) for c in conv_channels)
    return HeadLayout(tuple(deconv), tuple(conv))


def build_model(
    task: str,
    arch: str | ArchSpec = "0.3b",
    num_outputs: int | None = None,
    head_channels: int | None = None,
    patch_padding: int | None = None,
    *,
    deconv_channels: Sequence[int] | None = None,
    conv_channels: Sequence[int] | None = None,
    pos_grid: tuple[int, int] = POS_GRID,
) -> SapiensModel:
    """A randomly initialised model in train mode; build under ``torch.device("meta")`` to get shapes for free."""
    spec = task_spec(task)
    arch_spec = get_arch(arch)
    padding = spec.patch_padding if patch_padding is None else patch_padding
    backbone = SapiensViT(arch_spec, patch_padding=padding, pos_grid=pos_grid)
    layout = _layout(task, head_channels, deconv_channels, conv_channels, arch_spec.head_divisor)
    head = HEAD_CLASSES[task](arch_spec.embed_dim, num_outputs or spec.default_channels, layout=layout)
    return SapiensModel(task, backbone, head)


@dataclass(frozen=True)
class CheckpointLayout:
    """What the weight shapes of a finetuned state dict say about the model."""

    task: str  # best guess
    compatible_tasks: tuple[str, ...]  # tasks whose head has this exact layout (seg vs normal can be ambiguous)
    arch: ArchSpec
    head: HeadLayout
    num_outputs: int
    pos_grid: tuple[int, int]


def _indexed_widths(state_dict: Mapping[str, torch.Tensor], stem: str, out_dim: int) -> tuple[int, ...]:
    pattern = re.compile(re.escape(stem) + r"\.(\d+)\.weight$")
    found = {int(m.group(1)): state_dict[k] for k in state_dict if (m := pattern.match(k))}
    indices = sorted(found)
    if indices != list(range(0, 3 * len(indices), 3)):
        raise CheckpointError(f"has unexpected layer indices under '{stem}': {indices}")
    return tuple(int(found[i].shape[out_dim]) for i in indices)


def inspect_state_dict(state_dict: Mapping[str, torch.Tensor], arch: str | ArchSpec | None = None) -> CheckpointLayout:
    """Tell task, arch, head widths and output channels from key prefixes and shapes, without building anything."""
    if not any(k.startswith("backbone.") for k in state_dict):
        if "patch_embed.projection.weight" in state_dict:
            raise CheckpointError("is a backbone-only (pretrain) checkpoint without a task head")
        sample = ", ".join(list(state_dict)[:3]) or "no keys"
        raise CheckpointError(f"is not a Sapiens checkpoint (no 'backbone.' weights; keys start with: {sample})")
    prefixes = sorted(
        {spec.head_prefix for spec in TASKS.values() if any(k.startswith(spec.head_prefix) for k in state_dict)}
    )
    if len(prefixes) != 1:
        raise CheckpointError(
            "has a backbone but " + ("no task head" if not prefixes else "both 'head.' and 'decode_head.' weights")
        )
    prefix = prefixes[0]
    deconv = _indexed_widths(state_dict, f"{prefix}deconv_layers", out_dim=1)  # ConvTranspose2d: (in, out, k, k)
    conv = _indexed_widths(state_dict, f"{prefix}conv_layers", out_dim=0)
    final_key = f"{prefix}final_layer.weight" if prefix == "head." else f"{prefix}conv_seg.weight"
    if final_key not in state_dict:
        raise CheckpointError(f"has a head without a '{final_key}' weight")
    num_outputs = int(state_dict[final_key].shape[0])
    out_height = POS_GRID[0] * 2 ** len(deconv)
    candidates = [
        name for name, spec in TASKS.items() if spec.head_prefix == prefix and spec.output_size[0] == out_height
    ]
    if not candidates:
        raise CheckpointError(f"has an unknown head layout ({len(deconv)} upsampling stages under '{prefix}')")
    # Seg and normal share one layout; the official channel count (3 = normal) breaks the tie.
    candidates.sort(key=lambda name: TASKS[name].default_channels != num_outputs)
    pos = state_dict.get("backbone.pos_embed")
    if pos is None or pos.ndim != 3:
        raise CheckpointError("has no (1, N, D) 'backbone.pos_embed'")
    return CheckpointLayout(
        task=candidates[0],
        compatible_tasks=tuple(candidates),
        arch=arch_from_state_dict(state_dict, "backbone.", hint=arch),
        head=HeadLayout(deconv, conv),
        num_outputs=num_outputs,
        pos_grid=grid_for_tokens(int(pos.shape[1])),
    )


def _check_fit(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Name the first few offending keys instead of torch's multi-page load_state_dict report."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    wrong = [
        f"{k} {tuple(getattr(state_dict[k], 'shape', ()))} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state_dict and tuple(getattr(state_dict[k], "shape", ())) != tuple(v.shape)
    ]
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
        if items:
            more = f" (+{len(items) - 3} more)" if len(items) > 3 else ""
            problems.append(f"{label}: {', '.join(items[:3])}{more}")
    if problems:
        raise CheckpointError("has weights that do not fit the model; " + "; ".join(problems))


def _prefixed(source: str, error: CheckpointError) -> CheckpointError:
    return CheckpointError(f"{source} {error}")


def model_from_state_dict(
    state_dict: Mapping[str, torch.Tensor],
    task: str | None = None,
    arch: str | ArchSpec | None = None,
    source: str = "the state dict",
    patch_padding: int | None = None,
) -> SapiensModel:
    """Build the model a finetuned state dict describes and load it strictly; returned in eval mode, fp32.

    ``arch`` is only a hint for the attention head count, which the packed qkv weight does not reveal.
    ``source`` (e.g. the file name) starts every CheckpointError message.
    """
    try:
        layout = inspect_state_dict(state_dict, arch)
        if task is not None:
            task_spec(task)
            if task not in layout.compatible_tasks:
                raise CheckpointError(f"is a {layout.task} checkpoint, not {task}")
        chosen = task or layout.task
        # Built on the meta device and filled by assignment: no second copy of multi-GB weights in memory.
        with torch.device("meta"):
            model = build_model(
                chosen,
                layout.arch,
                num_outputs=layout.num_outputs,
                deconv_channels=layout.head.deconv_channels,
                conv_channels=layout.head.conv_channels,
                pos_grid=layout.pos_grid,
                patch_padding=patch_padding,  # None: the task's default; the file's config may say otherwise
            )
        _check_fit(model, state_dict)
    except CheckpointError as error:
        raise _prefixed(source, error) from None
    model.load_state_dict(dict(state_dict), strict=True, assign=True)
    return model.float().eval()


def load_pretrained_backbone(
    model: SapiensModel, state_dict: Mapping[str, torch.Tensor], source: str = "the pretrain checkpoint"
) -> list[str]:
    """Load MAE pretrain weights into ``model.backbone`` (spec §5.1 pos-embed rule); returns the ignored keys.

    Accepts the ``_clean.pth`` layout (no prefix) and raw checkpoints (``backbone.`` prefix, plus MAE neck/decoder).
    """
    prefixed = any(k.startswith("backbone.") for k in state_dict)
    weights = {
        k.removeprefix("backbone."): v for k, v in state_dict.items() if not prefixed or k.startswith("backbone.")
    }
    ignored = [k for k in state_dict if prefixed and not k.startswith("backbone.")]
    if "cls_token" in weights:
        del weights["cls_token"]
        ignored.append("cls_token")
    pos = weights.get("pos_embed")
    try:
        if pos is None:
            raise CheckpointError("has no pos_embed")
        tokens = int(pos.shape[1])
        try:
            grid = grid_for_tokens(tokens)
        except CheckpointError:
            grid = grid_for_tokens(tokens - 1)  # (1, 1 + h*w, D): the CLS slot comes first
            pos = pos[:, 1:]
        weights["pos_embed"] = resize_pos_embed(pos, grid, model.backbone.pos_grid)
        _check_fit(model.backbone, weights)
    except CheckpointError as error:
        raise _prefixed(source, error) from None
    model.backbone.load_state_dict(weights, strict=True)
    return ignored
