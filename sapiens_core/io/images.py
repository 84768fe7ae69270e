"""Reading images as the models and the annotation tools see them: (H, W, 3) uint8 RGB, upright.

Decisions, and why:

* The file is opened once and read into memory once (``read_image``), or only its header is read
  (``read_image_size``): the header, the completeness check and the pixels all come from those bytes. At
  dataset scale on network storage every open and every re-read is a round trip; the bytes are the
  compressed size, small next to the decoded image.
* Pillow reads the header first (lazily, no pixels): it identifies the format, the size and the EXIF
  orientation, and turns "not an image" into a clear error. That one header parse decides the orientation
  for both ``read_image`` and ``read_image_size``, so the two always agree.
* JPEG is decoded by libjpeg-turbo through simplejpeg, straight into the array we return, in strict mode: a
  file whose data ends early is an error, not an image filled with grey. OpenCV and Pillow both accept such a
  file (with an end marker appended it passes any structural check) and only print libjpeg's "corrupt data"
  warning; simplejpeg raises it. Its pixels equal ``cv2.imread``'s (the same library and settings: the
  official demos read with OpenCV), checked by ``tests/core/test_images.py``. A warning that does not mean lost
  data ("extraneous bytes before marker") sends the file to Pillow, which reads it as other tools do.
* OpenCV decodes the other common cases (8-bit PNG, WebP) straight into the array we return:
  ``cv2.imread(path, dst, IMREAD_COLOR_RGB | IMREAD_IGNORE_ORIENTATION)`` with ``dst`` preallocated from the
  header size writes RGB pixels into our buffer (OpenCV 5.0; checked by ``tests/core/test_images.py``). The
  path is a memory file holding the bytes already read (:mod:`.memory_file`), not the input again.
  Peak memory is the image once, 3 bytes per pixel (plus a second buffer only to rotate by 90 degrees);
  through Pillow (4 bytes per pixel of its own, then copies for numpy) a 100 MP JPEG peaked at 3x that.
  We apply the orientation ourselves (cv2 5.0 would too, but mishandles it in TIFF, and one parser is
  easier to trust than two).
* Decoding into ``dst`` has a catch: OpenCV then returns ``dst`` even when decoding failed half-way (without
  ``dst`` it returns None, but copies the whole image once more). So a file only takes that path once it
  is known to be complete: a PNG must pass Pillow's chunk check (``verify``: structure and CRCs, no
  decoding). WebP (rarely huge) is decoded without ``dst``. Whenever OpenCV or simplejpeg is not used or
  declines a file (damaged, a non-ASCII path on Windows, ...), Pillow decodes it, and its error says what is
  wrong.
* Alpha is dropped, not composited: the official Sapiens demos read with ``cv2.imread(IMREAD_COLOR)``, which
  drops it, so predictions match theirs; compositing would also change the colours at soft edges.
* 16-bit images are scaled with ``round(v * 255 / 65535)``; both OpenCV and Pillow would take the high byte.
* TIFF, BMP, CMYK, 16-bit greyscale and anything unusual go through Pillow, converted in horizontal bands
  so that no second full-size copy exists besides Pillow's own.
"""

from __future__ import annotations

import io
import os
import re
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import simplejpeg
from PIL import Image, UnidentifiedImageError

from ..errors import ImageReadError
from .memory_file import decode_with_cv2

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_IMAGE_PIXELS",
    "read_image",
    "read_image_size",
    "find_images",
    "scan_images",
    "ImageScan",
]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"})

# Pillow's default guard (89 MP warns, 179 MP fails) refuses ordinary large panoramas and scans. We accept up
# to this many pixels and refuse more ourselves, with a clear message, before any pixel is decoded.
MAX_IMAGE_PIXELS = 500_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS  # Pillow refuses at twice its limit; our own check comes first.

_CV2_FORMATS = frozenset({"PNG", "WEBP"})
_CV2_8BIT_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA"})
_CV2_16BIT_FORMATS = frozenset({"PNG", "TIFF"})
_PIL_16BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})
_PIL_BAND_PIXELS = 1 << 22  # rows converted per step on the Pillow path: ~16 MB of temporaries

