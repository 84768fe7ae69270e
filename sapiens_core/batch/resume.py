"""``--resume``: is an input's output set already complete and valid, so the run can skip it?

Atomic writes guarantee whole files, not a whole set: the document is written after its side files, and the
colour map and overlay after the document, so a run killed between two files leaves a valid document with a
render missing. An input counts as finished only when all of these hold:

- its document loads (valid JSON of our format, a version we read);
- it describes this very image, so a name reused by another input is not taken: its image path is the input's,
  or, where the dataset was moved or is mounted elsewhere (a preempted job restarted on another node), it ends in
  the input's path below the inputs' common folder (``a/x.png`` of ``/old/ds/a/x.png`` and ``/new/ds/a/x.png``:
  two inputs never share that tail). Such a document is re-pointed at the image where it now lies, so the merged
  COCO file and the app find it;
- every task of this run is recorded in it, from the same model file;
- every side file it names exists, and so do ``STEM_seg_color.png`` (with a part map) and ``STEM_overlay.png``
  (unless ``--no-overlay``).

Anything else is redone (merged into whatever document is there, keeping human edits, as any re-run does).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..annotation import Annotation
from ..errors import SapiensError

__all__ = ["Expected", "finished_document", "input_root", "moved", "relocate_document"]


@dataclass(frozen=True)
class Expected:
    """What a finished output set of this run looks like."""

    models: Mapping[str, str] = field(default_factory=dict)  # task -> model file name (as provenance records it)
    overlay: bool = True
    root: str | None = None  # the folder all inputs of the run lie under (``input_root``)


def input_root(paths: list[str]) -> str | None:
    """The deepest folder holding every input of the whole run (all ranks: a share's root would be deeper and its
    tails too short to tell ``a/x.png`` from ``b/x.png``)."""
    folders = {os.path.dirname(os.path.abspath(p)) for p in paths}
    if not folders:
        return None
    try:
        return os.path.commonpath(sorted(folders))
    except ValueError:  # inputs on two Windows drives share no folder
        return None


def _parts(path: str) -> list[str]:
    return os.path.normcase(os.path.abspath(path)).replace(os.sep, "/").split("/")


def _same_input(recorded: str, image_path: str, root: str | None) -> bool:
    if _parts(recorded) == _parts(image_path):
        return True
    if root is None:
        return False
    tail = _parts(image_path)[len(_parts(root)) :]
    return _parts(recorded)[-len(tail) :] == tail


def finished_document(out: Path, stem: str, image_path: str, expected: Expected) -> Annotation | None:
    """The document (persons only, no layers loaded) when the output set of ``stem`` is complete, else None."""
    json_path = out / f"{stem}.json"
    if not json_path.is_file():
        return None
    try:
        doc = Annotation.load(json_path, layers=False)
    except (SapiensError, OSError, ValueError):
        return None
    if not _same_input(doc.image_path, image_path, expected.root):
        return None
    for task, file_name in expected.models.items():
        record = doc.models.get(task)
        if not isinstance(record, dict):
            return None
        # A depth record that a pointmap replaced names the pointmap's file; its presence is what counts.
        if record.get("source") is None and record.get("file") != file_name:
            return None
    if not all(os.path.isfile(p) for p in doc.side_files.values()):
        return None
    if "part_map" in doc.side_files and not (out / f"{stem}_seg_color.png").is_file():
        return None
    if expected.overlay and not (out / f"{stem}_overlay.png").is_file():
        return None
    return doc


def relocate_document(json_path: Path, image_path: str) -> Annotation:
    """Re-point a finished document of a moved dataset at its image's new place (saved atomically, layers and
    edits untouched); returns the document as saved."""
    doc = Annotation.load(json_path)
    doc.image_path = os.path.abspath(image_path)
    doc.save(json_path)
    return doc


def moved(doc: Annotation, image_path: str) -> bool:
    return _parts(doc.image_path) != _parts(image_path)
