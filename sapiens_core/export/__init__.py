"""Label formats: export a project's documents and import other tools' files, registered by name.

``get_format(name)`` gives a ``Format`` with ``write(out, items, options)`` and/or ``read(src, options)``;
``format_names()`` lists them for the CLI and the app. One module per format; each registers itself below.
"""

from __future__ import annotations

from .base import (
    ExportItem,
    ExportOptions,
    ExportReport,
    ImportedImage,
    ImportOptions,
    ImportProblem,
    relative_name,
    resolve_name,
)
from .coco import CocoLayout, own_schema_layout, write_coco
from .coco_read import read_coco
from .masks import write_depth, write_normal, write_part_map, write_part_map_color
from .registry import Format, format_names, get_format, register_format

__all__ = [
    "Format",
    "register_format",
    "get_format",
    "format_names",
    "ExportItem",
    "ExportOptions",
    "ExportReport",
    "ImportOptions",
    "ImportedImage",
    "ImportProblem",
    "relative_name",
    "resolve_name",
    "CocoLayout",
    "own_schema_layout",
    "write_coco",
    "read_coco",
    "write_part_map",
    "write_part_map_color",
    "write_depth",
    "write_normal",
]

# The format modules register themselves on import (one line each, keep sorted).
from . import (
    coco17,  # noqa: E402,F401
    coco_goliath308,  # noqa: E402,F401
    coco_wholebody133,  # noqa: E402,F401
    depth_normal,  # noqa: E402,F401
    labelme,  # noqa: E402,F401
    masks,  # noqa: E402,F401
    matting,  # noqa: E402,F401
    sapiens_lite,  # noqa: E402,F401
)
