"""A project folder: the annotation documents of a set of images, one versioned document per image.

It is what ``predict --out`` writes and what the app saves (``<image folder>/sapiens_studio/``): ``STEM.json``
documents with their side files beside them, plus anything else (``coco.json``, overlays) that is not a
document and is ignored here. Images are found through each document's relative path, so a project folder
moved together with its images keeps working. Iteration loads one document at a time: a project of a
million images never sits in memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from .annotation import FORMAT, SOURCE_HUMAN, Annotation
from .errors import SapiensError

__all__ = [
    "Project",
    "ProjectEntry",
    "ReviewState",
    "MissingImageError",
    "review_state",
    "RESULTS_FOLDER",
    "annotation_path",
]

# The app keeps each image's document in this folder beside the image (a project folder per image folder).
RESULTS_FOLDER = "sapiens_studio"

# Every document we write starts with this field (Annotation.save orders it first); reading the head of a
# JSON file is enough to tell a document from coco.json or a labelme file without parsing megabytes.
_HEAD_BYTES = 4096
_MARKER = f'"format": "{FORMAT}"'.encode()


class MissingImageError(SapiensError):
    """A document's image is not where the document says (the project was moved without its images)."""


class ReviewState(str, Enum):
    PREDICTED = "predicted"  # only model output
    EDITED = "edited"  # a person changed or added labels
    REVIEWED = "reviewed"  # a person checked the whole image

    def __str__(self) -> str:
        return self.value


def annotation_path(image_path: str | os.PathLike) -> Path:
    """Where the app keeps the document of ``image_path``: ``<image folder>/sapiens_studio/<stem>.json``."""
    image_path = Path(image_path)
    return image_path.parent / RESULTS_FOLDER / f"{image_path.stem}.json"


def review_state(doc: Annotation) -> ReviewState:
    if doc.reviewed:
        return ReviewState.REVIEWED
    if any((p.source == SOURCE_HUMAN).any() for p in doc.persons):
        return ReviewState.EDITED
    return ReviewState.PREDICTED


@dataclass
class ProjectEntry:
    path: Path  # the document's JSON
    doc: Annotation

    @property
    def stem(self) -> str:
        return self.path.stem

    @property
    def state(self) -> ReviewState:
        return review_state(self.doc)


class Project:
    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise SapiensError(f"{self.folder} is not a folder of annotation documents")

    def document_paths(self) -> list[Path]:
        """The documents in the folder (not recursive), sorted by name so every listing agrees."""
        return sorted(p for p in self.folder.glob("*.json") if p.is_file() and is_document(p))

    def __len__(self) -> int:
        return len(self.document_paths())

    def entries(self, layers: bool = True, only_reviewed: bool = False) -> Iterator[ProjectEntry]:
        """Each document loaded in turn (``layers=False``: persons only, no side files).

        A malformed document raises AnnotationFormatError naming it; callers that want to go on past it use
        ``document_paths`` and ``load`` themselves.
        """
        for path in self.document_paths():
            doc = self.load(path, layers=layers and not only_reviewed)
            if only_reviewed and not doc.reviewed:
                continue
            if layers and only_reviewed:
                doc = self.load(path)  # the cheap pass decided; now the side files of a document we keep
            yield ProjectEntry(path, doc)

    def load(self, path: str | os.PathLike, layers: bool = True) -> Annotation:
        return Annotation.load(path, layers=layers)

    @staticmethod
    def image_path(doc: Annotation, doc_path: Path | None = None) -> Path:
        """The document's image; MissingImageError names it (and the document) when it is not there."""
        path = Path(doc.image_path)
        if not path.is_file():
            where = f" (named by {doc_path})" if doc_path else ""
            raise MissingImageError(f"image {path} is missing{where}; was the project moved without its images?")
        return path

    def path_for(self, image_path: str | os.PathLike, taken: set[str] | None = None) -> Path:
        """Where the document of ``image_path`` goes: ``STEM.json``, or ``STEM_2.json`` … when another image
        already owns that stem (its document names a different image) or the stem is in ``taken``."""
        stem = Path(image_path).stem
        target = os.path.abspath(image_path)
        for n in range(1, 1_000_000):
            candidate = stem if n == 1 else f"{stem}_{n}"
            if taken is not None and candidate in taken:
                continue
            path = self.folder / f"{candidate}.json"
            if not path.exists():
                return path
            try:
                owner = Annotation.load(path, layers=False).image_path
            except SapiensError:
                continue  # an unreadable file keeps its name; never overwrite it
            if os.path.abspath(owner) == target:
                return path
        raise SapiensError(f"no free document name for {image_path} in {self.folder}")


def is_document(path: Path) -> bool:
    """True when ``path`` starts like an annotation document (cheap: reads 4 KB, parses nothing)."""
    try:
        with open(path, "rb") as f:
            return _MARKER in f.read(_HEAD_BYTES)
    except OSError:
        return False
