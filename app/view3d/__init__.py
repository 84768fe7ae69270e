"""The 3D tab: the depth map as a point cloud (pick a point to ring its pixel, export .ply, open in Open3D).

``widget`` is the tab; ``cloud`` builds and picks the cloud as plain arrays (Qt-free); ``display`` and
``gl_points`` draw it, or say why GL cannot; ``controls`` are its options; ``open3d_launcher`` runs Open3D's own
viewer as a child process.
"""

from .widget import View3DWidget

__all__ = ["View3DWidget"]
