"""The capture panel: a camera or a video file annotated live by the chosen models, and snapshots of its frames.

``panel`` is the dock widget; ``worker`` reads and runs the models off the GUI thread; ``playback`` decides which
results go on screen; ``sources``, ``source_picker``, ``models`` and ``snapshot`` are its parts.
"""

from .panel import CapturePanel

__all__ = ["CapturePanel"]
