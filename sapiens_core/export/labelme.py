"""labelme JSON: one file per image that opens in labelme itself, and import of such files.

Layout (labelme's own label-file schema, the same from labelme 5.3 to 7.x): top-level ``version``,
``flags``, ``shapes``, ``imagePath`` (relative to the JSON file's folder, as labelme resolves it),
``imageData`` (base64 image bytes, only when asked: it makes every file as large as its image),
``imageHeight``, ``imageWidth``. Each shape has ``label``, ``points``, ``group_id``, ``description``,
``shape_type``, ``flags`` and ``mask`` (always null here).

* A labelled keypoint is a ``point`` shape labelled with its keypoint name; ``group_id`` is the person id.
  Unlabelled points (visibility 0, or a model's point below the score threshold) are not written.
* A person box is a ``rectangle`` labelled ``person`` with the same ``group_id``, corners (x1, y1), (x2, y2).
* Visibility and source go into the shape's ``flags``: ``occluded`` (visibility 1 rather than 2) and
  ``predicted`` (made by a model, not yet by a person). labelme requires shape flags to map names to
  booleans, keeps flags it does not know, and shows them as check boxes in its label dialog, so a
  labeller can tick "occluded" there and the value comes back here.
* The point's score (and a box's detector score) goes into ``description`` as ``score=<number>``: a
  number cannot be a flag, and the description is labelme's free-text field, kept and editable as is.
  Other descriptions are left alone (and ignored on import).
* Keys of our own ride along, all kept by labelme on save: ``flags.reviewed`` (an image-level flag, shown in
  labelme's flag list), a top-level ``keypoint_schema`` naming the layout of the labels, and for video frames
  ``track_ids`` (``{"<group_id>": track_id}`` for the tracked persons) and ``video`` (``{"name", "frame_index"}``).
  The track ID is not put in ``group_id`` itself: a frame may hold tracked and untracked persons, and their
  person ids and track ids would collide there, merging two persons' shapes into one.

Import reads every ``*.json`` under the source folder. A file holding a shape that is neither a keypoint
of the schema nor a person box is refused whole, with a message naming the file and the shape, so labels
are never dropped silently. Files without ``keypoint_schema`` use ``ImportOptions.keypoint_schema``, else
the smallest shipped layout that has every label they use. Points without a score get 1, without flags
they count as visible and made by a person (a labelme file is a set of labels).
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation, Person, VideoRef
from ..annotation.person import float32_to_json
from ..errors import ImageReadError
from ..io.atomic import atomic_write_text
from ..io.images import read_image, read_image_size
from ..schema import KeypointSchema, keypoint_schema, keypoint_schema_for_count, keypoint_schema_names
from ._files import check_points, read_json, walk_files
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
from .registry import Format, register_format

__all__ = ["LABELME_VERSION", "BOX_LABEL", "write_labelme", "read_labelme", "labelme_dict"]

# The labelme release whose schema we write: the first with every field above (``mask`` came in 5.3).
# labelme only warns when a file's major version differs from its own, and reads the fields either way.
LABELME_VERSION = "5.5.0"
BOX_LABEL = "person"
OCCLUDED, PREDICTED, REVIEWED = "occluded", "predicted", "reviewed"
DEFAULT_SCHEMA = "goliath_308"  # for a file with boxes only: the layout of the Sapiens pose models

_SCORE = re.compile(r"^\s*score\s*=\s*(\S+)\s*$")


# ------------------------------------------------------------------------------------------------- export


def write_labelme(out: Path, items: Iterable[ExportItem], options: ExportOptions) -> ExportReport:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    for item in items:
        path = out / f"{item.stem}.json"
        try:
            data = labelme_dict(item.doc, path.parent, options)
        except (ValueError, ImageReadError) as exc:
            report.problems.append(f"{item.stem}: {exc}")
            continue
        atomic_write_text(path, _dumps(data))
        report.written.append(path)
        report.images += 1
        report.persons += len({s["group_id"] for s in data["shapes"]})
    return report


def _dumps(data: dict) -> str:
    """JSON with one shape per line and non-ASCII labels as they are, so files read and diff well.

    Not ``indent=2`` as labelme writes: with an indent Python's JSON falls back to its pure-Python encoder,
    which made the export four times slower (600 shapes per person-image); labelme reads either layout.
    """

    def dump(value) -> str:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)

    fields = [f"  {dump(key)}: {dump(value)}" for key, value in data.items() if key != "shapes"]
    shapes = ",\n".join(f"    {dump(shape)}" for shape in data["shapes"])
    fields.insert(list(data).index("shapes"), f'  "shapes": [\n{shapes}\n  ]' if shapes else '  "shapes": []')
    return "{\n" + ",\n".join(fields) + "\n}\n"


def labelme_dict(doc: Annotation, folder: Path, options: ExportOptions) -> dict:
    """The labelme file for ``doc`` written into ``folder``; ValueError when a value cannot be written."""
    schema = _export_schema(doc)
    shapes = []
    for person in doc.persons:
        shapes.extend(_person_shapes(person, schema, options.score_threshold))
    root = options.images_root if options.images_root is not None else folder
    in_shapes = {s["group_id"] for s in shapes}
    track_ids = {str(p.id): int(p.track_id) for p in doc.persons if p.track_id is not None and p.id in in_shapes}
    data = {
        "version": LABELME_VERSION,
        "flags": {REVIEWED: bool(doc.reviewed)},
        "shapes": shapes,
        "imagePath": relative_name(doc.image_path, root),
        "imageData": _image_data(doc) if options.embed_images else None,
        "imageHeight": doc.height,
        "imageWidth": doc.width,
        "keypoint_schema": None if schema is None else schema.name,
    }
    # Only when there is something to say: files of still images stay exactly as they were.
    if track_ids:
        data["track_ids"] = track_ids
    if doc.video is not None:
        data["video"] = doc.video.to_json()
    return data


def _export_schema(doc: Annotation) -> KeypointSchema | None:
    if doc.keypoint_schema is not None:
        try:
            return keypoint_schema(doc.keypoint_schema)
        except KeyError:
            raise ValueError(f"unknown keypoint schema {doc.keypoint_schema!r}") from None
    if not doc.persons:
        return None
    try:
        return keypoint_schema_for_count(doc.persons[0].num_keypoints)
    except KeyError as exc:
        raise ValueError(str(exc.args[0])) from None


def _person_shapes(person: Person, schema: KeypointSchema | None, threshold: float | None) -> list[dict]:
    shapes = []
    if person.box is not None:
        corners = float32_to_json(person.box.reshape(2, 2))
        if any(v is None for corner in corners for v in corner):
            raise ValueError(f"person {person.id}: the box is not finite")
        shapes.append(_shape(BOX_LABEL, corners, person.id, _score_text(person.score, False), "rectangle", {}))
    if schema is not None and person.num_keypoints != len(schema):
        raise ValueError(f"person {person.id} has {person.num_keypoints} keypoints, {schema.name} has {len(schema)}")
    xy, scores = person.keypoints[:, :2], person.keypoints[:, 2]
    labeled = (person.visibility > 0) & np.isfinite(xy).all(axis=1)
    if threshold is not None:
        labeled &= ~((person.source == SOURCE_MODEL) & ~(scores >= threshold))
    xy_json, scores_json = float32_to_json(xy), float32_to_json(scores)  # whole arrays: one numpy call each
    for k in np.flatnonzero(labeled).tolist():
        flags = {OCCLUDED: bool(person.visibility[k] == 1), PREDICTED: bool(person.source[k] == SOURCE_MODEL)}
        score = f"score={scores_json[k]}" if scores_json[k] is not None else _score_text(float(scores[k]), True)
        shapes.append(_shape(schema.names[k], [xy_json[k]], person.id, score, "point", flags))
    return shapes


def _shape(label: str, points: list, group_id: int, description: str, shape_type: str, flags: dict) -> dict:
    # Key order as labelme writes it, so a file saved again by labelme only differs where labels changed.
    return {
        "label": label,
        "points": points,
        "group_id": int(group_id),
        "description": description,
        "shape_type": shape_type,
        "flags": flags,
        "mask": None,
    }


def _score_text(score: float | None, as_float32: bool) -> str:
    """``score=<number>``: point scores with the fewest digits that read back to the same float32, a box's
    detector score (a double) with Python's shortest exact repr; ``nan``/``inf`` spelled as Python reads them."""
    if score is None:
        return ""
    if as_float32 and math.isfinite(score):
        return f"score={float32_to_json(np.float32(score))}"
    return f"score={float(score)!r}"