# Pillow's names of decoding failures; anything here means "this file", not "this program".
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, Image.DecompressionBombError)

_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class _Header:
    format: str
    mode: str
    width: int  # as stored in the file, before the EXIF orientation
    height: int
    orientation: int  # EXIF 1..8; 1 = upright
    sixteen_bit: bool


def read_image(path: str | os.PathLike) -> np.ndarray:
    """The image as a C-contiguous (H, W, 3) uint8 RGB array, EXIF orientation applied.

    Raises ImageReadError (naming the file and the reason) for a missing, empty, truncated, corrupt,
    over-large or undecodable file.
    """
    data = _read_bytes(path)
    header = _parse_header(path, io.BytesIO(data))  # BytesIO shares the bytes object: no copy
    pixels = None
    if header.format == "JPEG" and header.mode in _CV2_8BIT_MODES:
        pixels = _decode_jpeg(path, data, header)
    elif header.format in _CV2_FORMATS and header.mode in _CV2_8BIT_MODES and not header.sixteen_bit:
        pixels = _decode_8bit_with_cv2(data, header)
    elif header.sixteen_bit and header.format in _CV2_16BIT_FORMATS:
        pixels = _decode_16bit_with_cv2(data, header)
    if pixels is not None:
        return _apply_orientation(pixels, header.orientation)
    pixels, orientation_left = _decode_with_pil(path, data, header)
    return _apply_orientation(pixels, orientation_left)


def read_image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) as ``read_image`` would return it (EXIF rotation applied), without decoding pixels."""
    with _open_checked(path) as file:  # the header only: Pillow reads what it needs of the file
        header = _parse_header(path, file)
    if header.orientation in (5, 6, 7, 8):  # the four orientations that swap the axes
        return header.height, header.width
    return header.width, header.height


def find_images(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Image files among ``inputs``: files as given, folders searched recursively.

    Only ``IMAGE_SUFFIXES`` (any case); hidden files and folders are skipped (macOS writes ``._name.jpg``
    resource files that are not images); each file once, in natural order (``img2`` before ``img10``).
    A missing input raises ImageReadError; ``scan_images`` also reports what was left out.
    """
    for item in inputs:
        if not Path(item).exists():
            raise ImageReadError(f"{item}: no such file or folder")
    return scan_images(inputs).images


@dataclass
class ImageScan:
    images: list[Path]
    problems: list[str]  # one line each: a named input that is missing or not an image type, an unreadable folder


def scan_images(inputs: Iterable[str | os.PathLike]) -> ImageScan:
    """``find_images`` that says what it left out instead of dropping it silently: an input named explicitly
    with a suffix we do not read (a GIF), a missing input, a sub-folder that cannot be listed."""
    found: dict[str, Path] = {}
    problems: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            candidates = _walk_visible_files(path, problems)
        elif path.is_file():
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                problems.append(
                    f"{path}: not an image type we read (expected one of {', '.join(sorted(IMAGE_SUFFIXES))})"
                )
                continue
            candidates = [path]
        else:
            problems.append(f"{path}: no such file or folder")
            continue
        for candidate in candidates:
            if candidate.suffix.lower() in IMAGE_SUFFIXES:
                found.setdefault(os.path.normcase(os.path.abspath(candidate)), candidate)
    return ImageScan(sorted(found.values(), key=_natural_key), problems)


# ---------------------------------------------------------------------------------------------- header


