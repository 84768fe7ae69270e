"""Depth, surface normals and metric pointmaps as arrays plus previews: the ``depth-normal`` folder format.

Per image ``STEM`` (the side-file names of the annotation document and of ``predict``):

* ``STEM_depth.npy``: float32 (H, W) relative depth, larger = farther, NaN = background. Read back exactly.
* ``STEM_depth.png``: 16-bit greyscale preview, normalised over the foreground as the official demo
  displays depth: nearest = 65535 (bright), farthest = 1, background = 0 (kept apart from the farthest
  point, which the demo also shows apart: grey).
* ``STEM_normal.npy``: float32 (H, W, 3) unit normals (x, y, z), NaN = background. Read back exactly.
* ``STEM_normal.png``: 8-bit RGB preview, R, G, B = uint8((n + 1) / 2 * 255) of x, y, z as the official
  demo computes it (truncating), background black (the demo's n = -1).
* ``STEM_pointmap.npy``: float32 (H, W, 3) metric XYZ in meters, camera frame, NaN = background. Read back exactly.
* ``STEM_pointmap.ply``: the same points as an ASCII PLY point cloud coloured from the photo (see ``ply``);
  without colour when the photo cannot be read (the report says so).

The foreground of a preview is where the array is finite and, when the document has a person mask, inside
it. Import reads the three ``.npy`` kinds and matches ``STEM`` to the image of that stem under
``ImportOptions.images_dir`` (default: the source folder); previews and point clouds are derived data and not read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from ..annotation import layers
from ..errors import ImageReadError
from ..io.atomic import atomic_write_bytes
from ..io.images import read_image
from ._files import ImageIndex, read_layer_files, source_of, walk_files
from .base import ExportItem, ExportOptions, ExportReport, ImportedImage, ImportOptions, ImportProblem
from .masks import write_depth, write_normal
from .ply import write_pointmap_ply
from .registry import Format, register_format

__all__ = ["write_depth_normal", "read_depth_normal", "depth_preview", "normal_preview"]

_ARRAYS = {"depth": "_depth.npy", "normal": "_normal.npy", "pointmap": "_pointmap.npy"}
_CHANNELS = {"depth": None, "normal": 3, "pointmap": 3}
_PREVIEWS = ("_depth.png", "_normal.png")


def depth_preview(depth: np.ndarray, foreground: np.ndarray | None = None) -> np.ndarray:
    """(H, W) uint16: near = bright over the foreground, 0 outside it."""
    inside = np.isfinite(depth)
    if foreground is not None:
        inside &= foreground
    out = np.zeros(depth.shape, np.uint16)
    if inside.any():
        values = depth[inside].astype(np.float64)
        near, far = values.min(), values.max()
        closeness = (far - values) / (far - near) if far > near else np.ones_like(values)
        out[inside] = 1 + np.rint(closeness * 65534).astype(np.uint16)
    return out


def normal_preview(normal: np.ndarray, foreground: np.ndarray | None = None) -> np.ndarray:
    """(H, W, 3) uint8 RGB as the official demo colours normals; background and non-finite pixels black."""
    n = np.clip(np.nan_to_num(normal, nan=-1.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    if foreground is not None:
        n[~foreground] = -1.0
    return ((n + 1) / 2 * 255).astype(np.uint8)


def write_depth_normal(out: Path, items: Iterable[ExportItem], options: ExportOptions) -> ExportReport:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    for item in items:
        doc = item.doc
        if doc.depth is None and doc.normal is None and doc.pointmap is None:
            continue
        if doc.depth is not None:
            write_depth(out / f"{item.stem}_depth.npy", doc.depth)
            _write_png(out / f"{item.stem}_depth.png", depth_preview(doc.depth, doc.foreground))
            report.written += [out / f"{item.stem}_depth.npy", out / f"{item.stem}_depth.png"]
        if doc.normal is not None:
            write_normal(out / f"{item.stem}_normal.npy", doc.normal)
            rgb = normal_preview(doc.normal, doc.foreground)
            _write_png(out / f"{item.stem}_normal.png", np.ascontiguousarray(rgb[:, :, ::-1]))  # OpenCV takes BGR
            report.written += [out / f"{item.stem}_normal.npy", out / f"{item.stem}_normal.png"]
        if doc.pointmap is not None:
            report.written += _write_pointmap(out, item, report)
        report.images += 1
    return report


def _write_pointmap(out: Path, item: ExportItem, report: ExportReport) -> list[Path]:
    doc = item.doc
    npy, ply = out / f"{item.stem}_pointmap.npy", out / f"{item.stem}_pointmap.ply"
    layers.write_float_npy(npy, doc.pointmap, 3, "pointmap")
    try:
        rgb = read_image(doc.image_path)
        if rgb.shape[:2] != doc.pointmap.shape[:2]:
            raise ImageReadError(f"{Path(doc.image_path).name} is not the size of the pointmap")
    except ImageReadError as exc:
        rgb = None
        report.problems.append(f"{item.stem}: point cloud written without colours ({exc})")
    write_pointmap_ply(ply, doc.pointmap, rgb, doc.foreground)
    return [npy, ply]


def _write_png(path: Path, image: np.ndarray) -> None:
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"{path.name}: PNG encoding failed")
    atomic_write_bytes(path, data.tobytes())


def read_depth_normal(src: Path, options: ImportOptions) -> Iterator[ImportedImage | ImportProblem]:
    src = Path(src)
    by_stem: dict[str, dict[str, list[Path]]] = {}
    for path in walk_files(src, tuple(_ARRAYS.values())):
        for layer, suffix in _ARRAYS.items():
            if path.name.endswith(suffix):
                by_stem.setdefault(path.name[: -len(suffix)], {}).setdefault(layer, []).append(path)
    images = ImageIndex(options.images_dir or (src if src.is_dir() else src.parent), skip=_PREVIEWS)
    for stem in sorted(by_stem):
        files = by_stem[stem]
        first = next(iter(files.values()))[0]
        try:
            yield _read_stem(stem, files, images, str(first))
        except ValueError as exc:
            yield ImportProblem(source_of(exc, first), str(exc))


def _read_stem(stem: str, files: dict[str, list[Path]], images: ImageIndex, source: str) -> ImportedImage:
    def read_one(layer: str, path: Path):
        # read_float_npy refuses pickles and anything but float32 of the layer's shape, naming the file.
        return layers.read_float_npy(path, _CHANNELS[layer], layer)

    image_path, size, arrays = read_layer_files(stem, files, images, read_one)
    return ImportedImage(source=source, image_path=image_path, size=size, layers=arrays)


register_format(
    Format(
        name="depth-normal",
        title="Depth and normals (.npy with PNG previews)",
        target="folder",
        suffix=".npy",
        write=write_depth_normal,
        read=read_depth_normal,
        needs_layers=True,
        description="Per image STEM_depth.npy (float32 HxW), STEM_normal.npy and STEM_pointmap.npy (float32 HxWx3, "
        "metric XYZ in meters), NaN = background, with previews STEM_depth.png (16-bit, near = bright over the "
        "foreground), STEM_normal.png (8-bit RGB, (n+1)/2*255) and STEM_pointmap.ply (ASCII point cloud, photo "
        "colours); import reads the arrays back.",
    )
)
