"""A metric pointmap as an ASCII PLY point cloud: one vertex per person pixel, coloured from the photo.

Plain ASCII PLY written here rather than through Open3D: Open3D is a large binary dependency for what is a
twelve-line header and one line per point; ASCII PLY opens in MeshLab, CloudCompare, Blender and Open3D alike; and
fixed-precision text gives the same bytes for the same points on every platform, so exports can be compared.
Coordinates are meters in the camera frame (x right, y down, z forward, as the pointmap is), 6 decimals (a
micrometre, far below the model's accuracy). The camera sits at the origin. The PLY is a view of the ``.npy``,
which stays the exact data; importers read the ``.npy``.
"""

from __future__ import annotations

import io
import os

import numpy as np

from ..io.atomic import atomic_write_bytes

__all__ = ["pointmap_ply", "write_pointmap_ply"]


def pointmap_ply(pointmap: np.ndarray, rgb: np.ndarray | None = None, foreground: np.ndarray | None = None) -> bytes:
    """(H, W, 3) float32 XYZ (NaN = no point), optional (H, W, 3) uint8 RGB and (H, W) bool mask -> PLY bytes.

    Points are the finite pixels (inside ``foreground`` when given) in row-major order."""
    keep = np.isfinite(pointmap).all(axis=-1)
    if foreground is not None:
        keep &= foreground
    xyz = pointmap[keep].astype(np.float64)
    header = ["ply", "format ascii 1.0", f"element vertex {len(xyz)}"]
    header += [f"property float {axis}" for axis in "xyz"]
    columns, fmt = [xyz], ["%.6f"] * 3
    if rgb is not None:
        header += [f"property uchar {channel}" for channel in ("red", "green", "blue")]
        columns.append(rgb[keep].astype(np.float64))
        fmt += ["%d"] * 3
    header.append("end_header")
    body = io.BytesIO()
    if len(xyz):
        np.savetxt(body, np.concatenate(columns, axis=1), fmt=" ".join(fmt), newline="\n")
    # "-0.000000" and "0.000000" name one coordinate; one spelling keeps the bytes a function of the points.
    text = body.getvalue().replace(b"-0.000000", b"0.000000")
    return ("\n".join(header) + "\n").encode("ascii") + text


def write_pointmap_ply(
    path: str | os.PathLike, pointmap: np.ndarray, rgb: np.ndarray | None = None, foreground: np.ndarray | None = None
) -> None:
    atomic_write_bytes(path, pointmap_ply(pointmap, rgb, foreground))
