"""COCO keypoints JSON, the shared machinery: one streaming writer and one reader for every COCO layout.

Conventions (COCO, mmpose ``BaseCocoStyleDataset``): one category "person" listing the keypoint names in
file order and a 1-based skeleton; per person ``keypoints`` = [x, y, v] * K with v 0 unlabeled, 1 labeled but
occluded, 2 visible; unlabeled points are written as x = y = 0. ``bbox`` is [x, y, w, h], ``area`` its w * h.
A ``CocoLayout`` says which points a file holds and in which fields (COCO-WholeBody splits them over
``keypoints``, ``foot_kpts``, ``face_kpts``, …); points are matched to a document's keypoint set by name (plus
a small alias table per layout), so one Goliath-308 document exports to every layout and imports back.

Extension fields, ignored by COCO tools, keep a round trip lossless. Per annotation: ``keypoint_scores`` (as
mmpose writes predictions), ``keypoint_sources`` (0 model, 1 human: a trainer may keep only checked labels),
``person_id``, ``score`` (the detector's), ``track_id`` (a tracked video's person ID, as PoseTrack names it). Per
image: ``reviewed``; for a video frame PoseTrack's ``vid_id`` (here the video's file name) and ``frame_id`` (the
frame's index in the video, from 0); with layers, ``class_schema`` and ``sapiens_layers`` (see ``coco_layers``).
The file holds nothing that varies between runs (no date), so export -> import -> export gives the same bytes.

``score_threshold`` can only remove labels: a model-made point scoring below it is written as unlabeled;
human-made points keep their visibility whatever their score; None exports the visibilities as they are.
Persons with no labeled point and no box carry nothing to train on and are left out.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..annotation import SOURCE_MODEL, Annotation, Person
from ..annotation.person import float32_to_json
from ..io.atomic import atomic_path
from ..schema import KeypointSchema, keypoint_schema, keypoint_schema_for_count
from . import coco_layers
from .base import ExportItem, ExportOptions, ExportReport, relative_name

__all__ = [
    "CocoLayout",
    "CATEGORY_ID",
    "write_coco",
    "own_schema_layout",
    "point_map",
    "common_image_root",
    "short_floats",
]

CATEGORY_ID = 1


@dataclass(frozen=True, eq=False)
class CocoLayout:
    name: str  # the format's name, for messages
    title: str  # for the file's "info"
    schema: KeypointSchema  # every point the file holds, in file order (all parts together)
    category: KeypointSchema  # what the category lists: names and skeleton
    import_schema: KeypointSchema  # the keypoint set of the documents an import makes
    # (field, point count) in file order; the first field is the COCO "keypoints" that num_keypoints counts.
    parts: tuple[tuple[str, int], ...] = ()
    doc_schemas: tuple[str, ...] | None = None  # keypoint sets it exports; None: any, matched by point name
    aliases: Mapping[str, str] = field(default_factory=dict)  # file point name -> document point name
    # Per-record fields computed from the written points (file order): xy (K, 2), v (K,) -> {field: value}.
    extra_fields: Callable[[np.ndarray, np.ndarray], dict] | None = None
    layers: bool = False  # person masks and the per-pixel side files go in

    def __post_init__(self) -> None:
        if not self.parts:
            object.__setattr__(self, "parts", (("keypoints", len(self.schema)),))
        if sum(n for _, n in self.parts) != len(self.schema):
            raise ValueError(
                f"{self.name}: parts hold {sum(n for _, n in self.parts)} points, "
                f"{self.schema.name} has {len(self.schema)}"
            )


def point_map(file_schema: KeypointSchema, doc_schema: KeypointSchema, aliases: Mapping[str, str]) -> np.ndarray:
    """(K_file,) int: the index in ``doc_schema`` of each file point's counterpart, -1 where it has none.

    Exact names first (so a layout's own keypoint set maps onto itself), then the layout's alias.
    """
    index = {n: i for i, n in enumerate(doc_schema.names)}
    found = []
    for name in file_schema.names:
        i = index.get(name)
        if i is None and name in aliases:
            i = index.get(aliases[name])
        found.append(-1 if i is None else i)
    return np.array(found, dtype=np.int64)


def short_floats(values) -> list:
    """float32 values, flattened, as Python floats that read back to exactly the same float32 (NaN, inf: None).

    A scalar gives a one-element list.
    """
    return float32_to_json(np.atleast_1d(np.asarray(values, dtype=np.float32)).reshape(-1))


def common_image_root(docs: Iterable[Annotation]) -> Path | None:
    """The deepest folder holding every document's image (None when there is none, e.g. other drives)."""
    folders = [os.path.dirname(os.path.abspath(d.image_path)) for d in docs]
    if not folders:
        return None
    try:
        return Path(os.path.commonpath(folders))
    except ValueError:
        return None


# -------------------------------------------------------------------------------------------------- write


def write_coco(out: Path, items: Iterable[ExportItem], options: ExportOptions, layout: CocoLayout) -> ExportReport:
    """Stream ``items`` into one COCO file at ``out`` (atomically: a crash leaves the old file or none).

    Annotation records go to disk as each document arrives; only the small image entries wait for the end
    (the "images" list follows "annotations" for that reason; COCO readers do not mind the order).
    A document that cannot be written in this layout is a problem of the report and is left out.
    """
    out = Path(out)
    root = Path(options.images_root) if options.images_root is not None else out.parent
    report = ExportReport()
    images: list[dict] = []
    maps: dict[str, np.ndarray] = {}
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp, open(tmp, "x", encoding="utf-8", newline="\n") as f:
        f.write(
            '{"info":'
            + _dumps(_info(layout))
            + ',"licenses":[],\n"categories":'
            + _dumps(_categories(layout))
            + ',\n"annotations":['
        )
        written = 0
        for item in items:
            try:
                image, records = _image_and_records(item, layout, options, root, len(images) + 1, maps)
            except ValueError as exc:
                report.problems.append(f"{item.doc.image_path}: {exc}")
                continue
            images.append(image)
            for record in records:
                written += 1
                f.write(("\n" if written == 1 else ",\n") + _dumps({"id": written, "image_id": image["id"], **record}))
        f.write('],\n"images":[')
        for i, image in enumerate(images):
            f.write(("\n" if i == 0 else ",\n") + _dumps(image))
        f.write("]}\n")
    report.written.append(out)
    report.images, report.persons = len(images), written
    return report


def _dumps(value: object) -> str:
    # ASCII only: pycocotools opens files with the platform's default encoding.
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _info(layout: CocoLayout) -> dict:
    return {
        "description": f"Sapiens Studio export, {layout.title}",
        "version": "1.0",
        "contributor": "Sapiens Studio",
        "format": layout.name,
        "keypoint_schema": layout.schema.name,
    }


def _categories(layout: CocoLayout) -> list[dict]:
    return [
        {
            "id": CATEGORY_ID,
            "name": "person",
            "supercategory": "person",
            "keypoints": list(layout.category.names),
            "skeleton": layout.category.coco_skeleton(),
        }
    ]


def _image_and_records(
    item: ExportItem, layout: CocoLayout, options: ExportOptions, root: Path, image_id: int, maps: dict[str, np.ndarray]
) -> tuple[dict, list[dict]]:
    doc = item.doc
    image = {
        "id": image_id,
        "file_name": relative_name(doc.image_path, root),
        "width": doc.width,
        "height": doc.height,
        "reviewed": bool(doc.reviewed),
    }
    if doc.video is not None:
        image["vid_id"], image["frame_id"] = doc.video.name, doc.video.frame_index
    records = []
    if doc.persons:
        mapping = _map_for(doc, layout, maps)
        for person in doc.persons:
            record = _person_record(person, mapping, layout, options.score_threshold)
            if record is not None:
                records.append(record)
    if layout.layers:
        image.update(coco_layers.image_fields(doc, root))
        coco_layers.add_person_masks(doc, records)
    return image, records


def _map_for(doc: Annotation, layout: CocoLayout, maps: dict[str, np.ndarray]) -> np.ndarray:
    counts = {p.num_keypoints for p in doc.persons}
    name = doc.keypoint_schema
    if name is None:  # an unnamed document: its point count tells the layout
        try:
            name = keypoint_schema_for_count(max(counts)).name
        except KeyError as exc:
            raise ValueError(str(exc).strip("'\"")) from None
    if layout.doc_schemas is not None and name not in layout.doc_schemas:
        raise ValueError(f"labelled with {name}, {layout.name} exports {' or '.join(layout.doc_schemas)}")
    if name not in maps:
        try:
            schema = keypoint_schema(name)
        except KeyError:
            raise ValueError(f"unknown keypoint set {name!r}") from None
        maps[name] = point_map(layout.schema, schema, layout.aliases)
    mapping = maps[name]
    expected = keypoint_schema(name).num_keypoints
    if counts != {expected}:
        raise ValueError(f"persons have {sorted(counts)} keypoints, {name} has {expected}")
    return mapping


def _person_record(
    person: Person, mapping: np.ndarray, layout: CocoLayout, score_threshold: float | None
) -> dict | None:
    kp = person.keypoints
    v = person.visibility.copy()
    if score_threshold is not None:
        v[(person.source == SOURCE_MODEL) & ~(kp[:, 2] >= score_threshold)] = 0
    v[~np.isfinite(kp[:, :2]).all(axis=1)] = 0
    box = person.box if person.box is not None and np.isfinite(person.box).all() else None
    if box is None:  # the person's extent: all its labeled points, also those this layout does not hold
        labeled = kp[v > 0, :2]
        if not len(labeled):
            return None
        box = np.concatenate([labeled.min(axis=0), labeled.max(axis=0)])
    mapped = mapping >= 0
    src = np.where(mapped, mapping, 0)
    fv = np.where(mapped, v[src], 0).astype(np.uint8)
    fxy = np.where(fv[:, None] > 0, kp[src, :2], 0).astype(np.float32)
    scores = np.where(mapped, kp[src, 2], 0).astype(np.float32)
    sources = np.where(mapped, person.source[src], SOURCE_MODEL)

    x1, y1, x2, y2 = (float(c) for c in np.asarray(box, np.float32))
    wh = np.maximum(np.array([x2 - x1, y2 - y1], np.float32), 0)
    record: dict = {"category_id": CATEGORY_ID}
    flat = short_floats(np.concatenate([fxy, fv[:, None].astype(np.float32)], axis=1).reshape(-1))
    triples = [int(x) if i % 3 == 2 else x for i, x in enumerate(flat)]
    start = 0
    for name, count in layout.parts:
        record[name] = triples[3 * start : 3 * (start + count)]
        start += count
    record["num_keypoints"] = int((fv[: layout.parts[0][1]] > 0).sum())
    record["bbox"] = short_floats(np.array([x1, y1, wh[0], wh[1]], np.float32))
    record["area"] = short_floats(wh[0] * wh[1])[0]
    record["iscrowd"] = 0
    record["segmentation"] = []  # filled in by the layers, where a person mask exists
    if layout.extra_fields is not None:
        record.update(layout.extra_fields(fxy, fv))
    record["person_id"] = int(person.id)
    if person.track_id is not None:
        record["track_id"] = int(person.track_id)
    if person.score is not None and np.isfinite(person.score):
        record["score"] = float(person.score)
    record["keypoint_scores"] = [0.0 if s is None else s for s in short_floats(scores)]
    record["keypoint_sources"] = sources.astype(int).tolist()
    return record


def own_schema_layout(schema: KeypointSchema) -> CocoLayout:
    """Plain COCO keypoints in a model's own keypoint set (what ``predict`` writes for a 17- or 133-point model)."""
    return CocoLayout(
        name=f"coco ({schema.name})",
        title=f"COCO keypoints, {schema.title}",
        schema=schema,
        category=schema,
        import_schema=schema,
        doc_schemas=(schema.name,),
    )
