"""The zoomable, pannable image canvas and its layers."""

from .scene import CanvasScene, LayerStyle
from .view import CanvasView

__all__ = ["CanvasScene", "CanvasView", "LayerStyle"]
