"""The annotation of one image: the single source of truth the app edits and the exporters read.

On disk: a versioned JSON document plus side files next to it for the per-pixel layers
(``<stem>_seg.png``, ``<stem>_fg.png``, ``<stem>_depth.npy``, ``<stem>_normal.npy``, ``<stem>_pointmap.npy``,
``<stem>_alpha.png``, ``<stem>_fg_rgb.png``), referenced by file name.
A painted layer also has a mask of the pixels a person painted (``<stem>_seg_human.png``, ``<stem>_fg_human.png``):
the per-pixel counterpart of a keypoint's ``source``, so a model's re-run keeps them (``merge_keep_human``).
Side files are written first and the JSON last, each atomically: the JSON is the commit point, so a crash
never leaves a document that names a missing file (it can leave the previous JSON beside side files that
are already new: each file is whole, the set is not a transaction). Loading checks everything and reports
problems as AnnotationFormatError naming the file; a saved document loads back identical (dtypes, NaN).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from ..errors import AnnotationFormatError
from ..io.atomic import atomic_write_text
from ..schema import class_schema as find_class_schema
from ..schema import keypoint_schema as find_keypoint_schema
from . import layers
from .person import Person, same_array
from .video_ref import VideoRef

__all__ = ["Annotation", "FORMAT", "VERSION", "HUMAN_LAYERS"]

FORMAT = "sapiens-studio/annotation"
VERSION = 4
# Version 2 added the human-painted pixel masks, version 3 the metric pointmap, version 4 the matte (alpha and
# premultiplied foreground). A document is written with the lowest version that holds its layers, so an older Sapiens
# Studio still opens it where it can, and says "written by a newer Sapiens Studio" instead of failing on an unknown
# layer where it cannot.
READABLE_VERSIONS = (1, 2, 3, 4)
# The lowest version that holds each layer added after version 1.
_LAYER_VERSIONS = {"part_map_human": 2, "foreground_human": 2, "pointmap": 3, "alpha": 4, "fg_rgb": 4}
# A painted layer -> the layer marking the pixels a person painted on it (True = keep them on a model's re-run).
HUMAN_LAYERS = {"part_map": "part_map_human", "foreground": "foreground_human"}

# layer field -> (side-file suffix, writer, reader); one table so save and load cannot drift apart.
_LAYERS = {
    "part_map": ("_seg.png", layers.write_class_png, layers.read_class_png),
    "foreground": ("_fg.png", layers.write_mask_png, layers.read_mask_png),
    "depth": (
        "_depth.npy",
        partial(layers.write_float_npy, channels=None, what="depth"),
        partial(layers.read_float_npy, channels=None, what="depth"),
    ),
    "normal": (
        "_normal.npy",
        partial(layers.write_float_npy, channels=3, what="normal"),
        partial(layers.read_float_npy, channels=3, what="normal"),
    ),
    "pointmap": (
        "_pointmap.npy",
        partial(layers.write_float_npy, channels=3, what="pointmap"),
        partial(layers.read_float_npy, channels=3, what="pointmap"),
    ),
    # Matting: no suffix ends another (a stem's files never collide with another stem's), hence not "_matte_fg.png".
    "alpha": (
        "_alpha.png",
        partial(layers.write_gray_png, what="alpha"),
        partial(layers.read_gray_png, what="alpha"),
    ),
    "fg_rgb": (
        "_fg_rgb.png",
        partial(layers.write_rgb_png, what="fg_rgb"),
        partial(layers.read_rgb_png, what="fg_rgb"),
    ),
    "part_map_human": ("_seg_human.png", layers.write_mask_png, layers.read_mask_png),
    "foreground_human": ("_fg_human.png", layers.write_mask_png, layers.read_mask_png),
}


@dataclass(eq=False)
class Annotation:
    image_path: str  # as given; saved relative to the document's folder when possible
    image_size: tuple[int, int]  # (width, height)
    keypoint_schema: str | None = None  # e.g. "goliath_308"
    class_schema: str | None = None  # e.g. "sapiens_28"
    persons: list[Person] = field(default_factory=list)
    part_map: np.ndarray | None = None  # (H, W) uint8 class ids
    foreground: np.ndarray | None = None  # (H, W) bool person mask
    depth: np.ndarray | None = None  # (H, W) float32: relative, metric if models["depth"]["metric"]; NaN = background
    normal: np.ndarray | None = None  # (H, W, 3) float32 unit vectors; NaN = background
    # (H, W, 3) float32 metric XYZ in meters, camera frame (x right, y down, z forward); NaN = background
    pointmap: np.ndarray | None = None
    alpha: np.ndarray | None = None  # (H, W) uint8 matte: 0 background .. 255 person (Sapiens2 matting)
    fg_rgb: np.ndarray | None = None  # (H, W, 3) uint8 the matte's foreground colour, premultiplied by alpha
    part_map_human: np.ndarray | None = None  # (H, W) bool: pixels of part_map a person painted
    foreground_human: np.ndarray | None = None  # (H, W) bool: pixels of foreground a person painted
    models: dict[str, dict] = field(default_factory=dict)  # task -> model card / provenance (JSON values)
    revision: int = 0  # bumped on every save and edit
    reviewed: bool = False  # a person checked every label of this image
    video: VideoRef | None = None  # the video frame this image is (its file name and frame index), if it is one
    # Where the layers live on disk after save/load (layer name -> path); not part of the document's value.
    side_files: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # Accept what callers naturally have (a Path, numpy ints from an array shape); validate() checks the rest.
        if isinstance(self.image_path, os.PathLike):
            self.image_path = os.fspath(self.image_path)
        if (
            isinstance(self.image_size, (tuple, list))
            and len(self.image_size) == 2
            and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in self.image_size)
        ):
            self.image_size = (int(self.image_size[0]), int(self.image_size[1]))

    @property
    def width(self) -> int:
        return int(self.image_size[0])

    @property
    def height(self) -> int:
        return int(self.image_size[1])

    def mark_edited(self) -> None:
        self.revision += 1

    def validate(self) -> None:
        """Raise ValueError when a field does not match its documented shape, dtype or values."""
        size = self.image_size
        if (
            not isinstance(size, (tuple, list))
            or len(size) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0 for v in size)
        ):
            raise ValueError(f"image_size must be (width, height) in positive integers, not {size!r}")
        if not isinstance(self.image_path, str) or not self.image_path:
            raise ValueError(f"image_path must be a non-empty string, not {self.image_path!r}")
        for name in ("keypoint_schema", "class_schema"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a schema name or None, not {value!r}")
        self._validate_persons()
        self._validate_layers()
        if not isinstance(self.models, dict) or not all(
            isinstance(k, str) and isinstance(v, dict) for k, v in self.models.items()
        ):
            raise ValueError("models must map task names to dicts")
        if isinstance(self.revision, bool) or not isinstance(self.revision, int) or self.revision < 0:
            raise ValueError(f"revision must be a non-negative integer, not {self.revision!r}")
        if not isinstance(self.reviewed, bool):
            raise ValueError(f"reviewed must be true or false, not {self.reviewed!r}")
        if self.video is not None and not isinstance(self.video, VideoRef):
            raise ValueError(f"video must be a VideoRef or None, not {self.video!r}")

    def _validate_persons(self) -> None:
        counts = set()
        ids = set()
        for i, person in enumerate(self.persons):
            if not isinstance(person, Person):
                raise ValueError(f"persons[{i}] is a {type(person).__name__}, not a Person")
            try:
                person.validate()
            except ValueError as exc:
                raise ValueError(f"person {person.id}: {exc}") from None
            if person.id in ids:
                raise ValueError(f"two persons have the id {person.id}")
            ids.add(person.id)
            counts.add(person.num_keypoints)
        if len(counts) > 1:
            raise ValueError(f"persons have different keypoint counts {sorted(counts)}")
        expected = _schema_length(self.keypoint_schema)
        if counts and expected is not None and counts != {expected}:
            raise ValueError(f"persons have {counts.pop()} keypoints, {self.keypoint_schema} has {expected}")

    def _validate_layers(self) -> None:
        h, w = self.height, self.width
        if self.part_map is not None:
            part_map = layers.check_class_map(self.part_map)
            if part_map.shape != (h, w):
                raise ValueError(f"part_map is {part_map.shape[1]}x{part_map.shape[0]}, the image is {w}x{h}")
            classes = _class_count(self.class_schema)
            if classes is not None:
                present = np.flatnonzero(np.bincount(part_map.ravel(), minlength=256))
                unknown = present[(present >= classes) & (present != 255)]  # 255 = "ignore" in training
                if unknown.size:
                    raise ValueError(
                        f"part_map has class ids {unknown.tolist()[:8]} outside "
                        f"{self.class_schema} (0..{classes - 1}, or 255 = ignore)"
                    )
        if self.foreground is not None:
            fg = np.asarray(self.foreground)
            if fg.dtype != np.bool_ or fg.shape != (h, w):
                raise ValueError(f"foreground must be a bool array of shape ({h}, {w}), not {fg.dtype} {fg.shape}")
        for name, channels in (("depth", None), ("normal", 3), ("pointmap", 3)):
            value = getattr(self, name)
            if value is not None:
                array = layers.check_float_layer(value, channels, name)
                if array.shape[:2] != (h, w):
                    raise ValueError(f"{name} is {array.shape[1]}x{array.shape[0]}, the image is {w}x{h}")
        for name, shape in (("alpha", (h, w)), ("fg_rgb", (h, w, 3))):
            value = getattr(self, name)
            if value is not None and (np.asarray(value).dtype != np.uint8 or np.asarray(value).shape != shape):
                value = np.asarray(value)
                raise ValueError(f"{name} must be a uint8 array of shape {shape}, not {value.dtype} {value.shape}")
        for painted, human in HUMAN_LAYERS.items():
            mask = getattr(self, human)
            if mask is None:
                continue
            mask = np.asarray(mask)
            if mask.dtype != np.bool_ or mask.shape != (h, w):
                raise ValueError(f"{human} must be a bool array of shape ({h}, {w}), not {mask.dtype} {mask.shape}")
            if getattr(self, painted) is None:
                raise ValueError(f"{human} marks painted pixels of a {painted} the document does not have")

    # ---------------------------------------------------------------------------------------------- save

    def save(self, json_path: str | os.PathLike) -> Path:
        """Write the document and its side files (creating the folder); bumps ``revision`` first."""
        json_path = Path(json_path)
        self.validate()
        json_path.parent.mkdir(parents=True, exist_ok=True)
        self.revision += 1
        previous = _named_side_files(json_path)
        try:
            side_files = {
                name: json_path.stem + suffix
                for name, (suffix, _, _) in _LAYERS.items()
                if getattr(self, name) is not None
            }
            text = _format_json(self._to_json(json_path, side_files)) + "\n"  # fails before any file is touched
            for name, side in side_files.items():
                _LAYERS[name][1](json_path.parent / side, getattr(self, name))
            atomic_write_text(json_path, text)
            self.side_files = {name: str(json_path.parent / side) for name, side in side_files.items()}
        except BaseException:
            self.revision -= 1
            raise
        for side in previous - set(side_files.values()):
            # Named by the JSON this one replaced, by no one now (a replaced model output without painted pixels):
            # removed so no stale mask sits beside the document looking current. Best effort: the save is done.
            try:
                (json_path.parent / side).unlink(missing_ok=True)
            except OSError:
                pass
        return json_path

    def _to_json(self, json_path: Path, side_files: dict[str, str]) -> dict:
        data = {
            "format": FORMAT,
            "version": _version_for(side_files),
            "image": {
                "path": _relative_to_folder(self.image_path, json_path.parent),
                "width": self.width,
                "height": self.height,
            },
            "keypoint_schema": self.keypoint_schema,
            "class_schema": self.class_schema,
            "revision": self.revision,
            "reviewed": self.reviewed,
            "persons": [p.to_json() for p in self.persons],
            "layers": side_files,
            "models": self.models,
        }
        # Only for video frames: other documents stay as they were, and an older reader ignores the key.
        if self.video is not None:
            data["video"] = self.video.to_json()
        return data

    # ---------------------------------------------------------------------------------------------- load

    @classmethod
    def load(cls, json_path: str | os.PathLike, layers: bool = True) -> Annotation:
        """Read a saved document; ``layers=False`` skips the side files (persons only: fast, small)."""
        json_path = Path(json_path)
        try:
            return cls._load(json_path, layers)
        except AnnotationFormatError:
            raise
        except ValueError as exc:
            raise AnnotationFormatError(f"{json_path}: {exc}") from None

    @classmethod
    def _load(cls, json_path: Path, load_layers: bool = True) -> Annotation:
        data = _read_json(json_path)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f'not a Sapiens Studio annotation (expected "format": "{FORMAT}")')
        version = data.get("version")
        if isinstance(version, bool) or version not in READABLE_VERSIONS:
            newer = isinstance(version, int) and not isinstance(version, bool) and version > VERSION
            raise ValueError(
                f"annotation format version {version!r}"
                + (" was written by a newer Sapiens Studio" if newer else " is not supported")
                + f"; this one reads versions up to {VERSION}"
            )
        image = _field(data, "image", dict)
        stored_path = _field(image, "path", str)
        size = (_field(image, "width", int), _field(image, "height", int))
        keypoint_schema = _field(data, "keypoint_schema", str, optional=True)
        kpt_count = _schema_length(keypoint_schema)
        persons = []
        for i, item in enumerate(_field(data, "persons", list)):
            try:
                persons.append(Person.from_json(item, kpt_count))
            except ValueError as exc:
                raise ValueError(f"persons[{i}]: {exc}") from None
        arrays, side_paths = {}, {}
        for name, side in _field(data, "layers", dict).items():
            if name not in _LAYERS:
                raise ValueError(f"unknown layer {name!r} (known: {', '.join(_LAYERS)})")
            if not isinstance(side, str) or not side:
                raise ValueError(f"layer {name!r} must name a side file, not {side!r}")
            side_path = json_path.parent / side
            side_paths[name] = str(side_path)
            if not load_layers:
                continue
            try:
                arrays[name] = _LAYERS[name][2](side_path)
            except FileNotFoundError:
                raise ValueError(f"the {name} side file {side_path} is missing") from None
            except ValueError as exc:
                raise ValueError(f"{name} ({side}): {exc}") from None
        doc = cls(
            image_path=_resolve_from_folder(stored_path, json_path.parent),
            image_size=size,
            keypoint_schema=keypoint_schema,
            class_schema=_field(data, "class_schema", str, optional=True),
            persons=persons,
            models=_field(data, "models", dict),
            revision=_field(data, "revision", int),
            reviewed=_field(data, "reviewed", bool, optional=True) or False,
            video=None if data.get("video") is None else VideoRef.from_json(data["video"]),
            **arrays,
        )
        doc.validate()
        doc.side_files = side_paths
        return doc

    # ---------------------------------------------------------------------------------------------- compare

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Annotation):
            return NotImplemented
        return (
            self.image_path == other.image_path
            and tuple(self.image_size) == tuple(other.image_size)
            and self.keypoint_schema == other.keypoint_schema
            and self.class_schema == other.class_schema
            and self.persons == other.persons
            and self.models == other.models
            and self.revision == other.revision
            and self.reviewed == other.reviewed
            and self.video == other.video
            and all(same_array(getattr(self, n), getattr(other, n)) for n in _LAYERS)
        )

    __hash__ = None  # mutable


# -------------------------------------------------------------------------------------------------- helpers


def _version_for(side_files: dict[str, str]) -> int:
    return max((_LAYER_VERSIONS.get(name, 1) for name in side_files), default=1)


def _named_side_files(json_path: Path) -> set[str]:
    """The side files the document now at ``json_path`` names (plain names in its folder); empty for anything else.
    Only these may be removed when it is replaced: a file we did not write (an image called ``a_seg.png`` beside
    ``a.json``) never is."""
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
        named = data["layers"].values() if data.get("format") == FORMAT else ()
        return {side for side in named if isinstance(side, str) and side and Path(side).name == side}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()


def _schema_length(name: str | None) -> int | None:
    """Point count of a shipped keypoint schema; None when unnamed or unknown (then nothing to check against)."""
    if name is None:
        return None
    try:
        return len(find_keypoint_schema(name))
    except KeyError:
        return None


def _class_count(name: str | None) -> int | None:
    if name is None:
        return None
    try:
        return len(find_class_schema(name))
    except KeyError:
        return None


def _read_json(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError("no such file") from None
    except UnicodeDecodeError:
        raise ValueError("not a UTF-8 text file") from None
    except OSError as exc:
        raise ValueError(f"cannot read it ({exc.strerror or exc})") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON (missing values are written as null)")


def _field(data: dict, key: str, kind: type, optional: bool = False):
    if key not in data or (optional and data[key] is None):
        if optional:
            return None
        raise ValueError(f"missing field {key!r}")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(
            f"field {key!r} must be {'a' if kind is not int else 'an'} {kind.__name__}, not {value!r}"[:200]
        )
    return value


def _relative_to_folder(image_path: str, folder: Path) -> str:
    """The image path relative to the document's folder with "/" separators, so the pair can move together."""
    try:
        relative = os.path.relpath(os.path.abspath(image_path), os.path.abspath(folder))
    except ValueError:  # another drive on Windows: no relative path exists
        return Path(image_path).as_posix()
    return Path(relative).as_posix()


def _resolve_from_folder(stored: str, folder: Path) -> str:
    if os.path.isabs(stored):
        return stored
    return os.path.normpath(os.path.join(folder, stored))


def _format_json(value, indent: str = "") -> str:
    """Indented JSON, but lists of plain numbers stay on one line (one keypoint per line, not four)."""
    inner = indent + " "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(str(k))}: {_format_json(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, (list, tuple)):
        if all(v is None or isinstance(v, (bool, int, float)) for v in value):
            return "[" + ", ".join(_scalar(v) for v in value) + "]"
        return "[\n" + ",\n".join(inner + _format_json(v, inner) for v in value) + "\n" + indent + "]"
    return _scalar(value)


def _scalar(value) -> str:
    if isinstance(value, np.generic):  # numpy numbers in provenance dicts
        value = value.item()
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cannot write {value!r} to JSON ({exc})") from None
