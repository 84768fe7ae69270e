"""Formats registered by name, so the CLI, the app and the trainer list them from one table.

Each format module registers itself when ``sapiens_core.export`` is imported; a format may write, read, or
both (``sapiens-lite`` is import only).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .base import ExportItem, ExportOptions, ExportReport, ImportedImage, ImportOptions, ImportProblem

__all__ = ["Format", "register_format", "get_format", "format_names", "Writer", "Reader"]

Writer = Callable[[Path, Iterable[ExportItem], ExportOptions], ExportReport]
Reader = Callable[[Path, ImportOptions], Iterator["ImportedImage | ImportProblem"]]


@dataclass(frozen=True)
class Format:
    name: str  # what --format takes: "coco-goliath308"
    title: str  # for menus: "COCO keypoints, Goliath 308 (JSON)"
    target: str  # "file": --out names one file; "folder": --out names a folder of files
    suffix: str = ""  # default suffix of a file target, with the dot
    write: Writer | None = None
    read: Reader | None = None
    needs_layers: bool = False  # the writer reads per-pixel layers (load side files for it)
    description: str = ""  # one paragraph for --help and the app's export dialog

    def __post_init__(self) -> None:
        if self.target not in ("file", "folder"):
            raise ValueError(f"format {self.name}: target must be 'file' or 'folder', not {self.target!r}")
        if self.write is None and self.read is None:
            raise ValueError(f"format {self.name} neither writes nor reads")


_FORMATS: dict[str, Format] = {}


def register_format(fmt: Format) -> Format:
    if fmt.name in _FORMATS:
        raise ValueError(f"a format named {fmt.name!r} is already registered")
    _FORMATS[fmt.name] = fmt
    return fmt


def get_format(name: str) -> Format:
    try:
        return _FORMATS[name]
    except KeyError:
        raise KeyError(f"no format named {name!r} (known: {', '.join(sorted(_FORMATS))})") from None


def format_names(writable: bool | None = None, readable: bool | None = None) -> list[str]:
    """Registered names, sorted; ``writable=True`` keeps formats that export, ``readable=True`` those that import."""
    return sorted(
        n
        for n, f in _FORMATS.items()
        if (writable is None or (f.write is not None) == writable)
        and (readable is None or (f.read is not None) == readable)
    )
