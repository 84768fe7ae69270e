"""Exporters, registered by name so the CLI and the app list them from one table (no if/elif chains).

Each exporter writes a set of annotations to one file: ``exporter.write(path, annotations, **options)``;
``read`` imports such a file back where that makes sense.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .coco import from_coco, to_coco, write_coco
from .masks import write_depth, write_normal, write_part_map, write_part_map_color

__all__ = ["Exporter", "register_exporter", "get_exporter", "exporter_names",
           "to_coco", "from_coco", "write_coco",
           "write_part_map", "write_part_map_color", "write_depth", "write_normal"]


@dataclass(frozen=True)
class Exporter:
    name: str
    title: str                     # for menus: "COCO keypoints (JSON)"
    suffix: str                    # default file suffix, with the dot
    write: Callable[..., object]   # write(path, annotations, schema, **options)
    read: Callable[..., object] | None = None  # read(path, schema) -> {file_name: [Person]}


_EXPORTERS: dict[str, Exporter] = {}


def register_exporter(exporter: Exporter) -> Exporter:
    if exporter.name in _EXPORTERS:
        raise ValueError(f"an exporter named {exporter.name!r} is already registered")
    _EXPORTERS[exporter.name] = exporter
    return exporter


def get_exporter(name: str) -> Exporter:
    try:
        return _EXPORTERS[name]
    except KeyError:
        raise KeyError(f"no exporter named {name!r} (known: {', '.join(sorted(_EXPORTERS))})") from None


def exporter_names() -> list[str]:
    return sorted(_EXPORTERS)


register_exporter(Exporter("coco", "COCO keypoints (JSON)", ".json", write_coco, from_coco))
