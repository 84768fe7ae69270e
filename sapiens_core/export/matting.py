"""Mattes as PNG files a compositor opens directly: the ``matting`` folder format.

Per image ``STEM`` with a matte (a Sapiens2 matting run):

* ``STEM_alpha.png``: 8-bit greyscale alpha, 0 = background, 255 = person. Read back exactly.
* ``STEM_fg_rgb.png``: 8-bit RGB foreground colour as the model predicts it, premultiplied by alpha (black where
  alpha is 0; composite as ``fg + (1 - alpha) * background``). Read back exactly.
* ``STEM_cutout.png``: 8-bit RGBA, the photo's own pixels with the alpha as their opacity (straight alpha, what
  PNG viewers and editors expect): the person cut out. Skipped, with a problem in the report, when the photo
  cannot be read or is not the matte's size.

The same names ``predict`` and the annotation document give the first two, so a ``predict`` output folder is already
in this format. Files are written atomically and encoded by OpenCV's PNG encoder with its default settings: the same
document gives the same bytes. Import reads the alpha and foreground files (either alone is an image's matte) and
matches ``STEM`` to the image of that stem under ``ImportOptions.images_dir`` (default: the source folder); the
cut-out is derived and not read.
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
from .registry import Format, register_format

__all__ = ["write_matting", "read_matting", "cutout_rgba"]

_FILES = {"alpha": "_alpha.png", "fg_rgb": "_fg_rgb.png"}
_CUTOUT = "_cutout.png"
_WRITE = {"alpha": layers.write_gray_png, "fg_rgb": layers.write_rgb_png}
_READ = {"alpha": layers.read_gray_png, "fg_rgb": layers.read_rgb_png}


def cutout_rgba(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8: the photo's colours, the matte's alpha."""
    if rgb.shape[:2] != alpha.shape:
        raise ValueError(f"the photo is {rgb.shape[1]}x{rgb.shape[0]}, the matte {alpha.shape[1]}x{alpha.shape[0]}")
    return np.concatenate([rgb, alpha[..., None]], axis=2)


def write_matting(out: Path, items: Iterable[ExportItem], options: ExportOptions) -> ExportReport:
    del options  # nothing to choose: a matte has no scores or image paths to write
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    for item in items:
        doc = item.doc
        if doc.alpha is None and doc.fg_rgb is None:
            continue
        for layer, suffix in _FILES.items():
            if getattr(doc, layer) is not None:
                _WRITE[layer](out / f"{item.stem}{suffix}", getattr(doc, layer), layer)
                report.written.append(out / f"{item.stem}{suffix}")
        if doc.alpha is not None:
            _write_cutout(out / f"{item.stem}{_CUTOUT}", item, report)
        report.images += 1
    return report


def _write_cutout(path: Path, item: ExportItem, report: ExportReport) -> None:
    try:
        rgba = cutout_rgba(read_image(item.doc.image_path), item.doc.alpha)
    except (ImageReadError, ValueError) as exc:
        report.problems.append(f"{item.stem}: no cut-out ({' '.join(str(exc).split())})")
        return
    ok, data = cv2.imencode(".png", np.ascontiguousarray(rgba[:, :, [2, 1, 0, 3]]))  # OpenCV takes BGRA
    if not ok:
        raise ValueError(f"{path.name}: PNG encoding failed")
    atomic_write_bytes(path, data.tobytes())
    report.written.append(path)


def read_matting(src: Path, options: ImportOptions) -> Iterator[ImportedImage | ImportProblem]:
    src = Path(src)
    by_stem: dict[str, dict[str, list[Path]]] = {}
    for path in walk_files(src, tuple(_FILES.values())):
        for layer, suffix in _FILES.items():
            if path.name.endswith(suffix):
                by_stem.setdefault(path.name[: -len(suffix)], {}).setdefault(layer, []).append(path)
    # Our own outputs lying beside the images are not images of their own.
    images = ImageIndex(options.images_dir or (src if src.is_dir() else src.parent), skip=(*_FILES.values(), _CUTOUT))
    for stem in sorted(by_stem):
        files = by_stem[stem]
        first = next(iter(files.values()))[0]
        try:
            image_path, size, arrays = read_layer_files(stem, files, images, lambda layer, p: _READ[layer](p, layer))
        except ValueError as exc:
            yield ImportProblem(source_of(exc, first), str(exc))
            continue
        yield ImportedImage(source=str(first), image_path=image_path, size=size, layers=arrays)


register_format(
    Format(
        name="matting",
        title="Mattes (alpha, foreground and cut-out PNGs)",
        target="folder",
        suffix=".png",
        write=write_matting,
        read=read_matting,
        needs_layers=True,
        description="Per image with a matte STEM_alpha.png (8-bit grey, 255 = person), STEM_fg_rgb.png (8-bit RGB "
        "foreground premultiplied by alpha) and STEM_cutout.png (8-bit RGBA: the photo with the alpha as its "
        "opacity); import reads the alpha and foreground back.",
    )
)
