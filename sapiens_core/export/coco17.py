"""``coco17``: standard COCO person keypoints, the 17 points taken from each document by name.

Import maps the 17 points back onto a Goliath-308 document (the other 291 unlabeled), so imported COCO
labels are corrected in the same editor as everything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from ..schema import keypoint_schema
from .base import ExportItem, ExportOptions, ExportReport, ImportedImage, ImportOptions, ImportProblem
from .coco import CocoLayout, write_coco
from .coco_read import read_coco
from .registry import Format, register_format

_COCO17 = keypoint_schema("coco_17")
LAYOUT = CocoLayout(
    name="coco17", title="COCO 17", schema=_COCO17, category=_COCO17, import_schema=keypoint_schema("goliath_308")
)


def write(out: Path, items: Iterable[ExportItem], options: ExportOptions) -> ExportReport:
    return write_coco(out, items, options, LAYOUT)


def read(src: Path, options: ImportOptions) -> Iterator[ImportedImage | ImportProblem]:
    return read_coco(src, options, LAYOUT)


FORMAT = register_format(
    Format(
        name="coco17",
        title="COCO keypoints, 17 body points (JSON)",
        target="file",
        suffix=".json",
        write=write,
        read=read,
        description="Standard COCO person keypoints (17 points, taken from the documents by name); imports into "
        "Goliath-308 documents.",
    )
)
