"""Depth map -> coloured 3D point cloud, and point clouds to and from ``.ply`` files (through Open3D).

Coordinates are the camera frame of OpenCV and Open3D: x right, y down, z forward (away from the camera),
in **pixel units**. Decisions, and why:

* Pinhole model with the principal point at the image centre, ``((W - 1) / 2, (H - 1) / 2)`` (pixel centres
  at integer coordinates). Photos rarely carry usable intrinsics and the models do not predict them, so the
  focal length is a user setting; the default is the larger image side, a ~53 degree field of view across it
  (a normal lens, the usual guess when EXIF says nothing). Larger focal lengths flatten the perspective.
* Sapiens depth is relative (spec §2.3): trained as the foreground's depth min-max normalised to [0, 1],
  larger = farther, with no metric scale. We undo that normalisation with a chosen scale: the nearest
  foreground point is put at ``z = focal`` and the farthest at ``z = focal + relief * max(H, W)``. At
  ``z = focal`` the projection is 1:1, so the front of the subject is as wide in 3D as it is in pixels and the
  cloud spans roughly the image size whatever the resolution; ``relief`` 0.3 makes the front-to-back extent
  about a third of the image's larger side (a standing person seen whole is ~0.3 as deep as tall with arms
  moved). The mapping is affine in the input, so any affine rescaling of a depth map (which is all the model
  output is defined up to) gives the same cloud. ``relative=False`` takes the values as camera z instead
  (metric depth after a scale/shift fit, or synthetic data).
* The normalisation looks at every valid pixel of the full map, before ``stride`` subsamples, so changing the
  stride thins the cloud without moving any point.
* Colours are float32 RGB in [0, 1]: what Open3D stores and what the GL view draws.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = [
    "DEFAULT_RELIEF",
    "default_focal",
    "depth_to_points",
    "pointmap_to_points",
    "colors_from_image",
    "colors_from_parts",
    "build_point_cloud",
    "write_ply",
    "read_ply",
]

DEFAULT_RELIEF = 0.3
UNKNOWN_CLASS_RGB = (0.5, 0.5, 0.5)  # ids the class set lacks (255 = "ignore" in training), drawn neutral grey


def default_focal(height: int, width: int) -> float:
    """The focal length (pixels) used when none is given: the larger image side."""
    return float(max(height, width))


def depth_to_points(
    depth: np.ndarray,
    focal: float | None = None,
    mask: np.ndarray | None = None,
    stride: int = 1,
    *,
    relief: float = DEFAULT_RELIEF,
    relative: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Back-project the foreground of an (H, W) depth map.

    A pixel is foreground when its depth is finite (NaN marks background in our documents), ``mask`` (an
    (H, W) bool array, e.g. the person mask) is True there, and, with ``relative=False``, its depth is
    positive. ``stride`` keeps every stride-th row and column. Returns ``points`` (N, 3) float32 in the
    camera frame (see the module notes) and ``pixels`` (N, 2) int32 (x, y) of the source pixels, in row-major
    order; N may be 0.
    """
    depth = np.asarray(depth)
    if depth.ndim != 2 or not np.issubdtype(depth.dtype, np.floating):
        raise ValueError(f"depth must be a 2-D float array, not {depth.dtype} {depth.shape}")
    h, w = depth.shape
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != (h, w) or mask.dtype != np.bool_:
            raise ValueError(f"mask must be a bool array of shape {(h, w)}, not {mask.dtype} {mask.shape}")
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be a positive integer, not {stride!r}")
    f = default_focal(h, w) if focal is None else float(focal)
    if not np.isfinite(f) or f <= 0:
        raise ValueError(f"focal must be a positive number of pixels, not {focal!r}")
    if not np.isfinite(relief) or relief < 0:
        raise ValueError(f"relief must be zero or positive, not {relief!r}")

    valid = np.isfinite(depth)
    if mask is not None:
        valid &= mask
    if not relative:
        valid &= depth > 0

    if relative:
        # where= with initial: no copy of the foreground values, which matters for 50-megapixel maps.
        lo = float(np.min(depth, where=valid, initial=np.inf))
        hi = float(np.max(depth, where=valid, initial=-np.inf))
        span = hi - lo if hi > lo else np.inf  # a flat foreground (or a single pixel) sits at z = focal
        scale, offset = relief * max(h, w) / span, f  # z = offset + (d - lo) * scale

    sub_valid = valid[::stride, ::stride]
    rows, cols = np.nonzero(sub_valid)
    ys, xs = rows * stride, cols * stride
    d = depth[::stride, ::stride][sub_valid].astype(np.float64)
    z = offset + (d - lo) * scale if relative else d
    points = np.empty((len(z), 3), np.float32)
    points[:, 0] = (xs - (w - 1) / 2.0) * z / f
    points[:, 1] = (ys - (h - 1) / 2.0) * z / f
    points[:, 2] = z
    pixels = np.empty((len(z), 2), np.int32)
    pixels[:, 0] = xs
    pixels[:, 1] = ys
    return points, pixels


