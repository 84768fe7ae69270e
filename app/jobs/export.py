"""Export a project folder in a background job: the CLI's code path (``export_project``), staged so that a cancel
or a failure leaves no partial file at the target."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sapiens_core.export import get_format
from sapiens_core.export.base import ExportOptions
from sapiens_core.export.project_export import ExportSummary
from sapiens_core.export.split import Split
from sapiens_core.export.staged import export_project_staged
from sapiens_core.project import Project

from ..workers import Job, JobRunner, Report


@dataclass(frozen=True)
class ExportRequest:
    project_folder: Path
    format: str
    out: Path
    only_reviewed: bool = False
    split: Split | None = None
    score_threshold: float | None = 0.3


def run_export(request: ExportRequest, report: Report) -> ExportSummary:
    """The job's body: ``report`` gives progress and raises ``JobCancelled`` once cancelled, which unwinds
    through the staged export (it removes its staging) and ends the job as cancelled."""
    fmt = get_format(request.format)
    project = Project(request.project_folder)
    report(0, 0, f"exporting {fmt.name}")
    return export_project_staged(
        project,
        fmt,
        request.out,
        ExportOptions(score_threshold=request.score_threshold),
        only_reviewed=request.only_reviewed,
        split=request.split,
        progress=lambda done, total: report(done, total, f"exporting {fmt.name}"),
    )


def start_export(runner: JobRunner, request: ExportRequest, connect=None) -> Job:
    return runner.start(f"Export {request.format}", lambda report: run_export(request, report), connect)
