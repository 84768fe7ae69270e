"""3D from the per-pixel layers: depth maps back-projected to point clouds, metric pointmaps as clouds, metric
distances (``measure``), ``.ply`` files, a native viewer.

Numpy only at import time; Open3D (heavy, over a second to import) is loaded inside the functions that
write, read or show clouds. ``python -m sapiens_core.geometry.viewer FILE.ply`` opens Open3D's window.
"""

from .pointcloud import (
    DEFAULT_RELIEF,
    build_point_cloud,
    colors_from_image,
    colors_from_parts,
    default_focal,
    depth_to_points,
    pointmap_to_points,
    read_ply,
    write_ply,
)

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
