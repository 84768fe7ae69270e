"""The training data of a run: the project exported as ``coco-goliath308`` with a train/val split into
``RUN_DIR/data/``, in a background job (the core's export code, the same as File → Export and the CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sapiens_core.errors import SapiensError
from sapiens_core.export import get_format
from sapiens_core.export.base import ExportOptions
from sapiens_core.export.split import Split
from sapiens_core.export.staged import export_project_staged
from sapiens_core.project import Project

from ..workers import Report
from .command import DATA_FOLDER, DATA_STEM

FORMAT = "coco-goliath308"  # the trainer's input
TRAIN, VAL = "train", "val"


@dataclass(frozen=True)
class TrainingData:
    train: Path
    val: Path | None  # None when the split left no image for validation (the run then has no eval curve)
    train_images: int
    val_images: int
    problems: tuple[str, ...] = ()  # documents that could not be read (left out)


def export_training_data(
    project_folder: Path, run_dir: Path, split: Split, only_reviewed: bool, report: Report
) -> TrainingData:
    """The job's body. ``split`` must have a part named ``train``; a part named ``val`` is the held-out set."""
    if TRAIN not in split.names:
        raise SapiensError(f"the split needs a part named {TRAIN!r} (e.g. train=0.9,val=0.1)")
    fmt = get_format(FORMAT)
    out = Path(run_dir) / DATA_FOLDER / f"{DATA_STEM}{fmt.suffix}"
    report(0, 0, f"exporting {FORMAT}")
    summary = export_project_staged(
        Project(project_folder),
        fmt,
        out,
        ExportOptions(),
        only_reviewed=only_reviewed,
        split=split,
        progress=lambda done, total: report(done, total, f"exporting {FORMAT}"),
    )
    counts = {part: r.images for part, r in summary.reports.items()}
    if counts.get(TRAIN, 0) == 0:
        raise SapiensError(f"no labelled image fell into the training part of {project_folder}")
    paths = {part: out.with_name(f"{out.stem}_{part}{out.suffix}") for part in summary.reports}
    val_images = counts.get(VAL, 0)
    return TrainingData(
        paths[TRAIN],
        paths[VAL] if val_images else None,
        counts[TRAIN],
        val_images,
        tuple(summary.all_problems),
    )