def _image_data(doc: Annotation) -> str:
    """The image's own bytes when labelme would show them upright, else a PNG of the upright pixels.

    labelme sizes an embedded image without applying EXIF rotation, so a rotated JPEG must be re-encoded
    or its imageWidth/imageHeight would not match.
    """
    path = Path(doc.image_path)
    try:
        with Image.open(path) as image:
            fmt, orientation = image.format, image.getexif().get(0x0112, 1)
        if fmt in ("JPEG", "PNG") and orientation == 1:
            return base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError as exc:
        raise ValueError(f"cannot embed {path.name} ({exc})") from None
    pixels = read_image(path)
    ok, png = cv2.imencode(".png", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"cannot embed {path.name}: PNG encoding failed")
    return base64.b64encode(png.tobytes()).decode("ascii")


# ------------------------------------------------------------------------------------------------- import


def read_labelme(src: Path, options: ImportOptions) -> Iterator[ImportedImage | ImportProblem]:
    for path in walk_files(Path(src), (".json",)):
        try:
            yield _read_file(path, options)
        except ValueError as exc:
            yield ImportProblem(str(path), str(exc))


def _read_file(path: Path, options: ImportOptions) -> ImportedImage:
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("shapes"), list):
        raise ValueError('not a labelme file (needs a "shapes" list)')
    image_name = data.get("imagePath")
    if not isinstance(image_name, str) or not image_name:
        raise ValueError(f"imagePath must name the image, not {image_name!r}")
    image_path = resolve_name(image_name.replace("\\", "/"), options.images_dir or path.parent)
    size = _stated_size(data)
    if image_path.is_file():
        try:
            actual = read_image_size(image_path)
        except ImageReadError as exc:
            raise ValueError(f"imagePath: {exc}") from None
        if size is not None and size != actual:
            raise ValueError(
                f"imageWidth/imageHeight say {size[0]}x{size[1]}, {image_path.name} is {actual[0]}x{actual[1]}"
            )
        size = actual
    else:
        raise ValueError(f"imagePath {image_name!r}: no such image ({image_path})")
    flags = data.get("flags") or {}
    if not isinstance(flags, dict) or not all(isinstance(v, bool) for v in flags.values()):
        raise ValueError("flags must map names to true/false")
    shapes = [_checked_shape(i, s, size) for i, s in enumerate(data["shapes"])]
    schema = _import_schema(
        data.get("keypoint_schema"), options.keypoint_schema, {s["label"] for s in shapes if s["shape_type"] == "point"}
    )
    persons = _persons(shapes, schema, _track_ids(data.get("track_ids")))
    try:
        video = None if data.get("video") is None else VideoRef.from_json(data["video"])
    except ValueError as exc:
        raise ValueError(f"video: {exc}") from None
    return ImportedImage(
        source=str(path),
        image_path=image_path,
        size=size,
        keypoint_schema=schema.name,
        persons=persons,
        reviewed=flags.get(REVIEWED, False),
        video=video,
    )


