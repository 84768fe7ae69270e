"""Checks and look-ups the folder formats share: reading a JSON or ``.npy`` file safely, matching files to
images by stem, and the size and coordinate checks every reader applies.

Every function raises ValueError with a short message that names the field; the reader prefixes the file
and turns it into an ``ImportProblem`` for that one image, so one bad file never stops an import.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np

from ..errors import AnnotationFormatError, ImageReadError
from ..io.images import find_images, read_image_size

__all__ = [
    "FileProblem",
    "source_of",
    "read_json",
    "npy_header",
    "load_npy",
    "walk_files",
    "ImageIndex",
    "check_points",
    "check_shape",
    "natural_key",
]


class FileProblem(ValueError):
    """A ValueError about one file of an image's set, so the problem names that file as its source."""

    def __init__(self, path: Path, message: str) -> None:
        # Some layer readers name the file themselves; never name it twice.
        super().__init__(message if message.startswith(path.name) else f"{path.name}: {message}")
        self.path = path


def source_of(exc: ValueError, default: Path) -> str:
    return str(exc.path if isinstance(exc, FileProblem) else default)


def read_json(path: Path) -> object:
    """The parsed file; NaN and Infinity are accepted here so the field check can name the field they sit in."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError("not a UTF-8 text file") from None
    except OSError as exc:
        raise ValueError(f"cannot read it ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
    except RecursionError:
        raise ValueError("not valid JSON (nested too deeply)") from None


def npy_header(path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    """dtype and shape of a ``.npy`` file from its header alone, so a folder can be sorted without loading data."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f".npy format version {version} is not supported")
    except OSError as exc:
        raise ValueError(f"cannot read it ({exc.strerror or exc})") from None
    except (ValueError, EOFError, SyntaxError) as exc:
        raise ValueError(f"not a readable .npy array ({exc})") from None
    return dtype, tuple(shape)


def load_npy(path: Path) -> np.ndarray:
    """The array, never unpickling anything (an object array is refused, not executed)."""
    try:
        return np.load(path, allow_pickle=False)
    except OSError as exc:
        raise ValueError(f"cannot read it ({exc.strerror or exc})") from None
    except (ValueError, EOFError) as exc:  # pickled objects, truncated data
        raise ValueError(f"not a readable .npy array ({exc})") from None


def natural_key(path: Path) -> list:
    parts = re.split(r"(\d+)", os.path.normcase(str(path)))
    return [(0, int(p), p) if p.isdigit() else (1, 0, p) for p in parts]


def walk_files(src: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Files under ``src`` (recursively; ``src`` itself when it is a file) ending in ``suffixes``, hidden ones
    skipped, in natural order so that imports list images as a file browser does."""
    if src.is_file():
        return [src]
    if not src.is_dir():
        raise AnnotationFormatError(f"{src}: no such file or folder")
    found = []
    for root, dirs, names in os.walk(src, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(Path(root, n) for n in names if not n.startswith(".") and n.lower().endswith(suffixes))
    return sorted(found, key=natural_key)


class ImageIndex:
    """Images under a folder by file stem, for formats that name their files after the image.

    ``skip`` lists name endings of files that are outputs rather than images (``_seg.png``), so a folder
    holding both the images and an export beside them still matches each stem to its one image.
    """

    def __init__(self, folder: Path, skip: tuple[str, ...] = ()) -> None:
        self.folder = folder
        if not folder.is_dir():
            raise AnnotationFormatError(f"{folder}: the images folder does not exist")
        try:
            images = find_images([folder])
        except ImageReadError as exc:
            raise AnnotationFormatError(str(exc)) from None
        self._by_stem: dict[str, list[Path]] = {}
        for path in images:
            if not path.name.lower().endswith(skip):
                self._by_stem.setdefault(path.stem, []).append(path)

    def find(self, stem: str) -> Path:
        found = self._by_stem.get(stem, [])
        if not found:
            raise ValueError(f"no image named {stem!r} (any image suffix) under {self.folder}")
        if len(found) > 1:
            raise ValueError(
                f"{len(found)} images are named {stem!r}: "
                + ", ".join(p.relative_to(self.folder).as_posix() for p in found[:3])
            )
        return found[0]


def check_points(xy: np.ndarray, size: tuple[int, int] | None, field: str) -> None:
    """Coordinates must be finite and lie within one image size of the image.

    Points a little outside are legitimate (a model's crop reaches beyond the frame, an occluded hand outside
    it); farther than the image's own size they can only be a unit or parsing error. Without a known size
    the bound is 10^6 px, beyond which float32 would also lose sub-pixel precision.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if not np.isfinite(xy).all():
        bad = int(np.flatnonzero(~np.isfinite(xy).all(axis=1))[0])
        raise ValueError(f"{field}: point {bad} is not finite")
    if size is None:
        low, high = np.array([-1e6, -1e6]), np.array([1e6, 1e6])
    else:
        w, h = size
        low, high = np.array([-w, -h], float), np.array([2 * w, 2 * h], float)
    outside = ((xy < low) | (xy > high)).any(axis=1)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"{field}: point {i} ({xy[i, 0]:.6g}, {xy[i, 1]:.6g}) lies far outside the "
            + ("image" if size is None else f"{size[0]}x{size[1]} image")
        )


def check_shape(shape: tuple[int, ...], size: tuple[int, int], field: str) -> None:
    """A per-pixel layer must cover the image exactly: (H, W) leading dimensions equal to the image's."""
    w, h = size
    if tuple(shape[:2]) != (h, w):
        got = f"{shape[1]}x{shape[0]}" if len(shape) >= 2 else f"shape {shape}"
        raise ValueError(f"{field} is {got}, the image is {w}x{h}")


def read_layer_files(
    stem: str, files: dict[str, list[Path]], images: ImageIndex, read_one
) -> tuple[Path, tuple[int, int], dict[str, np.ndarray]]:
    """The image of ``stem`` with its size, and each layer file read by ``read_one(layer, path)`` and checked to
    be that size. One file per layer: two files claiming the same layer of one image are refused, not guessed
    between. A bad file raises FileProblem naming it."""
    for layer, paths in files.items():
        if len(paths) > 1:
            raise ValueError(f"{len(paths)} files give the {layer} of {stem!r}: {paths[0]}, {paths[1]}")
    image_path = images.find(stem)
    try:
        size = read_image_size(image_path)
    except ImageReadError as exc:
        raise ValueError(str(exc)) from None
    arrays = {}
    for layer, (path,) in files.items():
        try:
            arrays[layer] = read_one(layer, path)
            check_shape(arrays[layer].shape, size, layer)
        except FileProblem:
            raise
        except ValueError as exc:
            raise FileProblem(path, str(exc)) from None
    return image_path, size, arrays
