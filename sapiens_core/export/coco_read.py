"""Reading a COCO keypoints file back into documents, checking every field a user or another tool may get wrong.

A file that is unreadable as a whole (not JSON, not COCO, a category with another keypoint list than the
layout's) raises ``AnnotationFormatError`` naming the file and the field. A wrong annotation (point count,
NaN or huge coordinates, visibility outside 0/1/2, an unknown category) or a wrong image entry (duplicate
id, missing side file) is an ``ImportProblem`` for that image, which then imports nothing; the rest goes on.

Points map onto ``layout.import_schema`` by name (and the layout's aliases); points the file does not carry
stay unlabeled with score 0 and source "model" (nobody checked them). Without ``keypoint_scores`` a labeled
point scores 1; without ``keypoint_sources`` the file's points count as human-made (a COCO file is labels).
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ..annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation, Person, VideoRef
from ..errors import AnnotationFormatError
from . import coco_layers
from .base import ExportItem, ExportOptions, ExportReport, ImportedImage, ImportOptions, ImportProblem, resolve_name
from .coco import CocoLayout, point_map, write_coco
from .registry import Format, register_format

__all__ = ["read_coco"]

# Larger than any image a person is annotated in; beyond it a coordinate is a unit or parsing mistake
# (and float32 stops holding whole pixels at 2**24).
MAX_COORDINATE = 1e6


def read_coco(src: Path, options: ImportOptions, layout: CocoLayout) -> Iterator[ImportedImage | ImportProblem]:
    """Check the file as a whole now (raising AnnotationFormatError), then yield its images one by one."""
    src = Path(src)
    data = _load(src)
    try:
        category_id, known_ids = _keypoint_category(data["categories"], layout)
    except ValueError as exc:
        raise AnnotationFormatError(f"{src}: {exc}") from None
    return _images(src, data, options, layout, category_id, known_ids)


def _load(src: Path) -> dict:
    try:
        text = src.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AnnotationFormatError(f"{src}: no such file") from None
    except UnicodeDecodeError:
        raise AnnotationFormatError(f"{src}: not a UTF-8 text file") from None
    except OSError as exc:
        raise AnnotationFormatError(f"{src}: cannot read it ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)  # NaN and Infinity parse, and are refused per field below
    except json.JSONDecodeError as exc:
        raise AnnotationFormatError(f"{src}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise AnnotationFormatError(f"{src}: not a COCO file (the top level must be an object)")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise AnnotationFormatError(f'{src}: not a COCO file (field "{key}" must be a list)')
    return data


def _keypoint_category(categories: list, layout: CocoLayout) -> tuple[int, set]:
    known = {c["id"] for c in categories if isinstance(c, dict) and _is_int(c.get("id"))}
    with_points = [(i, c) for i, c in enumerate(categories) if isinstance(c, dict) and "keypoints" in c]
    if len(with_points) > 1:
        with_points = [(i, c) for i, c in with_points if c.get("name") == "person"][:1] or with_points
    if len(with_points) != 1:
        raise ValueError(
            f'categories: needs exactly one category with "keypoints" (or one named "person"), found {len(with_points)}'
        )
    i, category = with_points[0]
    names, expected = category["keypoints"], list(layout.category.names)
    where = f"categories[{i}].keypoints"
    if not isinstance(names, list) or len(names) != len(expected):
        got = f"{len(names)} names" if isinstance(names, list) else _short(names)
        raise ValueError(f"{where} lists {got}; {layout.name} expects the {len(expected)} of {layout.category.name}")
    for k, (got, want) in enumerate(zip(names, expected, strict=True)):
        if got != want:
            raise ValueError(
                f"{where}[{k}] is {_short(got)}; {layout.name} expects {want!r} there "
                f"(the {layout.category.name} names in their order)"
            )
    if not _is_int(category.get("id")):
        raise ValueError(f"categories[{i}].id must be an integer, not {_short(category.get('id'))}")
    return category["id"], known


def _images(
    src: Path, data: dict, options: ImportOptions, layout: CocoLayout, category_id: int, known_ids: set
) -> Iterator[ImportedImage | ImportProblem]:
    base = Path(options.images_dir) if options.images_dir is not None else src.parent
    images = data["images"]
    id_counts = Counter(image.get("id") for image in images if isinstance(image, dict) and _is_int(image.get("id")))
    by_image: dict[int, list[tuple[int, object]]] = defaultdict(list)
    orphans = []
    for j, record in enumerate(data["annotations"]):
        image_id = record.get("image_id") if isinstance(record, dict) else None
        if _is_int(image_id) and image_id in id_counts:
            by_image[image_id].append((j, record))
        else:
            orphans.append(
                ImportProblem(
                    f"{src.name}: annotations[{j}]",
                    f"image_id {_short(image_id)} is not the id of an image in the file",
                )
            )
    back = point_map(layout.schema, layout.import_schema, layout.aliases)
    for i, image in enumerate(images):
        name = image.get("file_name") if isinstance(image, dict) else None
        source = f"{src.name}: image {name!r}" if isinstance(name, str) else f"{src.name}: images[{i}]"
        try:
            yield _image(image, by_image, id_counts, base, layout, category_id, known_ids, back, source)
        except ValueError as exc:
            yield ImportProblem(source, str(exc))
    yield from orphans


def _image(
    image: object,
    by_image: dict,
    id_counts: Counter,
    base: Path,
    layout: CocoLayout,
    category_id: int,
    known_ids: set,
    back: np.ndarray,
    source: str,
) -> ImportedImage:
    if not isinstance(image, dict):
        raise ValueError(f"an image entry must be an object, not {_short(image)}")
    if not _is_int(image.get("id")):
        raise ValueError(f"id must be an integer, not {_short(image.get('id'))}")
    if id_counts[image["id"]] > 1:
        raise ValueError(f'id {image["id"]} is used by {id_counts[image["id"]]} images (field "id")')
    if not isinstance(image.get("file_name"), str) or not image["file_name"]:
        raise ValueError(f"file_name must be a non-empty string, not {_short(image.get('file_name'))}")
    size = _size(image)
    reviewed = image.get("reviewed", False)
    if not isinstance(reviewed, bool):
        raise ValueError(f"reviewed must be true or false, not {_short(reviewed)}")
    class_schema = image.get("class_schema")
    if class_schema is not None and not isinstance(class_schema, str):
        raise ValueError(f"class_schema must be a name, not {_short(class_schema)}")
    video = _video(image)

    persons, segmentations = [], []
    for j, record in by_image.get(image["id"], []):
        has_id = isinstance(record, dict) and _is_int(record.get("id"))
        where = f"annotations[{j}]" + (f" (id {record['id']})" if has_id else "")
        if not isinstance(record, dict):
            raise ValueError(f"{where} must be an object")
        if not _is_int(record.get("category_id")) or record["category_id"] not in known_ids:
            raise ValueError(f'{where}: category_id {_short(record.get("category_id"))} is not in "categories"')
        if record["category_id"] != category_id or record.get("iscrowd", 0) == 1:
            continue  # other objects, and crowd regions (no one person to edit)
        try:
            person = _person(record, layout, back, default_id=len(persons))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if any(p.id == person.id for p in persons):
            raise ValueError(f"{where}: person_id {person.id} appears twice in this image")
        persons.append(person)
        segmentations.append((where, record.get("segmentation")))

    arrays = {}
    if "sapiens_layers" in image:
        arrays = coco_layers.read_layers(image["sapiens_layers"], base)
    if "foreground" not in arrays:
        fg = coco_layers.foreground_from_segmentations(segmentations, size)
        if fg is not None:
            arrays["foreground"] = fg
    imported = ImportedImage(
        source=source,
        image_path=resolve_name(image["file_name"], base),
        size=size,
        keypoint_schema=layout.import_schema.name,
        class_schema=class_schema,
        persons=persons,
        layers=arrays,
        reviewed=reviewed,
        video=video,
    )
    if size is not None:  # everything an editor will hold, checked now by the document's own rules
        Annotation(
            str(imported.image_path),
            size,
            imported.keypoint_schema,
            class_schema,
            persons,
            reviewed=reviewed,
            video=video,
            **arrays,
        ).validate()
    elif arrays:
        raise ValueError("sapiens_layers need the image's width and height")
    return imported


def _video(image: dict) -> VideoRef | None:
    """PoseTrack's ``vid_id`` and ``frame_id`` (both, or neither: one alone places the frame in no video)."""
    vid, frame = image.get("vid_id"), image.get("frame_id")
    if vid is None and frame is None:
        return None
    if isinstance(vid, int) and not isinstance(vid, bool):
        vid = str(vid)  # some PoseTrack-style files number their videos
    if not isinstance(vid, str) or not vid or not _is_int(frame) or frame < 0:
        raise ValueError(
            f"vid_id and frame_id must be a video name and a frame index >= 0, not {_short(vid)} and {_short(frame)}"
        )
    return VideoRef(vid, frame)


