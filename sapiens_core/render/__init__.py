"""Rendering annotations onto images (numpy + OpenCV, no Qt): previews, exports, the CLI."""

from .overlay import default_radius_thickness, render_overlay

__all__ = ["render_overlay", "default_radius_thickness"]
