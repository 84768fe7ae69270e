"""Import of what the official Sapiens "lite" demo scripts wrote, so their results can be corrected here.

What the demos write (``lite/demo/vis_*.py``), each into its own ``--output_root``, per input image ``<name>``:

* pose: ``<name>.json`` = ``{"instance_info": [{"keypoints": [[x, y] * K], "keypoint_scores": [s * K]}, ...]}``
  (image pixels; no boxes, no ids);
* seg: ``<name>_seg.npy`` = int64 (H, W) class ids (argmax) and ``<name>.npy`` = bool (H, W) foreground
  (class id > 0);
* depth: ``<name>.npy`` = float32 (H, W), not masked; normal: ``<name>.npy`` = float32 (H, W, 3), unit length.

Depth, normal and the seg mask share the name ``<name>.npy`` in different folders, so the kind of every
``.npy`` is told from its header (dtype and shape, read without loading the data) together with its name:
an integer ``*_seg.npy`` is a class map of ``*``; a bool array is a foreground (even when its name ends in
``_seg``: the mask of an image called ``x_seg``); float (H, W) is depth, float (H, W, 3) normals. A float
``*_seg.npy`` is the 0/1 map of a one-channel foreground model, the same as the bool mask beside it, and is
skipped. Every other ``.npy`` and every ``.json`` that is no pose file is a problem for its image.

The source folder is searched recursively; files are matched by ``<name>`` to the image with that stem
under ``ImportOptions.images_dir``, which is required: the demos' output folders hold their
visualisations under the images' own names. Points get source "model", visibility 2 where the score
reaches 0.3 (the demos' ``--kpt-thr``) and 0 elsewhere; the keypoint count picks the layout unless
``ImportOptions.keypoint_schema`` names one. Depth and normals are set to NaN outside the seg mask when one
exists, as this program's own pipeline and the demos' displays treat the background.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..annotation import Person
from ..errors import AnnotationFormatError, ImageReadError
from ..io.images import read_image_size
from ..schema import class_schema, keypoint_schema, keypoint_schema_for_count
from ._files import (
    FileProblem,
    ImageIndex,
    check_points,
    check_shape,
    load_npy,
    natural_key,
    npy_header,
    read_json,
    source_of,
    walk_files,
)
from .base import ImportedImage, ImportOptions, ImportProblem
from .registry import Format, register_format

__all__ = ["read_sapiens_lite", "KPT_THRESHOLD", "classify_npy"]

KPT_THRESHOLD = 0.3  # the demos' --kpt-thr default
_KINDS = ("pose", "part_map", "foreground", "depth", "normal")


def classify_npy(name: str, dtype: np.dtype, shape: tuple[int, ...]) -> tuple[str | None, str]:
    """(kind, image stem) of a demo ``.npy``; kind None for the skipped float ``_seg`` map. ValueError otherwise."""
    base = name[:-4]
    seg = base.endswith("_seg")
    if dtype.hasobject:
        raise ValueError(f"{name}: holds Python objects ({dtype}), not an array the demos write")
    if len(shape) == 2 and seg and dtype.kind in "iu":
        return "part_map", base[:-4]
    if len(shape) == 2 and dtype == np.bool_:
        return "foreground", base
    if len(shape) == 2 and dtype.kind == "f":
        return (None, base[:-4]) if seg else ("depth", base)
    if len(shape) == 3 and shape[2] == 3 and dtype.kind == "f":
        return "normal", base
    raise ValueError(
        f"{name}: {dtype} {shape} is none of the demos' outputs (int *_seg.npy class map, "
        "bool mask, float (H, W) depth, float (H, W, 3) normals)"
    )


def read_sapiens_lite(src: Path, options: ImportOptions) -> Iterator[ImportedImage | ImportProblem]:
    if options.images_dir is None:
        raise AnnotationFormatError(
            f"{src}: importing sapiens-lite outputs needs the folder of the original "
            "images (their output folders hold visualisations under the same names)"
        )
    files: dict[str, dict[str, list[Path]]] = {}
    broken: dict[str, ImportProblem] = {}
    for path in walk_files(Path(src), (".json", ".npy")):
        if path.suffix.lower() == ".json":
            files.setdefault(path.stem, {}).setdefault("pose", []).append(path)
            continue
        try:
            kind, stem = classify_npy(path.name, *npy_header(path))
        except ValueError as exc:
            stem = path.name[:-4]
            broken.setdefault(stem[:-4] if stem.endswith("_seg") else stem, ImportProblem(str(path), str(exc)))
            continue
        if kind is not None:
            files.setdefault(stem, {}).setdefault(kind, []).append(path)
    images = ImageIndex(options.images_dir)
    for stem in sorted(set(files) | set(broken), key=lambda s: natural_key(Path(s))):
        if stem in broken:
            yield broken[stem]
            continue
        kinds = files[stem]
        try:
            yield _read_stem(stem, kinds, images, options)
        except ValueError as exc:
            yield ImportProblem(source_of(exc, next(iter(kinds.values()))[0]), str(exc))


def _read_stem(stem: str, kinds: dict[str, list[Path]], images: ImageIndex, options: ImportOptions) -> ImportedImage:
    for kind, paths in kinds.items():
        if len(paths) > 1:
            raise ValueError(f"{len(paths)} files give the {kind} of {stem!r}: {paths[0]}, {paths[1]}")
    image_path = images.find(stem)
    try:
        size = read_image_size(image_path)
    except ImageReadError as exc:
        raise ValueError(str(exc)) from None
    result = ImportedImage(source=str(next(iter(kinds.values()))[0]), image_path=image_path, size=size)
    if "pose" in kinds:
        path = kinds["pose"][0]
        try:
            result.keypoint_schema, result.persons = _pose(read_json(path), size, options.keypoint_schema)
        except ValueError as exc:
            raise FileProblem(path, str(exc)) from None
    for kind in _KINDS[1:]:
        if kind in kinds:
            path = kinds[kind][0]
            try:
                result.layers[kind] = _layer(kind, load_npy(path), size, options.class_schema)
            except ValueError as exc:
                raise FileProblem(path, str(exc)) from None
    if "part_map" in result.layers:
        result.class_schema = options.class_schema
        # The demo's mask is exactly class id > 0; derive it when only the class map came along.
        result.layers.setdefault("foreground", result.layers["part_map"] > 0)
    fg = result.layers.get("foreground")
    if fg is not None:
        for kind in ("depth", "normal"):
            if kind in result.layers:
                result.layers[kind][~fg] = np.nan
    return result


def _pose(data: object, size: tuple[int, int], requested: str | None) -> tuple[str | None, list[Person]]:
    if not isinstance(data, dict) or not isinstance(data.get("instance_info"), list):
        raise ValueError('not a lite pose file (needs an "instance_info" list)')
    persons, count = [], None
    for i, instance in enumerate(data["instance_info"]):
        field = f"instance_info[{i}]"
        if not isinstance(instance, dict):
            raise ValueError(f"{field} must be an object")
        xy = _numbers(instance.get("keypoints"), f"{field}.keypoints", 2)
        scores = _numbers(instance.get("keypoint_scores"), f"{field}.keypoint_scores", None)
        if len(scores) != len(xy):
            raise ValueError(f"{field}: {len(xy)} keypoints but {len(scores)} keypoint_scores")
        if count is not None and len(xy) != count:
            raise ValueError(f"{field} has {len(xy)} keypoints, instance_info[0] has {count}")
        count = len(xy)
        check_points(xy, size, f"{field}.keypoints")
        persons.append(Person.from_prediction(i, xy, scores, box=None, threshold=KPT_THRESHOLD))
    if count is None:
        return requested, []
    if requested is not None:
        try:
            schema = keypoint_schema(requested)
        except KeyError:
            raise ValueError(f"unknown keypoint layout {requested!r}") from None
        if len(schema) != count:
            raise ValueError(f"keypoints: {count} per person, {schema.name} has {len(schema)}")
    else:
        try:
            schema = keypoint_schema_for_count(count)
        except KeyError as exc:
            raise ValueError(f"keypoints: {exc.args[0]}") from None
    return schema.name, persons


def _numbers(value: object, field: str, width: int | None) -> np.ndarray:
    """A list of numbers (width None) or of [x, y] pairs as float64; NaN (json_tricks writes it) stays NaN."""

    def ok(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    if not isinstance(value, list) or not value:
        raise ValueError(f"{field} must be a non-empty list")
    if width is None:
        if not all(ok(v) for v in value):
            raise ValueError(f"{field} must hold only numbers")
    elif not all(isinstance(p, list) and len(p) == width and all(ok(v) for v in p) for p in value):
        raise ValueError(f"{field} must be a list of [x, y] pairs of numbers")
    return np.array(value, dtype=np.float64)


def _layer(kind: str, array: np.ndarray, size: tuple[int, int], class_schema_name: str) -> np.ndarray:
    check_shape(array.shape, size, kind)
    if kind == "part_map":
        classes = len(class_schema(class_schema_name))
        if array.size and (array.min() < 0 or array.max() >= classes):
            bad = np.unique(array[(array < 0) | (array >= classes)])[:8].tolist()
            raise ValueError(f"class ids {bad} are outside {class_schema_name} (0..{classes - 1})")
        return array.astype(np.uint8)
    if kind in ("depth", "normal") and array.dtype != np.float32:
        raise ValueError(f"{kind} is {array.dtype}, the demos write float32")
    return np.ascontiguousarray(array)


register_format(
    Format(
        name="sapiens-lite",
        title="Official Sapiens lite demo outputs (import)",
        target="folder",
        read=read_sapiens_lite,
        description="Reads the official lite demos' outputs from a folder (recursively): pose <name>.json, seg "
        "<name>_seg.npy and <name>.npy masks, depth and normal <name>.npy, told apart by name, dtype and "
        "shape, and matched to the images of the same stem in the images folder.",
    )
)
