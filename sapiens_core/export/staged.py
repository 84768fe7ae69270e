"""Export that writes nothing at its target until it has finished: a cancel or a failure leaves no partial file.

``export_project`` writes a file format atomically, but a folder format (labelme, masks) writes its files one by
one, and a split writes its parts one after the other: a cancel in the middle would leave half an export that
looks complete. Here the export goes to hidden staging names beside the target (the same folder depth, so the
image names inside, which are relative to where the export is written, come out the same), and the finished files
are moved into place only once every document went through; on cancel or error the staging is removed.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from ..project import Project
from .base import ExportOptions
from .project_export import ExportSummary, Progress, export_project, split_targets
from .registry import Format
from .split import Split

__all__ = ["export_project_staged"]


def export_project_staged(
    project: Project,
    fmt: Format,
    out: str | os.PathLike,
    options: ExportOptions | None = None,
    only_reviewed: bool = False,
    split: Split | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ExportSummary:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.with_name(f".{out.stem}.partial-{secrets.token_hex(4)}{out.suffix}")
    staged_targets = split_targets(fmt, stage, split)
    final_targets = split_targets(fmt, out, split)
    try:
        summary = export_project(project, fmt, stage, options, only_reviewed, split, progress, cancelled)
    except BaseException:
        _remove(stage, staged_targets)
        raise
    moved: dict[Path, Path] = {}
    for part, staged in staged_targets.items():
        final = final_targets[part]
        if fmt.target == "folder":
            _merge_folder(staged, final)
        else:
            os.replace(staged, final)
        moved[staged] = final
    _remove(stage, staged_targets)
    for report in summary.reports.values():
        report.written = [_moved_path(p, moved) for p in report.written]
    return summary


def _merge_folder(staged: Path, final: Path) -> None:
    """Move every file of ``staged`` into ``final`` (which may exist and hold other files: a folder export adds to
    it, as ``export_project`` does); each file replaces its namesake atomically."""
    for root, _dirs, files in os.walk(staged):
        target_dir = final / Path(root).relative_to(staged)
        target_dir.mkdir(parents=True, exist_ok=True)
        for name in files:
            os.replace(Path(root) / name, target_dir / name)


def _moved_path(path: Path, moved: dict[Path, Path]) -> Path:
    for staged, final in moved.items():
        if path == staged:
            return final
        try:
            return final / path.relative_to(staged)
        except ValueError:
            continue
    return path


def _remove(stage: Path, staged_targets: dict[str, Path]) -> None:
    for path in {stage, *staged_targets.values()}:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists():
            try:
                path.unlink()
            except OSError:
                pass
