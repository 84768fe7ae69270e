"""``--resume``: is an input's output set already complete and valid, so the run can skip it?

Atomic writes guarantee whole files, not a whole set: the document is written after its side files, and the
colour map and overlay after the document, so a run killed between two files leaves a valid document with a
render missing. An input counts as finished only when all of these hold:

- its document loads (valid JSON of our format, a version we read);
- it describes this very image (its image path is the input's), so a name reused by another input is not taken;
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

__all__ = ["Expected", "finished_document"]


@dataclass(frozen=True)
class Expected:
    """What a finished output set of this run looks like."""

    models: Mapping[str, str] = field(default_factory=dict)  # task -> model file name (as provenance records it)
    overlay: bool = True


def _same_file(a: str, b: str) -> bool:
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def finished_document(out: Path, stem: str, image_path: str, expected: Expected) -> Annotation | None:
    """The document (persons only, no layers loaded) when the output set of ``stem`` is complete, else None."""
    json_path = out / f"{stem}.json"
    if not json_path.is_file():
        return None
    try:
        doc = Annotation.load(json_path, layers=False)
    except (SapiensError, OSError, ValueError):
        return None
    if not _same_file(doc.image_path, image_path):
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
