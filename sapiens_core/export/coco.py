"""COCO keypoints JSON: export (what mmpose and the trainer read) and import back into persons.

Conventions (COCO, mmpose ``BaseCocoStyleDataset``): one category "person" listing the keypoint names in
model index order and a 1-based skeleton; per person ``keypoints`` = [x, y, v] * K with v 0 unlabeled,
1 labeled but occluded, 2 visible; unlabeled points are written as x = y = 0. ``bbox`` is [x, y, w, h].
Two extension fields, ignored by COCO tools, keep a round trip lossless: ``keypoint_scores`` (as mmpose
writes predictions) and ``keypoint_sources`` (0 model, 1 human: a trainer may keep only checked labels).
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation, Person
from ..annotation.person import float32_to_json
from ..errors import AnnotationFormatError
from ..io.atomic import atomic_write_text
from ..schema import KeypointSchema

__all__ = ["to_coco", "from_coco", "write_coco", "CATEGORY_ID"]

CATEGORY_ID = 1


def to_coco(annotations: Sequence[Annotation], schema: KeypointSchema, score_threshold: float | None = 0.3,
            image_root: str | os.PathLike | None = None) -> dict:
    """COCO keypoints dict for ``annotations`` (image ids 1.., annotation ids 1.. in order).

    ``score_threshold`` can only remove labels: a model-made point scoring below it is written as unlabeled;
    human-made points keep their visibility whatever their score; None exports the visibilities as they are.
    ``file_name`` is relative to ``image_root``, by default the deepest folder holding all the images.
    Persons with no labeled point and no box carry nothing to train on and are left out.
    """
    root = _common_folder([a.image_path for a in annotations]) if image_root is None else os.path.abspath(image_root)
    images, records = [], []
    for image_id, doc in enumerate(annotations, start=1):
        if doc.keypoint_schema is not None and doc.persons and doc.keypoint_schema != schema.name:
            raise ValueError(f"{doc.image_path}: labelled with {doc.keypoint_schema}, exporting as {schema.name}")
        images.append({"id": image_id, "file_name": _file_name(doc.image_path, root),
                       "width": doc.width, "height": doc.height})
        for person in doc.persons:
            record = _person_record(person, schema, score_threshold)
            if record is not None:
                records.append({"id": len(records) + 1, "image_id": image_id, **record})
    return {
        "info": {"description": f"Sapiens Studio export, {schema.title}", "version": "1.0",
                 "contributor": "Sapiens Studio", "keypoint_schema": schema.name,
                 "date_created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")},
        "licenses": [],
        "images": images,
        "annotations": records,
        "categories": [{"id": CATEGORY_ID, "name": "person", "supercategory": "person",
                        "keypoints": list(schema.names), "skeleton": schema.coco_skeleton()}],
    }


def write_coco(path: str | os.PathLike, annotations: Sequence[Annotation], schema: KeypointSchema,
               score_threshold: float | None = 0.3, image_root: str | os.PathLike | None = None) -> dict:
    """``to_coco`` written atomically to ``path`` (compact JSON: these files get large); returns the dict."""
    data = to_coco(annotations, schema, score_threshold, image_root)
    atomic_write_text(path, json.dumps(data, separators=(",", ":"), allow_nan=False))
    return data


def from_coco(coco: dict | str | os.PathLike, schema: KeypointSchema) -> dict[str, list[Person]]:
    """Persons per image ``file_name`` (every image listed, in file order; images without persons map to []).

    Points without ``keypoint_scores`` get score 1 where labeled and 0 elsewhere; without ``keypoint_sources``
    they count as human-made (a COCO file is a set of labels). Raises AnnotationFormatError naming the file.
    """
    source = "COCO data" if isinstance(coco, dict) else str(coco)
    try:
        data = coco if isinstance(coco, dict) else _read_json(Path(coco))
        return _persons_by_file(data, schema)
    except ValueError as exc:
        raise AnnotationFormatError(f"{source}: {exc}") from None


# -------------------------------------------------------------------------------------------------- export

def _person_record(person: Person, schema: KeypointSchema, score_threshold: float | None) -> dict | None:
    if person.num_keypoints != len(schema):
        raise ValueError(f"person {person.id} has {person.num_keypoints} keypoints, {schema.name} has {len(schema)}")
    xy = person.keypoints[:, :2]
    scores = person.keypoints[:, 2]
    v = person.visibility.copy()
    if score_threshold is not None:
        v[(person.source == SOURCE_MODEL) & ~(scores >= score_threshold)] = 0
    v[~np.isfinite(xy).all(axis=1)] = 0
    xy = np.where(v[:, None] > 0, xy, np.float32(0))
    labeled = xy[v > 0]
    if person.box is not None:
        x1, y1, x2, y2 = person.box.tolist()
    elif len(labeled):
        (x1, y1), (x2, y2) = labeled.min(axis=0).tolist(), labeled.max(axis=0).tolist()
    else:
        return None
    w, h = max(0.0, x2 - x1), max(0.0, y2 - y1)
    flat = np.concatenate([xy, v[:, None].astype(np.float32)], axis=1).reshape(-1)
    record = {
        "category_id": CATEGORY_ID,
        "keypoints": [int(x) if i % 3 == 2 else x for i, x in enumerate(float32_to_json(flat))],
        "keypoint_scores": [0.0 if s is None else s for s in float32_to_json(scores)],
        "keypoint_sources": person.source.tolist(),
        "num_keypoints": int((v > 0).sum()),
        "bbox": float32_to_json(np.array([x1, y1, w, h], np.float32)),
        "area": float(np.float32(w) * np.float32(h)),
        "iscrowd": 0,
        "person_id": int(person.id),
    }
    if person.score is not None and np.isfinite(person.score):
        record["score"] = float(person.score)
    return record


def _common_folder(paths: list[str]) -> str | None:
    if not paths:
        return None
    folders = [os.path.dirname(os.path.abspath(p)) for p in paths]
    try:
        return os.path.commonpath(folders)
    except ValueError:  # different drives on Windows
        return None


def _file_name(image_path: str, root: str | None) -> str:
    if root is not None:
        try:
            return Path(os.path.relpath(os.path.abspath(image_path), root)).as_posix()
        except ValueError:
            pass
    return Path(image_path).as_posix()


# -------------------------------------------------------------------------------------------------- import

def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError("no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read it ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None


def _persons_by_file(data: object, schema: KeypointSchema) -> dict[str, list[Person]]:
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "annotations", "categories")):
        raise ValueError("not a COCO file (needs lists \"images\", \"annotations\" and \"categories\")")
    category_id = _keypoint_category(data["categories"], schema)
    file_of: dict[int, str] = {}
    persons: dict[str, list[Person]] = {}
    for image in data["images"]:
        if not isinstance(image, dict) or not isinstance(image.get("id"), int) or not isinstance(image.get("file_name"), str):
            raise ValueError(f"an image entry needs an integer \"id\" and a \"file_name\": {str(image)[:120]}")
        if image["file_name"] in persons or image["id"] in file_of:
            raise ValueError(f"image {image['file_name']!r} (id {image['id']}) is listed twice")
        file_of[image["id"]] = image["file_name"]
        persons[image["file_name"]] = []
    for record in data["annotations"]:
        if not isinstance(record, dict) or record.get("category_id") != category_id:
            continue
        if record.get("image_id") not in file_of:
            raise ValueError(f"annotation {record.get('id')} refers to image id {record.get('image_id')!r}, not listed")
        image_persons = persons[file_of[record["image_id"]]]
        try:
            person = _person_from_record(record, len(schema), default_id=len(image_persons))
        except ValueError as exc:
            raise ValueError(f"annotation {record.get('id')}: {exc}") from None
        if any(p.id == person.id for p in image_persons):
            raise ValueError(f"annotation {record.get('id')}: person id {person.id} appears twice in its image")
        image_persons.append(person)
    return persons


def _keypoint_category(categories: list, schema: KeypointSchema) -> int:
    with_points = [c for c in categories if isinstance(c, dict) and isinstance(c.get("keypoints"), list)]
    if len(with_points) > 1:
        with_points = [c for c in with_points if c.get("name") == "person"][:1] or with_points
    if len(with_points) != 1:
        raise ValueError("needs exactly one category with a \"keypoints\" list (or one named \"person\")")
    category = with_points[0]
    names = category["keypoints"]
    if len(names) != len(schema):
        raise ValueError(f"category {category.get('name')!r} lists {len(names)} keypoints, "
                         f"{schema.name} has {len(schema)}")
    for i, (got, expected) in enumerate(zip(names, schema.names)):
        if got != expected:
            raise ValueError(f"keypoint {i} of category {category.get('name')!r} is {got!r}, "
                             f"{schema.name} has {expected!r} there (the order must match the model's)")
    if not isinstance(category.get("id"), int):
        raise ValueError(f"category {category.get('name')!r} has no integer id")
    return category["id"]


def _person_from_record(record: dict, k: int, default_id: int) -> Person:
    flat = _numbers(record.get("keypoints"), "keypoints", 3 * k).reshape(k, 3)
    v = flat[:, 2]
    if not np.isin(v, (0, 1, 2)).all():
        raise ValueError(f"visibility values must be 0, 1 or 2; found {sorted(set(v[~np.isin(v, (0, 1, 2))].tolist()))}")
    visibility = v.astype(np.uint8)
    if "keypoint_scores" in record:
        scores = _numbers(record["keypoint_scores"], "keypoint_scores", k)
    else:
        scores = (visibility > 0).astype(np.float32)
    if "keypoint_sources" in record:
        sources = _numbers(record["keypoint_sources"], "keypoint_sources", k)
        if not np.isin(sources, (SOURCE_MODEL, SOURCE_HUMAN)).all():
            raise ValueError("keypoint_sources must be 0 (model) or 1 (human)")
    else:
        sources = np.full(k, SOURCE_HUMAN)
    box = None
    if record.get("bbox") is not None:
        x, y, w, h = _numbers(record["bbox"], "bbox", 4).tolist()
        box = np.array([x, y, x + w, y + h], np.float32)
    pid = record.get("person_id", default_id)
    if isinstance(pid, bool) or not isinstance(pid, int):
        raise ValueError(f"person_id must be an integer, not {pid!r}")
    score = record.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        raise ValueError(f"score must be a number, not {score!r}")
    return Person(pid, np.concatenate([flat[:, :2], scores[:, None]], axis=1), visibility, sources, box,
                  None if score is None else float(score))


def _numbers(value: object, field: str, length: int) -> np.ndarray:
    if not isinstance(value, list) or len(value) != length:
        got = f"{len(value)} values" if isinstance(value, list) else repr(value)[:60]
        raise ValueError(f"{field} must be a list of {length} numbers, got {got}")
    if any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in value):
        raise ValueError(f"{field} must hold only numbers")
    return np.array(value, dtype=np.float32)
