"""Per-pixel layers in a COCO file: person masks as RLE ``segmentation`` and the side files named per image.

Export: each person's ``segmentation`` is the document's foreground as compressed RLE (``counts`` a str, as
pycocotools writes it) — the whole foreground when the image has one person, the foreground inside the
person's box when it has several (the foreground is one mask for all persons; a box is the best split we
have). Each image names its side files in ``sapiens_layers`` ({layer: path}, relative to the same root as
``file_name``) and the part map's classes in ``class_schema``; the trainer reads them from there.

Import: the side files are read back with the readers the annotation document uses; where a file carries
no side files, the union of its persons' ``segmentation`` (RLE or polygons) becomes the foreground.
"""

from __future__ import annotations

import os
import warnings
from functools import partial
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from ..annotation import Annotation, layers
from .base import relative_name, resolve_name

__all__ = ["LAYER_NAMES", "image_fields", "add_person_masks", "read_layers", "foreground_from_segmentations"]

# The layers a document saves beside itself, and how each side file reads back (the document's own table is
# private; these are the same readers, so an exported layer imports exactly as the document loads it).
_READERS = {
    "part_map": layers.read_class_png,
    "foreground": layers.read_mask_png,
    "depth": partial(layers.read_float_npy, channels=None, what="depth"),
    "normal": partial(layers.read_float_npy, channels=3, what="normal"),
}
LAYER_NAMES = tuple(_READERS)


# -------------------------------------------------------------------------------------------------- export


def image_fields(doc: Annotation, root: Path) -> dict:
    """``class_schema`` and ``sapiens_layers`` for an image entry; ValueError when a side file is missing."""
    fields: dict = {}
    if doc.class_schema is not None:
        fields["class_schema"] = doc.class_schema
    named = {}
    for name in LAYER_NAMES:
        path = doc.side_files.get(name)
        if path is None:
            continue
        if not os.path.isfile(path):
            raise ValueError(f"its {name} side file {path} is missing")
        named[name] = relative_name(path, root)
    if named:
        fields["sapiens_layers"] = named
    return fields


def add_person_masks(doc: Annotation, records: list[dict]) -> None:
    """Set each record's ``segmentation`` from the document's foreground (left ``[]`` without one)."""
    if not records:
        return
    fg = _foreground(doc)
    if fg is None:
        return
    for record in records:
        if len(records) == 1:
            mask = fg
        else:
            x, y, w, h = record["bbox"]
            x1, y1 = max(0, int(np.floor(x))), max(0, int(np.floor(y)))
            x2, y2 = min(doc.width, int(np.ceil(x + w))), min(doc.height, int(np.ceil(y + h)))
            mask = np.zeros_like(fg)
            if x2 > x1 and y2 > y1:
                mask[y1:y2, x1:x2] = fg[y1:y2, x1:x2]
        if mask.any():
            rle = mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8))
            record["segmentation"] = {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def _foreground(doc: Annotation) -> np.ndarray | None:
    """The foreground in memory, else from its side file (callers may drop layers to keep memory flat)."""
    fg = doc.foreground
    if fg is None and "foreground" in doc.side_files:
        try:
            fg = _READERS["foreground"](doc.side_files["foreground"])
        except FileNotFoundError:
            raise ValueError(f"its foreground side file {doc.side_files['foreground']} is missing") from None
    if fg is not None and fg.shape != (doc.height, doc.width):
        raise ValueError(f"its foreground is {fg.shape[1]}x{fg.shape[0]}, the image is {doc.width}x{doc.height}")
    return fg


# -------------------------------------------------------------------------------------------------- import


def read_layers(entry: object, base: Path) -> dict[str, np.ndarray]:
    """The arrays named by an image's ``sapiens_layers``; ValueError naming the field or the side file."""
    if not isinstance(entry, dict):
        raise ValueError(f"sapiens_layers must map layer names to file names, not {_short(entry)}")
    arrays = {}
    for name, file_name in entry.items():
        if name not in _READERS:
            raise ValueError(f"sapiens_layers: unknown layer {name!r} (known: {', '.join(LAYER_NAMES)})")
        if not isinstance(file_name, str) or not file_name:
            raise ValueError(f"sapiens_layers.{name} must be a file name, not {_short(file_name)}")
        path = resolve_name(file_name, base)
        try:
            arrays[name] = _READERS[name](path)
        except FileNotFoundError:
            raise ValueError(f"sapiens_layers.{name}: the side file {path} is missing") from None
        except OSError as exc:
            raise ValueError(f"sapiens_layers.{name}: cannot read {path} ({exc.strerror or exc})") from None
        except ValueError as exc:
            raise ValueError(f"sapiens_layers.{name}: {exc}") from None
    return arrays


def foreground_from_segmentations(
    segmentations: list[tuple[str, object]], size: tuple[int, int] | None
) -> np.ndarray | None:
    """Union of the persons' masks ((where, segmentation) pairs); None when none has one."""
    present = [(where, seg) for where, seg in segmentations if seg not in (None, [], {})]
    if not present:
        return None
    if size is None:
        raise ValueError(f"{present[0][0]}: a segmentation needs the image's width and height")
    w, h = size
    union = np.zeros((h, w), dtype=bool)
    for where, seg in present:
        union |= _decode(seg, w, h, where)
    return union


def _decode(seg: object, w: int, h: int, where: str) -> np.ndarray:
    if isinstance(seg, dict):
        size, counts = seg.get("size"), seg.get("counts")
        if size != [h, w]:
            raise ValueError(f"{where}: segmentation.size {_short(size)} is not the image's [{h}, {w}]")
        if isinstance(counts, str):
            rle = {"size": size, "counts": counts.encode("ascii", "replace")}
        elif isinstance(counts, list) and all(_is_count(c) for c in counts):
            if sum(counts) != h * w:
                raise ValueError(f"{where}: segmentation.counts covers {sum(counts)} pixels, the image has {h * w}")
            rle = mask_utils.frPyObjects(seg, h, w)
        else:
            raise ValueError(f"{where}: segmentation.counts must be an RLE string or a list of run lengths")
    elif isinstance(seg, list):
        if not all(isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0 and all(_finite(c) for c in p) for p in seg):
            raise ValueError(f"{where}: segmentation polygons must be lists of at least 3 finite x, y pairs")
        rle = mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
    else:
        raise ValueError(f"{where}: segmentation must be RLE or a list of polygons, not {_short(seg)}")
    try:
        with warnings.catch_warnings():  # pycocotools 2.0.11 warns on every decode under numpy 2 (its copy keyword)
            warnings.simplefilter("ignore", DeprecationWarning)
            mask = mask_utils.decode(rle)
    except Exception as exc:  # pycocotools raises bare errors on malformed run-length strings
        raise ValueError(f"{where}: segmentation is not a readable RLE ({exc})") from None
    if mask.shape != (h, w):
        raise ValueError(f"{where}: segmentation decodes to {mask.shape[1]}x{mask.shape[0]}, the image is {w}x{h}")
    return mask.astype(bool)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
