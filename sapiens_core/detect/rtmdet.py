"""RTMDet (backbone + neck + head) under the official key names, and loading the official checkpoint into it.

``build_rtmdet("m")`` is the person detector Sapiens uses: 692 state-dict keys, 24,663,447 parameters (spec §3).
Loading matches every key and shape or fails with a list of what did not match; the shared head convs must hold
equal tensors under each level's key (spec §3.2), since the tied module keeps only one of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from ..errors import CheckpointError
from ..io.checkpoints import load_checkpoint
from .backbone import CSPNeXt
from .head import STRIDES, RTMDetSepBNHead
from .neck import CSPNeXtPAFPN

# (deepen_factor, widen_factor) per size, from the mmdet configs; only "m" has an official person checkpoint.
SIZES = {"tiny": (0.167, 0.375), "s": (0.33, 0.5), "m": (0.67, 0.75), "l": (1.0, 1.0)}
_SHOWN = 5  # mismatched keys listed per kind in an error message


class RTMDet(nn.Module):
    """Input (B, 3, H, W) normalised BGR; output per stride 8, 16, 32: logits (B, C, h, w), ltrb (B, 4, h, w)."""

    def __init__(self, size: str = "m", num_classes: int = 1) -> None:
        super().__init__()
        deepen, widen = SIZES[size]
        self.size = size
        self.num_classes = num_classes
        self.strides = STRIDES
        self.backbone = CSPNeXt(deepen, widen)
        channels = int(256 * widen)
        self.neck = CSPNeXtPAFPN(tuple(self.backbone.out_channels), channels)
        self.bbox_head = RTMDetSepBNHead(num_classes, channels)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Flat (cls_8, reg_8, cls_16, reg_16, cls_32, reg_32): a tuple of tensors exports cleanly to ONNX."""
        return tuple(t for level in self.bbox_head(self.neck(self.backbone(x))) for t in level)


def build_rtmdet(size: str = "m", num_classes: int = 1) -> RTMDet:
    if size not in SIZES:
        raise ValueError(f"unknown RTMDet size {size!r}; one of {', '.join(SIZES)}")
    return RTMDet(size, num_classes).eval()


def unique_parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())  # parameters() yields a shared module's tensors once


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:_SHOWN])
    return shown + (f" (+{len(keys) - _SHOWN} more)" if len(keys) > _SHOWN else "")


def check_state_dict(model: RTMDet, state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """CheckpointError naming missing, unexpected and wrongly shaped keys, or unequal tied head convs."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    shapes = [
        f"{k} {list(state_dict[k].shape)} != {list(v.shape)}"
        for k, v in expected.items()
        if k in state_dict and state_dict[k].shape != v.shape
    ]
    if missing or unexpected or shapes:
        if len(missing) == len(expected):
            raise CheckpointError(
                f"{source} is not an RTMDet-{model.size} detector checkpoint (none of its {len(expected)} keys found; "
                f"it holds e.g. {_listed(sorted(state_dict))})"
            )
        parts = [f"{len(missing)} missing: {_listed(missing)}"] if missing else []
        parts += [f"{len(unexpected)} unexpected: {_listed(unexpected)}"] if unexpected else []
        parts += [f"{len(shapes)} of another shape: {_listed(shapes)}"] if shapes else []
        raise CheckpointError(f"{source} does not match RTMDet-{model.size}: " + "; ".join(parts))
    for first, tied in model.bbox_head.shared_conv_keys():
        if not torch.equal(state_dict[first], state_dict[tied]):
            raise CheckpointError(f"{source}: {tied} differs from {first}, but the head shares these convs")


def rtmdet_from_state_dict(state_dict: Mapping[str, torch.Tensor], source: str, size: str = "m") -> RTMDet:
    """Build RTMDet-``size`` with as many classes as the file's classifier has, then load every key strictly."""
    cls_weight = state_dict.get("bbox_head.rtm_cls.0.weight")
    num_classes = int(cls_weight.shape[0]) if isinstance(cls_weight, torch.Tensor) and cls_weight.ndim == 4 else 1
    model = build_rtmdet(size, num_classes)
    check_state_dict(model, state_dict, source)
    model.load_state_dict(state_dict, strict=True)
    return model.eval()


def load_rtmdet(path: str | Path, size: str = "m") -> tuple[RTMDet, dict]:
    """(model, meta) from an mmengine-style ``.pth`` through the safe loader; CheckpointError on any mismatch."""
    path = Path(path)
    state_dict, meta = load_checkpoint(path)
    return rtmdet_from_state_dict(state_dict, path.name, size), meta
