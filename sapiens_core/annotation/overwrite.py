"""Never save over a file this version cannot read.

A document that is malformed, another tool's JSON that happens to sit at a document's path, or one written by a
newer Sapiens Studio holds labels we cannot see; replacing it would destroy them silently. Every save path of the
app checks first, and the error tells the user what to do.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import AnnotationFormatError
from .document import Annotation

__all__ = ["check_overwritable"]


def check_overwritable(path: str | os.PathLike) -> None:
    """Return when ``path`` is free or holds a document this version reads; else AnnotationFormatError naming it."""
    path = Path(path)
    if not path.exists():
        return
    try:
        Annotation.load(path, layers=False)  # the side files are rewritten anyway; only the JSON must be ours
    except AnnotationFormatError as exc:
        raise AnnotationFormatError(
            f"{exc}. Not saved: the file was left as it is (move or repair it to save labels for this image)"
        ) from None
