"""A model's new output for an image that may already have a document on disk: what to save in its place.

Re-labelling a corrected project with a (finetuned) model must keep every correction: the existing document is
merged with ``merge_keep_human`` (human-made points and reviewed documents kept). ``overwrite`` replaces it.
A document that cannot be read (malformed, foreign, newer version) is never overwritten silently: the error
names the file and the caller reports that image as failed, keeping the original.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import SapiensError
from .document import Annotation
from .merge import merge_keep_human

__all__ = ["relabel"]


def relabel(doc_path: str | Path, incoming: Annotation, overwrite: bool = False) -> Annotation:
    """``incoming`` as it should be saved at ``doc_path``: merged into the document there, if any."""
    path = Path(doc_path)
    if overwrite or not path.is_file():
        return incoming
    existing = Annotation.load(path)  # AnnotationFormatError (a SapiensError) names the file
    try:
        return merge_keep_human(existing, incoming)
    except ValueError as exc:
        raise SapiensError(f"{path}: {exc} (--overwrite replaces it)") from None
