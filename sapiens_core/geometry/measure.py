"""Metric distances in an annotated image: between two pixels, or two keypoints (shoulder width, head to heel).

A document is metric where it has a Sapiens2 pointmap (XYZ in meters per pixel: no intrinsics needed), or a depth
map recorded as metric (``models["depth"]["metric"]``, e.g. a v1 depth aligned to a pointmap or to a known height)
together with a focal length in pixels. The depth is then back-projected with the principal point at the image
centre and pixel centres at integer coordinates, ``X = (x - (W - 1) / 2) * Z / f``: the pointmap's own convention,
so both sources give the same point for the same pixel.

Points on a silhouette's edge (a heel, the top of the head) often land a pixel or two off the person mask, where
the maps hold NaN: the nearest finite pixel within ``SNAP_PX`` stands in, and a pick with none is refused with a
one-line reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["MetricGeometry", "metric_geometry", "keypoint_distance", "SNAP_PX", "NAMED_DISTANCES"]

SNAP_PX = 3
# Distances people ask for, as keypoint pairs of the Goliath-308 schema.
NAMED_DISTANCES = {
    "shoulder width": ("left_shoulder", "right_shoulder"),
    "hip width": ("left_hip", "right_hip"),
    "left upper arm": ("left_shoulder", "left_elbow"),
    "right upper arm": ("right_shoulder", "right_elbow"),
    "left lower leg": ("left_knee", "left_ankle"),
    "right lower leg": ("right_knee", "right_ankle"),
}


@dataclass(frozen=True)
class MetricGeometry:
    """Metric 3-D per pixel of one image, from a pointmap or from metric depth and a focal length."""

    source: str  # "pointmap" or "depth"
    pointmap: np.ndarray | None = None  # (H, W, 3)
    depth: np.ndarray | None = None  # (H, W)
    focal_px: float | None = None

    @property
    def shape(self) -> tuple[int, int]:
        array = self.pointmap if self.pointmap is not None else self.depth
        return int(array.shape[0]), int(array.shape[1])

    def _valid(self) -> np.ndarray:
        if self.pointmap is not None:
            return np.isfinite(self.pointmap).all(axis=2)
        return np.isfinite(self.depth) & (self.depth > 0)

    def _pixel_point(self, col: int, row: int) -> np.ndarray:
        if self.pointmap is not None:
            return self.pointmap[row, col].astype(np.float64)
        h, w = self.shape
        z = float(self.depth[row, col])
        return np.array([(col - (w - 1) / 2) * z / self.focal_px, (row - (h - 1) / 2) * z / self.focal_px, z])

    def point(self, x: float, y: float, snap_px: int = SNAP_PX) -> np.ndarray:
        """The 3-D point (meters, camera frame) seen at image position (x, y); ValueError when there is none."""
        h, w = self.shape
        col, row = math.floor(x), math.floor(y)
        if not (0 <= col < w and 0 <= row < h):
            raise ValueError(f"({x:.0f}, {y:.0f}) lies outside the {w}x{h} image")
        r0, r1 = max(0, row - snap_px), min(h, row + snap_px + 1)
        c0, c1 = max(0, col - snap_px), min(w, col + snap_px + 1)
        rows, cols = np.nonzero(self._valid()[r0:r1, c0:c1])
        if not len(rows):
            raise ValueError(f"no 3-D point at ({col}, {row}): it lies off the person (background)")
        nearest = np.argmin((rows + r0 - row) ** 2 + (cols + c0 - col) ** 2)
        return self._pixel_point(int(cols[nearest] + c0), int(rows[nearest] + r0))

    def distance(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        """Meters between what image positions ``a`` and ``b`` see."""
        return float(np.linalg.norm(self.point(*a) - self.point(*b)))


def metric_geometry(doc) -> MetricGeometry:
    """The document's metric 3-D; ValueError saying what is missing when it has none."""
    if doc.pointmap is not None:
        return MetricGeometry("pointmap", pointmap=np.asarray(doc.pointmap))
    depth_info = doc.models.get("depth", {})
    if doc.depth is None or not depth_info.get("metric"):
        raise ValueError("no metric 3-D for this image: run a Sapiens2 pointmap model, or make its depth metric")
    focal = depth_info.get("focal_length_px") or doc.models.get("pointmap", {}).get("focal_length_px")
    if not focal or not math.isfinite(float(focal)) or float(focal) <= 0:
        raise ValueError("the depth is metric but no focal length is recorded: distances need one")
    return MetricGeometry("depth", depth=np.asarray(doc.depth), focal_px=float(focal))


def keypoint_distance(doc, person_id: int, first: str, second: str) -> float:
    """Meters between two named keypoints of one person (e.g. ``NAMED_DISTANCES["shoulder width"]``)."""
    from ..schema import keypoint_schema

    if doc.keypoint_schema is None:
        raise ValueError("the document has no keypoints")
    names = keypoint_schema(doc.keypoint_schema).names
    person = next((p for p in doc.persons if p.id == person_id), None)
    if person is None:
        raise ValueError(f"no person {person_id}")
    ends = []
    for name in (first, second):
        if name not in names:
            raise ValueError(f"{doc.keypoint_schema} has no keypoint {name!r}")
        index = names.index(name)
        if person.visibility[index] == 0:
            raise ValueError(f"{name} of person {person_id} is not labelled")
        ends.append(tuple(float(v) for v in person.keypoints[index, :2]))
    return metric_geometry(doc).distance(ends[0], ends[1])