def pointmap_to_points(
    pointmap: np.ndarray, mask: np.ndarray | None = None, stride: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """The foreground of an (H, W, 3) metric pointmap (Sapiens2) as points: no focal length or relief, the pixels
    already carry their 3-D position (meters, the same camera frame). A pixel counts where all three values are
    finite and ``mask`` allows it. Returns ``points`` (N, 3) float32 and ``pixels`` (N, 2) int32, row-major."""
    pointmap = np.asarray(pointmap)
    if pointmap.ndim != 3 or pointmap.shape[2] != 3 or not np.issubdtype(pointmap.dtype, np.floating):
        raise ValueError(f"pointmap must be an (H, W, 3) float array, not {pointmap.dtype} {pointmap.shape}")
    h, w = pointmap.shape[:2]
    if mask is not None and (np.shape(mask) != (h, w) or np.asarray(mask).dtype != np.bool_):
        raise ValueError(f"mask must be a bool array of shape {(h, w)}, not {np.asarray(mask).dtype} {np.shape(mask)}")
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be a positive integer, not {stride!r}")
    sub = pointmap[::stride, ::stride]
    valid = np.isfinite(sub).all(axis=2)
    if mask is not None:
        valid &= np.asarray(mask)[::stride, ::stride]
    rows, cols = np.nonzero(valid)
    pixels = np.column_stack([cols * stride, rows * stride]).astype(np.int32)
    return sub[valid].astype(np.float32), pixels


def _check_pixels(pixels: np.ndarray, shape: tuple[int, ...], what: str) -> np.ndarray:
    pixels = np.asarray(pixels)
    if pixels.ndim != 2 or pixels.shape[1] != 2 or not np.issubdtype(pixels.dtype, np.integer):
        raise ValueError(f"pixels must be an (N, 2) integer array of (x, y), not {pixels.dtype} {pixels.shape}")
    h, w = shape[:2]
    if len(pixels) and (pixels.min() < 0 or pixels[:, 0].max() >= w or pixels[:, 1].max() >= h):
        raise ValueError(f"pixels fall outside the {w}x{h} {what}; was it made for another image size?")
    return pixels


def colors_from_image(image_rgb: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """(N, 3) float32 RGB in [0, 1] of ``image_rgb`` at ``pixels`` (x, y).

    Takes (H, W, 3) RGB, (H, W, 4) RGBA (alpha ignored) or (H, W) grey; uint8, uint16 or float in [0, 1].
    """
    image = np.asarray(image_rgb)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"image must be (H, W), (H, W, 3) or (H, W, 4), not {image.shape}")
    pixels = _check_pixels(pixels, image.shape, "image")
    values = image[pixels[:, 1], pixels[:, 0]]
    if values.ndim == 1:
        values = np.repeat(values[:, None], 3, axis=1)
    values = values[:, :3]
    if np.issubdtype(values.dtype, np.integer):
        return (values.astype(np.float32) / np.float32(np.iinfo(values.dtype).max)).astype(np.float32)
    return np.clip(values, 0.0, 1.0).astype(np.float32)


def colors_from_parts(part_map: np.ndarray, pixels: np.ndarray, class_colors: np.ndarray) -> np.ndarray:
    """(N, 3) float32 RGB in [0, 1]: the colour of each pixel's body-part class.

    ``class_colors`` is (C, 3), uint8 (as ``ClassSchema.colors``) or float in [0, 1]; class ids without a
    colour (e.g. 255 = ignore) get a neutral grey.
    """
    part_map = np.asarray(part_map)
    if part_map.ndim != 2 or not np.issubdtype(part_map.dtype, np.integer):
        raise ValueError(f"part_map must be a 2-D integer array of class ids, not {part_map.dtype} {part_map.shape}")
    colors = np.asarray(class_colors)
    if colors.ndim != 2 or colors.shape[1] != 3:
        raise ValueError(f"class_colors must be (C, 3), not {colors.shape}")
    colors = (
        colors.astype(np.float32) / np.float32(255.0)
        if np.issubdtype(colors.dtype, np.integer)
        else colors.astype(np.float32)
    )
    pixels = _check_pixels(pixels, part_map.shape, "part map")
    ids = part_map[pixels[:, 1], pixels[:, 0]].astype(np.int64)
    lut = np.empty((max(int(ids.max(initial=0)) + 1, len(colors)), 3), np.float32)
    lut[:] = UNKNOWN_CLASS_RGB
    lut[: len(colors)] = colors
    return lut[ids]


# ---------------------------------------------------------------------------------------------- Open3D


def _open3d():
    """Open3D, imported on first use: it takes over a second to import and most runs never need it."""
    try:
        import open3d
    except (ImportError, OSError) as exc:  # OSError: a missing shared library such as libusb
        raise ImportError(
            f"Open3D is not available ({exc}); install open3d (open3d-cpu on Linux x86_64), "
            "which on Linux also needs the libusb-1.0-0 system package"
        ) from exc
    return open3d


def build_point_cloud(points: np.ndarray, colors: np.ndarray | None = None):
    """An ``open3d.geometry.PointCloud`` of (N, 3) points and optional (N, 3) RGB colours in [0, 1]."""
    o3d = _open3d()
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"points must be (N, 3), not {points.shape}")
    cloud = o3d.geometry.PointCloud()
    cloud.points = o3d.utility.Vector3dVector(points.astype(np.float64))
    if colors is not None:
        colors = np.asarray(colors)
        if colors.shape != points.shape:
            raise ValueError(f"colors must be {points.shape} like the points, not {colors.shape}")
        cloud.colors = o3d.utility.Vector3dVector(np.clip(colors, 0.0, 1.0).astype(np.float64))
    return cloud


