"""Per-pixel layers as stand-alone files: class-id and coloured part maps, depth and normal arrays.

All writes are atomic. The coloured part map is an indexed (palette) PNG: viewers show the class colours,
while its pixel values are still the class ids (as PASCAL VOC label files), so one file serves people and
training code alike.

The ``masks`` format writes, per image ``STEM`` (the names ``predict`` and the annotation document use):
``STEM_seg.png`` (8-bit single-channel class ids, 0..27 for sapiens_28), ``STEM_seg_color.png`` (the same
ids as a palette PNG in the official colours) and ``STEM_fg.png`` (person mask, 0 or 255). Import reads
``*_seg.png`` and ``*_fg.png`` back (the coloured file is for people; its ids duplicate ``_seg.png``) and
matches ``STEM`` to the image of that stem under ``ImportOptions.images_dir`` (default: the source folder).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from ..annotation import layers
from ..io.atomic import atomic_write_bytes
from ..schema import ClassSchema, class_schema
from ._files import ImageIndex, read_layer_files, source_of, walk_files
from .base import ExportItem, ExportOptions, ExportReport, ImportedImage, ImportOptions, ImportProblem
from .registry import Format, register_format

__all__ = [
    "write_part_map",
    "write_part_map_color",
    "write_depth",
    "write_normal",
    "write_masks",
    "read_masks",
    "MASK_SUFFIXES",
]

# layer -> file ending; the coloured map is written beside the class ids but never read back.
MASK_SUFFIXES = {"part_map": "_seg.png", "foreground": "_fg.png"}
COLOR_SUFFIX = "_seg_color.png"


def write_part_map(path: str | os.PathLike, class_map: np.ndarray) -> None:
    """(H, W) uint8 class ids as a lossless single-channel PNG."""
    layers.write_class_png(path, class_map)


def write_part_map_color(path: str | os.PathLike, class_map: np.ndarray, class_schema: ClassSchema) -> None:
    """(H, W) uint8 class ids as a palette PNG coloured with ``class_schema``'s RGB colours."""
    class_map = layers.check_class_map(class_map)
    image = Image.fromarray(np.ascontiguousarray(class_map))
    image.putpalette(class_schema.palette().tobytes(), rawmode="RGB")  # turns the "L" image into "P"
    buffer = io.BytesIO()
    # zlib level 1 (OpenCV's PNG default too): on a 12 MP map of a noisy model 2x faster than PIL's 6 at a
    # file 3% larger; smooth real maps compress well either way.
    image.save(buffer, format="PNG", compress_level=1)
    atomic_write_bytes(path, buffer.getbuffer())


def write_depth(path: str | os.PathLike, depth: np.ndarray) -> None:
    """(H, W) float32 relative depth as ``.npy`` (NaN = background)."""
    layers.write_float_npy(path, depth, None, "depth")


def write_normal(path: str | os.PathLike, normal: np.ndarray) -> None:
    """(H, W, 3) float32 unit normals as ``.npy`` (NaN = background)."""
    layers.write_float_npy(path, normal, 3, "normal")


# ---------------------------------------------------------------------------------------------- the format


def write_masks(out: Path, items: Iterable[ExportItem], options: ExportOptions) -> ExportReport:
    """Per image the class-id PNG, its coloured twin and the person mask, for the layers it has."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    for item in items:
        doc = item.doc
        if doc.part_map is None and doc.foreground is None:
            continue  # nothing per-pixel to write for this image
        try:
            colors = class_schema(doc.class_schema or "sapiens_28") if doc.part_map is not None else None
        except KeyError:
            report.problems.append(f"{item.stem}: unknown class schema {doc.class_schema!r}")
            continue
        if doc.part_map is not None:
            write_part_map(out / f"{item.stem}_seg.png", doc.part_map)
            write_part_map_color(out / f"{item.stem}{COLOR_SUFFIX}", doc.part_map, colors)
            report.written += [out / f"{item.stem}_seg.png", out / f"{item.stem}{COLOR_SUFFIX}"]
        if doc.foreground is not None:
            layers.write_mask_png(out / f"{item.stem}_fg.png", doc.foreground)
            report.written.append(out / f"{item.stem}_fg.png")
        report.images += 1
    return report


def read_masks(src: Path, options: ImportOptions) -> Iterator[ImportedImage | ImportProblem]:
    """``part_map`` / ``foreground`` per stem, checked against the class schema and the image's size."""
    src = Path(src)
    schema = class_schema(options.class_schema)
    by_stem: dict[str, dict[str, list[Path]]] = {}
    for path in walk_files(src, tuple(MASK_SUFFIXES.values())):
        for layer, suffix in MASK_SUFFIXES.items():
            if path.name.endswith(suffix):
                by_stem.setdefault(path.name[: -len(suffix)], {}).setdefault(layer, []).append(path)
    images = ImageIndex(
        options.images_dir or (src if src.is_dir() else src.parent), skip=(*MASK_SUFFIXES.values(), COLOR_SUFFIX)
    )
    for stem in sorted(by_stem):
        files = by_stem[stem]
        first = next(iter(files.values()))[0]
        try:
            yield _read_stem(stem, files, images, schema)
        except ValueError as exc:
            yield ImportProblem(source_of(exc, first), str(exc))


def _read_stem(stem: str, files: dict[str, list[Path]], images: ImageIndex, schema: ClassSchema) -> ImportedImage:
    def read_one(layer: str, path: Path) -> np.ndarray:
        if layer != "part_map":
            return layers.read_mask_png(path)
        array = layers.read_class_png(path)
        present = np.flatnonzero(np.bincount(array.ravel(), minlength=256))
        unknown = present[(present >= len(schema)) & (present != 255)]  # 255 = "ignore" in training
        if unknown.size:
            raise ValueError(
                f"class ids {unknown.tolist()[:8]} are outside {schema.name} (0..{len(schema) - 1}, or 255 = ignore)"
            )
        return array

    image_path, size, arrays = read_layer_files(stem, files, images, read_one)
    return ImportedImage(
        source=str(files[next(iter(files))][0]),
        image_path=image_path,
        size=size,
        class_schema=schema.name if "part_map" in arrays else None,
        layers=arrays,
    )


register_format(
    Format(
        name="masks",
        title="Part maps and person masks (PNG per image)",
        target="folder",
        suffix=".png",
        write=write_masks,
        read=read_masks,
        needs_layers=True,
        description="Per image STEM_seg.png (8-bit class ids), STEM_seg_color.png (the same ids with the official "
        "palette) and STEM_fg.png (person mask 0/255); import reads the class ids and masks back.",
    )
)
