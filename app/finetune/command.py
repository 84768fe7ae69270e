"""The trainer's command lines, built from what the dialog asks for: plain data in, argv lists out (no Qt)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from sapiens_core.nn import ARCHS, SMALL_ARCHS

# The sizes the trainer takes (its --arch choices), the tiny test model first.
ARCH_CHOICES = tuple(f"sapiens_{name}" for name in (*SMALL_ARCHS, *ARCHS))
DATA_FOLDER = "data"  # inside the run folder: the exported coco-goliath308 files
DATA_STEM = "train"  # export target data/train.json; a split writes data/train_<part>.json


@dataclass(frozen=True)
class FinetuneRequest:
    task: str
    arch: str
    run_dir: Path
    epochs: int = 1
    batch_size: int = 2
    init: str | None = None  # checkpoint file, None: random start
    keypoints: str | None = None  # shipped set name or schema JSON; None: Goliath-308 (pose only)
    device: str = "auto"
    gpus: int = 1  # >1: one process per GPU under torchrun
    extra: tuple[str, ...] = field(default_factory=tuple)  # further trainer options, passed as they are


def parse_extra(text: str) -> tuple[str, ...]:
    """The dialog's free "more options" field as shell words; ValueError for unbalanced quotes."""
    return tuple(shlex.split(text))


def launcher(gpus: int) -> list[str]:
    """Arguments after the Python executable that start the trainer on ``gpus`` processes."""
    if gpus > 1:
        # torchrun as a module of the same interpreter: no reliance on a `torchrun` script on PATH.
        return ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(gpus), "-m", "trainer"]
    return ["-m", "trainer"]


def finetune_args(request: FinetuneRequest, train: Path, val: Path | None) -> list[str]:
    args = [*launcher(request.gpus), "finetune", "--task", request.task, "--arch", request.arch]
    args += ["--data", str(train)]
    if val is not None:
        args += ["--val", str(val)]
    args += ["--out", str(request.run_dir), "--epochs", str(request.epochs), "--batch-size", str(request.batch_size)]
    if request.init:
        args += ["--init", request.init]
    if request.keypoints and request.task == "pose":
        args += ["--keypoints", request.keypoints]
    # Several processes each take one GPU; "auto" could fall back to the CPU on one rank and not another.
    args += ["--device", "cuda" if request.gpus > 1 else request.device]
    return [*args, *request.extra]


def resume_args(run_dir: Path, gpus: int) -> list[str]:
    """Every other option comes back from the run's own config.json."""
    return [*launcher(gpus), "finetune", "--out", str(run_dir), "--resume"]


def export_args(run_dir: Path, models_dir: Path, fmt: str = "torchscript") -> list[str]:
    return ["-m", "trainer", "export", str(run_dir), "--format", fmt, "--out", str(models_dir)]


def default_run_dir(project_folder: Path, task: str) -> Path:
    """A fresh folder beside the project folder (not inside it: the project's documents stay the only JSON
    files there), numbered so an earlier run is never written into."""
    base = Path(project_folder).parent / "finetune"
    n = 1
    while (base / f"{task}_run{n}").exists():
        n += 1
    return base / f"{task}_run{n}"