def write_ply(path: str | os.PathLike, cloud, *, ascii: bool = False) -> Path:
    """Write ``cloud`` as a ``.ply`` (binary unless ``ascii``) atomically: all of it or nothing.

    Open3D stores colours as 8-bit, so they read back rounded to multiples of 1/255.
    """
    from ..io.atomic import atomic_path

    o3d = _open3d()
    path = Path(path)
    if path.suffix.lower() != ".ply":
        raise ValueError(f"{path.name}: a point cloud file must end in .ply")
    with atomic_path(path) as tmp:  # keeps the .ply suffix, from which Open3D picks the format
        if not o3d.io.write_point_cloud(str(tmp), cloud, write_ascii=ascii):
            raise OSError(f"Open3D could not write {path}")
    return path


def read_ply(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """``(points (N, 3) float32, colors (N, 3) float32 in [0, 1] or None)`` of a ``.ply`` file."""
    o3d = _open3d()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such point cloud file: {path}")
    cloud = o3d.io.read_point_cloud(str(path), format="ply")
    points = np.asarray(cloud.points, dtype=np.float32)
    if len(points) == 0 and path.stat().st_size > 0:
        with open(path, "rb") as f:
            if f.read(3) != b"ply":
                raise ValueError(f"{path.name} is not a PLY file")
    colors = np.asarray(cloud.colors, dtype=np.float32) if cloud.has_colors() else None
    return points, colors