def _open_checked(path: str | os.PathLike):
    """The file opened for reading; a missing, empty, unreadable file or a folder raises ImageReadError."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot access it ({exc.strerror or exc})") from None
    if path.is_dir():
        raise ImageReadError(f"{path}: is a folder, not an image file")
    if size == 0:
        raise ImageReadError(f"{path}: the file is empty (0 bytes)")
    try:
        # Opened here, apart from any parsing, so a permission error is not reported as a corrupt file.
        return open(path, "rb")
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def _read_bytes(path: str | os.PathLike) -> bytes:
    with _open_checked(path) as file:
        try:
            data = file.read()
        except OSError as exc:
            raise ImageReadError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if not data:  # emptied between the size check and the read
        raise ImageReadError(f"{path}: the file is empty (0 bytes)")
    return data


def _parse_header(path: str | os.PathLike, stream) -> _Header:
    """Format, size, mode and orientation from the start of ``stream`` (decodes no pixels); checks the limits."""
    try:
        with Image.open(stream) as image:
            header = _Header(
                image.format or "?", image.mode, *_stored_size(image), _exif_orientation(image), _is_sixteen_bit(image)
            )
    except Image.DecompressionBombError:  # Pillow's own guard, at twice our limit
        raise ImageReadError(
            f"{path}: over the {MAX_IMAGE_PIXELS / 1e6:.0f} MP limit (sapiens_core.io.images.MAX_IMAGE_PIXELS)"
        ) from None
    except UnidentifiedImageError:
        raise ImageReadError(
            f"{path}: not an image in a format we can read (expected one of {', '.join(sorted(IMAGE_SUFFIXES))})"
        ) from None
    except _DECODE_ERRORS as exc:
        raise ImageReadError(f"{path}: truncated or corrupt image file ({exc})") from None
    pixels = header.width * header.height
    if pixels > MAX_IMAGE_PIXELS:
        raise ImageReadError(
            f"{path}: {header.width}x{header.height} is {pixels / 1e6:.0f} MP, over the "
            f"{MAX_IMAGE_PIXELS / 1e6:.0f} MP limit (sapiens_core.io.images.MAX_IMAGE_PIXELS)"
        )
    if pixels == 0:
        raise ImageReadError(f"{path}: the image has no pixels ({header.width}x{header.height})")
    return header


def _exif_orientation(image: Image.Image) -> int:
    try:
        # The base-class method on purpose: PNG's override decodes the whole image to look for an eXIf chunk
        # after the pixel data (where almost no writer puts one) when there is none before it.
        exif = Image.Image.getexif(image)
        value = int(exif.get(_ORIENTATION_TAG, 1))
    except Exception:  # a damaged EXIF block must not make the pixels unreadable
        return 1
    return value if 1 <= value <= 8 else 1


def _stored_size(image: Image.Image) -> tuple[int, int]:
    """Width and height of the pixel data in the file.

    Not always ``image.size``: recent Pillow versions turn TIFFs upright while loading and report the
    upright size already at open; the tiles still describe the data as stored.
    """
    if image.tile:
        return max(t.extents[2] for t in image.tile), max(t.extents[3] for t in image.tile)
    return image.size


def _is_sixteen_bit(image: Image.Image) -> bool:
    if image.mode in _PIL_16BIT_MODES:
        return True
    # Pillow has no 48-bit RGB mode: it opens such files as "RGB" and only the raw mode tells.
    for tile in image.tile:
        args = tile.args
        rawmode = args if isinstance(args, str) else (args[0] if args and isinstance(args[0], str) else "")
        if ";16" in rawmode:
            return True
    return False


# ---------------------------------------------------------------------------------------------- decoders


def _decode_8bit_with_cv2(data: bytes, header: _Header) -> np.ndarray | None:
    flags = cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION
    shape = (header.height, header.width, 3)
    try:
        if header.format == "WEBP":
            out = decode_with_cv2(data, flags)
        elif _known_complete(data, header.format):
            out = decode_with_cv2(data, flags, np.empty(shape, np.uint8))
        else:
            return None
    except cv2.error:
        return None
    if out is None or out.shape != shape or out.dtype != np.uint8:
        return None
    return out


def _decode_jpeg(path: str | os.PathLike, data: bytes, header: _Header) -> np.ndarray | None:
    """Strict libjpeg-turbo decode into the returned array; None when Pillow should decide (see the module notes)."""
    out = np.empty((header.height, header.width, 3), np.uint8)
    try:
        simplejpeg.decode_jpeg(data, colorspace="RGB", buffer=out, strict=True)
    except ValueError as exc:
        message = str(exc)
        lost = "premature end" in message.lower() or (
            message.startswith("Corrupt JPEG data") and "extraneous bytes" not in message
        )
        if lost:
            raise ImageReadError(f"{path}: truncated or corrupt JPEG image ({message})") from None
        return None
    return out


def _known_complete(data: bytes, image_format: str) -> bool:
    if image_format == "PNG":
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.verify()  # walks the chunks to IEND checking each CRC; decodes nothing
        except _DECODE_ERRORS:
            return False
        return True
    return False


def _decode_16bit_with_cv2(data: bytes, header: _Header) -> np.ndarray | None:
    # BGR rather than IMREAD_COLOR_RGB: OpenCV 5.0 ignores the RGB request for 16-bit TIFF.
    try:
        wide = decode_with_cv2(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR_BGR | cv2.IMREAD_IGNORE_ORIENTATION)
    except cv2.error:
        return None
    if wide is None or wide.dtype != np.uint16 or wide.shape != (header.height, header.width, 3):
        return None
    pixels = _sixteen_to_eight_bit(wide)
    del wide
    cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB, dst=pixels)  # in place: same size and type
    return pixels


def _decode_with_pil(path: str | os.PathLike, data: bytes, header: _Header) -> tuple[np.ndarray, int]:
    """Pixels, and the EXIF orientation still to apply (Pillow turns some formats upright itself on load)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            orientation_left = _exif_orientation(image)
            if image.mode == "F":
                raise ImageReadError(
                    f"{path}: 32-bit floating-point images are not supported "
                    f"(their value range is not defined); convert it to 8 or 16 bits"
                )
            if image.mode in _PIL_16BIT_MODES:
                grey = _sixteen_to_eight_bit(np.clip(np.asarray(image), 0, 65535).astype(np.uint16, copy=False))
                return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2)), orientation_left
            return _pil_to_rgb_array(image), orientation_left
    except ImageReadError:
        raise
    except _DECODE_ERRORS as exc:
        raise ImageReadError(f"{path}: truncated or corrupt {header.format} image ({exc})") from None


