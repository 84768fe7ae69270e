"""Export a project folder with a registered format: the one code path of the CLI and the app.

Documents are loaded one at a time and handed to the format's writer; a document that cannot be read is
named in the report and left out (the rest is exported). With a split, each part is written to its own
file (``OUT_train.json``) or folder (``OUT/train/``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SapiensError
from ..project import Project
from .base import ExportItem, ExportOptions, ExportReport, relative_name
from .registry import Format
from .split import Split

__all__ = ["export_project", "ExportCancelled", "ExportSummary", "split_targets"]

Progress = Callable[[int, int], None]  # (documents done, documents in all)


class ExportCancelled(SapiensError):
    """The user cancelled; the writer's temporary file was removed and nothing was written."""


@dataclass
class ExportSummary:
    reports: dict[str, ExportReport] = field(default_factory=dict)  # part name ("" without split) -> report
    problems: list[str] = field(default_factory=list)  # documents that could not be read

    @property
    def written(self) -> list[Path]:
        return [p for r in self.reports.values() for p in r.written]

    @property
    def all_problems(self) -> list[str]:
        return self.problems + [p for r in self.reports.values() for p in r.problems]


def split_targets(fmt: Format, out: Path, split: Split | None) -> dict[str, Path]:
    """Output path per part: ``{"": out}`` without a split."""
    if split is None:
        return {"": out}
    if fmt.target == "folder":
        return {name: out / name for name in split.names}
    suffix = out.suffix or fmt.suffix
    return {name: out.with_name(f"{out.stem}_{name}{suffix}") for name in split.names}


def export_project(
    project: Project,
    fmt: Format,
    out: str | Path,
    options: ExportOptions | None = None,
    only_reviewed: bool = False,
    split: Split | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ExportSummary:
    if fmt.write is None:
        raise SapiensError(f"{fmt.name} can only be imported, not exported")
    out = Path(out)
    options = options or ExportOptions()
    paths = project.document_paths()
    summary = ExportSummary()
    targets = split_targets(fmt, out, split)
    done = 0
    total = len(paths) * len(targets)
    first_part = next(iter(targets))
    for part, target in targets.items():
        if fmt.target == "folder":
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)

        def items(part: str = part) -> Iterator[ExportItem]:
            nonlocal done
            for path in paths:
                if cancelled is not None and cancelled():
                    raise ExportCancelled("export cancelled; nothing was written for the part in progress")
                problems = summary.problems if part == first_part else None  # name a bad document once
                item = _item(project, path, fmt, only_reviewed, split, part, problems)
                done += 1
                if progress is not None:
                    progress(done, total)
                if item is not None:
                    yield item

        summary.reports[part] = fmt.write(target, items(), options)
    return summary


def _item(
    project: Project,
    path: Path,
    fmt: Format,
    only_reviewed: bool,
    split: Split | None,
    part: str,
    problems: list[str] | None,
) -> ExportItem | None:
    """The document at ``path`` when it belongs to this export (None otherwise); an unreadable one is
    reported once (``problems`` is given for the first part only) and skipped."""
    try:
        head = project.load(path, layers=False)
        if only_reviewed and not head.reviewed:
            return None
        if split is not None and split.part_of(relative_name(head.image_path, project.folder)) != part:
            return None
        doc = project.load(path) if fmt.needs_layers else head
    except SapiensError as exc:
        if problems is not None:
            problems.append(str(exc))
        return None
    return ExportItem(doc, path.stem, path)