def _size(image: dict) -> tuple[int, int] | None:
    w, h = image.get("width"), image.get("height")
    if w is None and h is None:
        return None
    if not (_is_int(w) and _is_int(h) and w > 0 and h > 0):
        raise ValueError(f"width and height must be positive integers, not {_short(w)} and {_short(h)}")
    return int(w), int(h)


# -------------------------------------------------------------------------------------------------- persons


def _person(record: dict, layout: CocoLayout, back: np.ndarray, default_id: int) -> Person:
    parts = [_triples(record.get(name), name, count) for name, count in layout.parts]
    pts = np.concatenate(parts, axis=0)  # (K_file, 3) in file order
    k = len(pts)
    labeled = pts[:, 2] > 0
    scores = (
        _numbers(record["keypoint_scores"], "keypoint_scores", k)
        if "keypoint_scores" in record
        else labeled.astype(np.float64)
    )
    if "keypoint_sources" in record:
        sources = _numbers(record["keypoint_sources"], "keypoint_sources", k)
        if not np.isin(sources, (SOURCE_MODEL, SOURCE_HUMAN)).all():
            raise ValueError(f"keypoint_sources must be {SOURCE_MODEL} (model) or {SOURCE_HUMAN} (human)")
    else:
        sources = np.full(k, SOURCE_HUMAN)

    # Each document point takes its first labeled counterpart in file order, else its first one (a Goliath
    # wrist is both a COCO-WholeBody body point and a hand root).
    mapped = np.flatnonzero(back >= 0)
    target = back[mapped]
    order = np.lexsort((mapped, ~labeled[mapped], target))
    first = np.r_[True, target[order][1:] != target[order][:-1]]
    f, g = mapped[order][first], target[order][first]

    n = len(layout.import_schema)
    keypoints = np.zeros((n, 3), np.float32)
    visibility = np.zeros(n, np.uint8)
    source = np.full(n, SOURCE_MODEL, np.uint8)
    keypoints[g, :2] = pts[f, :2]
    keypoints[g, 2] = scores[f]
    visibility[g] = pts[f, 2]
    source[g] = sources[f]

    box = None
    if record.get("bbox") is not None:
        x, y, w, h = _numbers(record["bbox"], "bbox", 4).tolist()
        if w < 0 or h < 0 or max(abs(x), abs(y), w, h) > MAX_COORDINATE:
            raise ValueError(f"bbox [x, y, w, h] needs w, h >= 0 and values within {MAX_COORDINATE:g}")
        box = np.array([x, y, x + w, y + h], np.float32)
    pid = record.get("person_id", default_id)
    if not _is_int(pid):
        raise ValueError(f"person_id must be an integer, not {_short(pid)}")
    score = record.get("score")
    if score is not None and not (_is_number(score) and math.isfinite(score)):
        raise ValueError(f"score must be a finite number, not {_short(score)}")
    track_id = record.get("track_id")
    if track_id is not None and not (_is_int(track_id) and track_id >= 0):
        raise ValueError(f"track_id must be an integer >= 0, not {_short(track_id)}")
    return Person(int(pid), keypoints, visibility, source, box, None if score is None else float(score), track_id)


