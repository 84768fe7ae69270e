"""Mouse and keyboard tools on the canvas: they read the document, send edits to the DocumentModel and keep
only transient state (the selection, a drag in progress)."""

from .keypoint_tool import KeypointTool
from .overlay import EditOverlay
from .selection import Selection

__all__ = ["KeypointTool", "EditOverlay", "Selection"]
