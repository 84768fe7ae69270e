"""``finetune``: the command line over ``RunConfig``; every option can also come from ``--config RUN.json``."""

from __future__ import annotations

import argparse
import json
from dataclasses import fields
from pathlib import Path

from sapiens_core.task_specs import TASK_NAMES

from .config import CONFIG_NAME, RunConfig, default_of, merge
from .describe import ARCH_CHOICES

# Options that describe one invocation, not the run: a resumed run must not inherit them from config.json.
PER_INVOCATION = ("resume", "stop_after")
HELP = {
    "task": "what to train",
    "arch": "model family and size: sapiens_0.3b..2b (v1) or sapiens2_0.4b..5b (Sapiens2; 5b needs --fsdp); "
    "sapiens_tiny / sapiens2_tiny are toy sizes for tests and CPU demos",
    "data": "training annotations: a coco-goliath308 export (python -m sapiens_core export --format coco-goliath308)",
    "val": "held-out coco-goliath308 file, evaluated before the first step and after every epoch",
    "images": "folder the image names in --data/--val are relative to (default: the file's folder)",
    "init": "official task .pth, official pretrain _clean.pth, a Sapiens2 .safetensors (pretrain or task file, "
    "original layout), or a checkpoint of this trainer (omit: random)",
    "out": "run folder: config.json, metrics.jsonl, last.pth, final.pth",
    "keypoints": "pose keypoint set: a schema JSON (sapiens_core's format) or a shipped set name",
    "lr": "base learning rate (default: the recipe's, e.g. 5e-5 Goliath pose, 5e-4 otherwise)",
    "layer_decay": "layer-wise LR decay rate (default: the recipe's per-size rate)",
    "schedule": "poly | multistep | cosine | constant (default: multistep for pose, poly otherwise)",
    "loss_spike_factor": "skip a batch whose loss is NaN or over this many times the last accepted batch's "
    "(default: 25 for pose as in the official pose models, 0 = off for the dense tasks)",
    "ohkm_topk": "pose: OHKM-MSE over the top-k keypoints (0: plain MSE)",
    "input_size": "crop size W H while training (exported models always take 768x1024)",
    "checkpoint_every": "also save last.pth every N steps (0: at every epoch end only)",
    "eval_every": "evaluate every N epochs (0: never)",
    "stop_after": "save and stop after N steps as an interruption would (the schedule is unchanged)",
    "only_human_labels": "train only on keypoints a person placed or checked",
    "resume": "continue the run in --out exactly where its last.pth left off",
    "device": "auto | cpu | cuda",
    "workers": "data loader worker processes",
    "tensorboard": "also write the metrics as TensorBoard scalars to RUN_DIR/tensorboard (needs tensorboard)",
    "fsdp": "under torchrun: shard parameters, gradients and optimizer state (FSDP2) instead of DDP; checkpoints "
    "go to RUN_DIR/sharded/ plus the full weights in last.pth",
}
_SKIP = ("extra",)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "finetune",
        help="finetune a Sapiens model on a coco-goliath308 export",
        description="Finetune with the official recipe (spec §6). Under torchrun, runs DDP on every process "
        "(FSDP2 with --fsdp).",
    )
    p.add_argument("--config", type=Path, metavar="RUN.json", help="options as JSON (command-line options win)")
    for f in fields(RunConfig):
        if f.name in _SKIP:
            continue
        flag = "--" + f.name.replace("_", "-")
        default = default_of(f.name)
        kwargs: dict = {"dest": f.name, "default": None, "help": HELP.get(f.name, "")}
        if isinstance(default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif isinstance(default, tuple):
            kwargs.update(nargs=len(default), type=type(default[0]))
        elif f.name in ("lr", "layer_decay", "loss_spike_factor"):
            kwargs["type"] = float
        elif f.name == "stop_after":
            kwargs["type"] = int
        elif isinstance(default, (int, float)):
            kwargs["type"] = type(default)
        if f.name == "task":
            kwargs["choices"] = TASK_NAMES
        if f.name == "arch":
            kwargs["choices"] = ARCH_CHOICES
        if default is not None and not isinstance(default, bool):
            kwargs["help"] = f"{kwargs['help']} (default: {default})".strip()
        p.add_argument(flag, **kwargs)
    p.set_defaults(run=run)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    given = {f.name: getattr(args, f.name) for f in fields(RunConfig) if getattr(args, f.name, None) is not None}
    file_config = RunConfig.load(args.config) if args.config else None
    if file_config is None and given.get("resume") and given.get("out"):
        saved = Path(given["out"]) / CONFIG_NAME
        if saved.is_file():
            file_config = RunConfig.load(saved)
    if file_config is not None and given.get("resume"):
        for name in PER_INVOCATION:
            setattr(file_config, name, default_of(name))
    return merge(file_config, given)


def run(args: argparse.Namespace) -> int:
    from .loop import finetune

    summary = finetune(config_from_args(args))
    print(json.dumps({k: v for k, v in summary.items() if k != "losses"}))
    return 0