def _triples(value: object, name: str, count: int) -> np.ndarray:
    if value is None:
        raise ValueError(f"{name} is missing")
    flat = _numbers(value, name, 3 * count).reshape(count, 3)
    xy, v = flat[:, :2], flat[:, 2]
    if (np.abs(xy) > MAX_COORDINATE).any():
        worst = int(np.argmax(np.abs(xy).max(axis=1)))
        raise ValueError(f"{name}: point {worst} has coordinates {xy[worst].tolist()}, beyond ±{MAX_COORDINATE:g} px")
    bad = ~np.isin(v, (0, 1, 2))
    if bad.any():
        raise ValueError(f"{name}: visibility must be 0, 1 or 2; point {int(np.argmax(bad))} has {v[bad][0]:g}")
    return flat


def _numbers(value: object, name: str, length: int) -> np.ndarray:
    if not isinstance(value, list) or len(value) != length:
        got = f"{len(value)} values" if isinstance(value, list) else _short(value)
        raise ValueError(f"{name} must be a list of {length} numbers, got {got}")
    if not all(_is_number(x) for x in value):
        bad = next(x for x in value if not _is_number(x))
        raise ValueError(f"{name} must hold only numbers, found {_short(bad)}")
    array = np.array(value, dtype=np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} holds NaN or infinity at index {int(np.argmax(~np.isfinite(array)))}")
    return array


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def register_coco_format(layout: CocoLayout, title: str, description: str, needs_layers: bool = False) -> Format:
    """Register a COCO flavour: one file written by ``write_coco`` and read by ``read_coco`` in ``layout``."""

    def write(out: Path, items: Iterable[ExportItem], options: ExportOptions) -> ExportReport:
        return write_coco(out, items, options, layout)

    def read(src: Path, options: ImportOptions) -> Iterator[ImportedImage | ImportProblem]:
        return read_coco(src, options, layout)

    return register_format(
        Format(layout.name, title, "file", ".json", write, read, needs_layers=needs_layers, description=description)
    )
