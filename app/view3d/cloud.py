"""The point cloud the 3D view shows, as plain arrays: building it from a depth map, its display frame, its
colours, and picking a point on screen. Qt-free and GL-free, so it runs on a worker thread and in tests.

Picking is done here, not with GL selection: every point is projected with the view's own projection and
view matrices, the ones within a few pixels of the click are kept, and of those the front surface (a click
should not select a point hidden behind the body), nearest to the cursor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sapiens_core.geometry import colors_from_image, colors_from_parts, depth_to_points, pointmap_to_points
from sapiens_core.schema import class_schema

MAX_POINTS = 300_000  # "auto" stride target: ~12 fps at 786k points on software GL, so well above 25 here
PICK_RADIUS_PX = 6.0  # how far from a point a click may land and still select it
FRONT_TOLERANCE = 0.02  # of the cloud's size: candidates this much behind the nearest still count as front
PLAIN_RGB = (0.8, 0.8, 0.8)  # colour when the chosen source is missing


@dataclass
class Cloud:
    generation: int  # which build request made it: an older one is dropped when a newer was asked for
    points: np.ndarray  # (N, 3) camera frame: x right, y down, z forward
    pixels: np.ndarray  # (N, 2) source pixel (x, y)
    stride: int
    metric: bool = False  # points in meters (a pointmap), not the relative depth's pixel units


def build_cloud(
    generation: int, depth: np.ndarray, mask: np.ndarray | None, focal: float, relief: float, stride: int
) -> Cloud:
    """Back-project ``depth`` (where ``mask``, if given); ``stride`` 0 picks one that keeps ``MAX_POINTS``.
    Raises ValueError for a mask of another size."""
    if stride == 0:
        count = int(np.count_nonzero(np.isfinite(depth) if mask is None else np.isfinite(depth) & mask))
        stride = max(1, math.ceil(math.sqrt(count / MAX_POINTS)))
    points, pixels = depth_to_points(depth, focal=focal, mask=mask, stride=stride, relief=relief)
    return Cloud(generation, points, pixels, stride)


def build_metric_cloud(generation: int, pointmap: np.ndarray, mask: np.ndarray | None, stride: int) -> Cloud:
    """The pointmap's own metric points (meters): no focal length or relief applies. ``stride`` 0 as above."""
    if stride == 0:
        valid = np.isfinite(pointmap).all(axis=2)
        count = int(np.count_nonzero(valid if mask is None else valid & mask))
        stride = max(1, math.ceil(math.sqrt(count / MAX_POINTS)))
    points, pixels = pointmap_to_points(pointmap, mask=mask, stride=stride)
    return Cloud(generation, points, pixels, stride, metric=True)


def display_positions(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Camera-frame points -> pyqtgraph's display frame (z up: x right, depth away from the viewer along +y,
    image up = +z), centred so the view orbits around the middle of the cloud; and the cloud's size."""
    if not len(points):
        return np.zeros((0, 3), np.float32), 1.0
    positions = np.column_stack([points[:, 0], points[:, 2], -points[:, 1]])
    lo, hi = positions.min(axis=0), positions.max(axis=0)
    positions -= (lo + hi) / 2
    return positions.astype(np.float32), float(max(np.max(hi - lo), 1e-6))


def cloud_colors(cloud: Cloud | None, source: str, image: np.ndarray | None, doc) -> np.ndarray:
    """(N, 3) colours in 0..1 from ``source``: "image" (the photo) or "parts" (the body-part classes); plain
    grey when that source is missing. Raises ValueError/KeyError for an image of another size or an unknown
    class set."""
    colors = None
    if cloud is not None and source == "parts" and doc is not None and doc.part_map is not None and doc.class_schema:
        colors = colors_from_parts(doc.part_map, cloud.pixels, class_schema(doc.class_schema).colors)
    elif cloud is not None and source == "image" and image is not None:
        colors = colors_from_image(image, cloud.pixels)
    return colors if colors is not None else plain_colors(0 if cloud is None else len(cloud.pixels))


def plain_colors(count: int) -> np.ndarray:
    return np.tile(np.float32(PLAIN_RGB), (count, 1))


def rgba(colors: np.ndarray | None, count: int) -> np.ndarray:
    """(count, 4) opaque colours; white when ``colors`` do not fit."""
    out = np.ones((count, 4), np.float32)
    if colors is not None and len(colors) == count:
        out[:, :3] = colors
    return out


def project_points(positions: np.ndarray, mvp: np.ndarray, width: float, height: float):
    """World (N, 3) -> widget pixels (N, 2) (origin top left), eye distance (N,), and in-front-of-camera mask."""
    homogeneous = np.column_stack([positions.astype(np.float64), np.ones(len(positions))])
    clip = homogeneous @ mvp.T
    w = clip[:, 3]
    in_front = w > 1e-9
    safe_w = np.where(in_front, w, 1.0)
    xy = np.column_stack([(clip[:, 0] / safe_w + 1) * 0.5 * width, (1 - clip[:, 1] / safe_w) * 0.5 * height])
    return xy, w, in_front


def pick_index(
    xy: np.ndarray, depth: np.ndarray, in_front: np.ndarray, x: float, y: float, radius: float, extent: float
) -> int | None:
    """The point under (x, y), given every point's screen position and eye distance (``project_points``):
    within ``radius`` pixels, on the front surface (see ``FRONT_TOLERANCE``), nearest the cursor."""
    distance = np.hypot(xy[:, 0] - x, xy[:, 1] - y)
    near = np.flatnonzero(in_front & (distance <= radius))
    if not len(near):
        return None
    front = near[depth[near] <= depth[near].min() + FRONT_TOLERANCE * extent]
    return int(front[np.argmin(distance[front])])