def _pil_to_rgb_array(image: Image.Image) -> np.ndarray:
    """Convert band by band into one preallocated array: no full-size converted or bytes copy."""
    width, height = image.size
    out = np.empty((height, width, 3), np.uint8)
    rows = max(1, _PIL_BAND_PIXELS // width)
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        band = image if (top, bottom) == (0, height) else image.crop((0, top, width, bottom))
        if band.mode != "RGB":
            band = band.convert("RGB")  # drops alpha; palette, CMYK, greyscale, 1-bit to RGB
        out[top:bottom] = np.asarray(band)
    return out


def _sixteen_to_eight_bit(wide: np.ndarray) -> np.ndarray:
    # convertScaleAbs rounds to nearest; v / 257 never falls on .5, so this is exactly round(v * 255 / 65535).
    return cv2.convertScaleAbs(wide, alpha=1.0 / 257.0)


def _apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels upright per EXIF orientation (the same result as ``PIL.ImageOps.exif_transpose``).

    Flips happen in place; the four orientations that swap the axes need one new buffer.
    """
    if orientation == 2:
        cv2.flip(pixels, 1, dst=pixels)
    elif orientation == 3:
        cv2.flip(pixels, -1, dst=pixels)
    elif orientation == 4:
        cv2.flip(pixels, 0, dst=pixels)
    elif orientation == 5:
        pixels = cv2.transpose(pixels)
    elif orientation == 6:
        pixels = cv2.rotate(pixels, cv2.ROTATE_90_CLOCKWISE)
    elif orientation == 7:
        pixels = cv2.transpose(pixels)
        cv2.flip(pixels, -1, dst=pixels)
    elif orientation == 8:
        pixels = cv2.rotate(pixels, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return pixels


# ---------------------------------------------------------------------------------------------- folders


def _walk_visible_files(folder: Path, problems: list[str]) -> list[Path]:
    files = []

    def unreadable(error: OSError) -> None:
        reason = error.strerror or error
        problems.append(f"{error.filename}: cannot list this folder ({reason}); its images are left out")

    # followlinks=False: a link back up the tree would otherwise recurse forever.
    for root, dirs, names in os.walk(folder, onerror=unreadable, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        files.extend(Path(root, n) for n in names if not n.startswith("."))
    return files


def _natural_key(path: Path) -> list:
    parts = re.split(r"(\d+)", os.path.normcase(str(path)))
    return [(0, int(p), p) if p.isdigit() else (1, 0, p) for p in parts]
