"""The capture panel: a camera or a video file annotated live by the chosen models, and snapshots of its frames.

``panel`` is the dock widget; ``worker`` reads and runs the models off the GUI thread; ``playback`` decides which
results go on screen; ``source_picker``, ``models`` and ``snapshot`` are its parts. Opening sources, reading frames
and the newest-frame hand-off are Qt-free and live in ``sapiens_core.video`` (headless video uses them too).
"""

from .panel import CapturePanel

__all__ = ["CapturePanel"]
