"""Import another tool's labels into a project folder: the one code path of the CLI and the app.

Every image the source names is checked before anything is written for it: the image exists, its size is
what the source says, the labelled points are finite and near the image, and the document validates. A
problem names the source and the field, nothing is written for that image, and the rest goes on. An
existing document is never replaced unless asked (``overwrite``), and even then every point a person made
stays (``merge_keep_human``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..annotation import Annotation, merge_keep_human
from ..errors import SapiensError
from ..io.images import read_image_size
from ..project import Project
from ..schema import keypoint_schema
from .base import ImportedImage, ImportOptions, ImportProblem
from .registry import Format

__all__ = ["import_into_project", "ImportSummary", "check_points"]

# Labelled points may lie a little outside the image (a hand cut off by the frame), but not arbitrarily far:
# a coordinate beyond this many image sizes from the image is a unit or parsing error in the source.
_MAX_OUTSIDE = 1.0


@dataclass
class ImportSummary:
    created: list[Path] = field(default_factory=list)  # new documents
    merged: list[Path] = field(default_factory=list)  # existing documents updated (overwrite)
    kept: list[Path] = field(default_factory=list)  # existing documents left alone (no overwrite)
    problems: list[str] = field(default_factory=list)


def import_into_project(
    fmt: Format,
    src: str | Path,
    project_dir: str | Path,
    options: ImportOptions | None = None,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    if fmt.read is None:
        raise SapiensError(f"{fmt.name} can only be exported, not imported")
    src = Path(src)
    if not src.exists():
        raise SapiensError(f"{src}: no such file or folder")
    project_dir = Path(project_dir)
    try:
        project_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SapiensError(f"cannot create the project folder {project_dir} ({exc.strerror or exc})") from None
    project = Project(project_dir)
    summary = ImportSummary()
    taken: set[str] = set()  # stems given out in this run: two images named a.jpg in different folders
    for n, item in enumerate(fmt.read(src, options or ImportOptions()), start=1):
        if isinstance(item, ImportProblem):
            summary.problems.append(str(item))
        else:
            try:
                _import_one(item, project, overwrite, taken, summary)
            except (SapiensError, ValueError, OSError) as exc:
                summary.problems.append(f"{item.source}: {' '.join(str(exc).split())}")
        if progress is not None:
            progress(n)
    return summary


def _import_one(
    item: ImportedImage, project: Project, overwrite: bool, taken: set[str], summary: ImportSummary
) -> None:
    if not item.image_path.is_file():
        raise ValueError(f"image {item.image_path} is missing (pass --images DIR where the images are)")
    size = read_image_size(item.image_path)
    if item.size is not None and tuple(item.size) != tuple(size):
        raise ValueError(
            f"the source says the image is {item.size[0]}x{item.size[1]}, {item.image_path.name} is {size[0]}x{size[1]}"
        )
    doc = Annotation(
        str(item.image_path),
        size,
        item.keypoint_schema,
        item.class_schema,
        persons=item.persons,
        models=item.models,
        reviewed=item.reviewed,
        video=item.video,
        **item.layers,
    )
    doc.validate()
    check_points(doc)
    path = project.path_for(item.image_path, taken)
    taken.add(path.stem)
    if path.exists():
        if not overwrite:
            summary.kept.append(path)
            return
        doc = merge_keep_human(project.load(path), doc)
        doc.save(path)
        summary.merged.append(path)
    else:
        doc.save(path)
        summary.created.append(path)


def check_points(doc: Annotation) -> None:
    """ValueError naming the person and point when a labelled point is not finite or far outside the image."""
    w, h = doc.width, doc.height
    low = np.array([-_MAX_OUTSIDE * w, -_MAX_OUTSIDE * h])
    high = np.array([(1 + _MAX_OUTSIDE) * w, (1 + _MAX_OUTSIDE) * h])
    for person in doc.persons:
        xy = person.keypoints[:, :2].astype(np.float64)
        labelled = person.visibility > 0
        bad = labelled & ~(np.isfinite(xy).all(axis=1) & (xy >= low).all(axis=1) & (xy <= high).all(axis=1))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            x, y = (float(v) for v in xy[i])
            shown = ", ".join("NaN" if math.isnan(v) else f"{v:g}" for v in (x, y))
            raise ValueError(
                f"person {person.id}, keypoint {_point_name(doc, i)}: ({shown}) is not a point of the "
                f"{w}x{h} image (labelled points must be finite and near the image)"
            )
        if person.box is not None and not np.isfinite(person.box).all():
            raise ValueError(f"person {person.id}: the box has a non-finite coordinate")


def _point_name(doc: Annotation, index: int) -> str:
    try:
        return f"{index} ({keypoint_schema(doc.keypoint_schema).names[index]})"
    except (KeyError, TypeError, IndexError):
        return str(index)