def _track_ids(value: object) -> dict[int, int]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and k.lstrip("-").isdigit() and isinstance(v, int) and not isinstance(v, bool) and v >= 0
        for k, v in value.items()
    ):
        raise ValueError('track_ids must map group ids to track ids >= 0, e.g. {"0": 7}')
    return {int(k): v for k, v in value.items()}


def _stated_size(data: dict) -> tuple[int, int] | None:
    w, h = data.get("imageWidth"), data.get("imageHeight")
    if w is None and h is None:
        return None
    for name, v in (("imageWidth", w), ("imageHeight", h)):
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ValueError(f"{name} must be a positive integer, not {v!r}")
    return w, h


def _checked_shape(i: int, shape: object, size: tuple[int, int]) -> dict:
    """The shape's fields after labelme's own rules, plus ours: only keypoints and person boxes are known."""
    where = f"shapes[{i}]"
    if not isinstance(shape, dict):
        raise ValueError(f"{where} must be an object")
    label, shape_type = shape.get("label"), shape.get("shape_type")
    if not isinstance(label, str) or not isinstance(shape_type, str):
        raise ValueError(f"{where}: label and shape_type must be strings")
    if shape_type not in ("point", "rectangle") or (shape_type == "rectangle") != (label == BOX_LABEL):
        raise ValueError(
            f"{where}: shape_type {shape_type!r} labelled {label!r} is neither a keypoint "
            f"(a 'point' named after it) nor a person box (a 'rectangle' labelled {BOX_LABEL!r})"
        )
    points = shape.get("points")
    count = 1 if shape_type == "point" else 2
    if (
        not isinstance(points, list)
        or len(points) != count
        or not all(isinstance(p, list) and len(p) == 2 for p in points)
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for p in points for v in p)
    ):
        raise ValueError(f"{where}.points must be {count} [x, y] pair(s) of numbers")
    check_points(np.array(points, np.float64), size, f"{where}.points")
    group_id = shape.get("group_id")
    if group_id is not None and (isinstance(group_id, bool) or not isinstance(group_id, int)):
        raise ValueError(f"{where}.group_id must be an integer or null, not {group_id!r}")
    flags = shape.get("flags") or {}
    if not isinstance(flags, dict) or not all(isinstance(v, bool) for v in flags.values()):
        raise ValueError(f"{where}.flags must map names to true/false")
    description = shape.get("description") or ""
    if not isinstance(description, str):
        raise ValueError(f"{where}.description must be a string")
    score = None
    match = _SCORE.match(description)
    if match:
        try:
            score = float(match.group(1))
        except ValueError:
            raise ValueError(f"{where}.description: {match.group(1)!r} is not a number") from None
    return {
        "label": label,
        "shape_type": shape_type,
        "points": points,
        "group_id": group_id,
        "flags": flags,
        "score": score,
        "where": where,
    }


