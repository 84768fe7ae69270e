"""What every format module speaks: the items it writes, the items it reads back, and their options.

A writer takes an *iterable* of ``ExportItem`` (a project hands them over one loaded document at a time), so
memory stays flat however large the project is; progress and cancel wrap that iterable from outside
(``tqdm`` on the console, a cancel check in the app), so writers need no callbacks. A reader yields
``ImportedImage`` per image, or ``ImportProblem`` for an image it could not take (the rest continues); a
source that is unreadable as a whole raises ``AnnotationFormatError`` naming the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..annotation import Annotation, Person
from ..annotation.video_ref import VideoRef

__all__ = [
    "ExportItem",
    "ExportOptions",
    "ExportReport",
    "ImportOptions",
    "ImportedImage",
    "ImportProblem",
    "relative_name",
    "resolve_name",
]


@dataclass
class ExportItem:
    doc: Annotation
    stem: str  # unique within the export: names per-image output files
    doc_path: Path | None = None  # the document's JSON (its side files lie beside it), when saved


@dataclass
class ExportOptions:
    # Model-made points scoring below this are written as unlabeled; human-made points keep their visibility.
    # None writes the visibilities as they are.
    score_threshold: float | None = 0.3
    # Image names in the export are relative to this folder; None: to the folder the export is written into.
    images_root: Path | None = None
    embed_images: bool = False  # labelme: base64 imageData in each file (large; off by default)


@dataclass
class ExportReport:
    written: list[Path] = field(default_factory=list)  # files (or folders) the export created
    images: int = 0
    persons: int = 0
    problems: list[str] = field(default_factory=list)  # "name: what is wrong"; those images were left out


@dataclass
class ImportOptions:
    images_dir: Path | None = None  # where image names in the source are resolved; None: the source's folder
    keypoint_schema: str | None = None  # for sources that do not say (sapiens-lite): None = by point count
    class_schema: str = "sapiens_28"


@dataclass
class ImportedImage:
    source: str  # for messages: "train.json: image 'a.jpg'"
    image_path: Path  # resolved; the importer checks it exists and has ``size``
    size: tuple[int, int] | None  # (width, height) as the source states it; None: take the image's
    keypoint_schema: str | None = None
    class_schema: str | None = None
    persons: list[Person] = field(default_factory=list)
    layers: dict[str, np.ndarray] = field(default_factory=dict)  # part_map, foreground, depth, normal
    reviewed: bool = False
    models: dict[str, dict] = field(default_factory=dict)
    video: VideoRef | None = None  # the video frame the image is, where the source says (PoseTrack-style fields)


@dataclass
class ImportProblem:
    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


def relative_name(image_path: str | os.PathLike, root: Path) -> str:
    """``image_path`` relative to ``root`` with "/" separators; absolute when no relative path exists."""
    try:
        return Path(os.path.relpath(os.path.abspath(image_path), os.path.abspath(root))).as_posix()
    except ValueError:  # another drive on Windows
        return Path(os.path.abspath(image_path)).as_posix()


def resolve_name(name: str, base: Path) -> Path:
    """An image name from a source file, resolved against ``base`` (absolute names stay as they are)."""
    path = Path(name)
    return path if path.is_absolute() else Path(os.path.normpath(base / path))
