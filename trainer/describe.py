"""``describe`` and ``inspect``: a model's state dict as ``key<TAB>shape`` lines, and a checkpoint's diff against it.

``describe`` builds the model on the meta device, so even the 2B model costs no memory. ``inspect`` loads a
checkpoint through sapiens_core's safe loader only (weights_only with an allow-list; nothing is executed).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from sapiens_core.task_specs import TASK_NAMES

from .models import ARCH_CHOICES, build_training_model, resolve_arch

__all__ = ["ARCH_CHOICES", "meta_model", "shape_lines", "state_dict_diff"]


def meta_model(task: str, arch: str, num_outputs: int | None = None) -> nn.Module:
    with torch.device("meta"):
        return build_training_model(task, resolve_arch(arch), num_outputs=num_outputs)


def shape_lines(state: Mapping[str, torch.Tensor]) -> list[str]:
    return [f"{key}\t{'x'.join(str(d) for d in value.shape)}" for key, value in state.items()]


def state_dict_diff(expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor]) -> dict[str, list[str]]:
    """Keys missing from ``found``, unexpected in it, and present with another shape (``key found vs expected``)."""
    return {
        "missing": [k for k in expected if k not in found],
        "unexpected": [k for k in found if k not in expected],
        "wrong_shape": [
            f"{k} {tuple(found[k].shape)} vs {tuple(v.shape)}"
            for k, v in expected.items()
            if k in found and tuple(found[k].shape) != tuple(v.shape)
        ],
    }


def add_parser(sub) -> None:
    p = sub.add_parser(
        "describe",
        help="print a model's state dict as key<TAB>shape lines",
        description="Build the model on the meta device (no memory) and print every state-dict key and shape.",
    )
    p.add_argument("--arch", required=True, choices=ARCH_CHOICES)
    p.add_argument("--task", required=True, choices=TASK_NAMES)
    p.add_argument("--num-outputs", type=int, help="output channels (default: the official count of the task)")
    p.add_argument("--count", action="store_true", help="end with the parameter count")
    p.set_defaults(run=run_describe)

    q = sub.add_parser(
        "inspect",
        help="list a checkpoint's keys and its diff against an architecture",
        description="Load a .pth or .safetensors safely (nothing in it is executed), list key<TAB>shape, and "
        "with --arch and --task the keys missing, unexpected or of another shape than the architecture's.",
    )
    q.add_argument("checkpoint", type=Path, metavar="CKPT")
    q.add_argument("--arch", choices=ARCH_CHOICES)
    q.add_argument("--task", choices=TASK_NAMES)
    q.set_defaults(run=run_inspect)


def run_describe(args: argparse.Namespace) -> int:
    model = meta_model(args.task, args.arch, args.num_outputs)
    state = model.state_dict()
    print("\n".join(shape_lines(state)))
    if args.count:
        print(f"# parameters\t{sum(p.numel() for p in model.parameters())}")
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    from .init import read_weights  # init builds on this module's diff

    state, meta = read_weights(args.checkpoint)
    print("\n".join(shape_lines(state)))
    if meta:
        print(f"# meta keys\t{', '.join(sorted(map(str, meta)))}")
    if bool(args.arch) != bool(args.task):
        from .cli import TrainerError

        raise TrainerError("give both --arch and --task to compare against an architecture")
    if not args.arch:
        return 0
    expected = meta_model(args.task, args.arch).state_dict()
    diff = state_dict_diff(expected, state)
    for label, keys in diff.items():
        for key in keys:
            print(f"# {label}\t{key}")
    fits = not any(diff.values())
    print(f"# fits {args.arch} {args.task}\t{'yes' if fits else 'no'}")
    return 0 if fits else 1