def _import_schema(stated: object, requested: str | None, labels: set[str]) -> KeypointSchema:
    if stated is not None and not isinstance(stated, str):
        raise ValueError(f"keypoint_schema must be a name, not {stated!r}")
    if stated is not None and requested is not None and stated != requested:
        raise ValueError(f"keypoint_schema is {stated!r}, the import asked for {requested!r}")
    name = stated or requested
    if name is None:
        fits = [keypoint_schema(n) for n in keypoint_schema_names() if labels <= set(keypoint_schema(n).names)]
        if not labels:
            fits = [keypoint_schema(DEFAULT_SCHEMA)]
        if not fits:
            raise ValueError(f"no known keypoint layout has all of the labels {sorted(labels)[:5]}")
        return min(fits, key=len)
    try:
        schema = keypoint_schema(name)
    except KeyError:
        raise ValueError(f"keypoint_schema: unknown layout {name!r}") from None
    unknown = sorted(labels - set(schema.names))
    if unknown:
        raise ValueError(f"shape label {unknown[0]!r} is no keypoint of {schema.name}")
    return schema


def _persons(shapes: list[dict], schema: KeypointSchema, track_ids: dict[int, int]) -> list[Person]:
    """Shapes grouped by group_id into persons, in order of first appearance (a null group is one person)."""
    k = len(schema)
    ids = [s["group_id"] for s in shapes if s["group_id"] is not None]
    no_group = max(ids) + 1 if ids else 0
    groups: dict[int, dict] = {}
    for s in shapes:
        pid = no_group if s["group_id"] is None else s["group_id"]
        g = groups.setdefault(
            pid,
            {
                "xys": np.zeros((k, 3), np.float32),
                "v": np.zeros(k, np.uint8),
                "src": np.full(k, SOURCE_HUMAN, np.uint8),
                "box": None,
                "score": None,
            },
        )
        if s["shape_type"] == "rectangle":
            if g["box"] is not None:
                raise ValueError(f"{s['where']}: person {pid} has a second box")
            (x1, y1), (x2, y2) = s["points"]
            g["box"] = np.array([min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)], np.float32)
            g["score"] = s["score"]
            continue
        j = schema.index(s["label"])
        if g["v"][j]:
            raise ValueError(f"{s['where']}: person {pid} has a second {s['label']!r}")
        x, y = s["points"][0]
        g["xys"][j] = (x, y, 1.0 if s["score"] is None else s["score"])
        g["v"][j] = 1 if s["flags"].get(OCCLUDED, False) else 2
        g["src"][j] = SOURCE_MODEL if s["flags"].get(PREDICTED, False) else SOURCE_HUMAN
    return [
        Person(pid, g["xys"], g["v"], g["src"], g["box"], g["score"], track_ids.get(pid)) for pid, g in groups.items()
    ]


register_format(
    Format(
        name="labelme",
        title="labelme JSON (one file per image)",
        target="folder",
        suffix=".json",
        write=write_labelme,
        read=read_labelme,
        description="One labelme file per image: keypoints as point shapes named after the keypoint, grouped per "
        "person by group_id, person boxes as rectangles; visibility and source in each shape's flags, "
        "the score in its description. Opens in labelme.",
    )
)
