"""Quick CPU backend: MediaPipe Holistic landmarks mapped into the Goliath-308 layout, plus a person mask.

Importing this package never imports mediapipe; :func:`quick_available` says whether it can run, and
:class:`QuickModel` raises :class:`sapiens_core.errors.BackendError` with :func:`install_hint` when not.
"""

from .holistic import MEDIAPIPE_VERSION, QuickModel, QuickResult, install_hint, quick_available
from .mapping import LandmarkMapping, load_mapping, resample_polyline

__all__ = [
    "QuickModel",
    "QuickResult",
    "quick_available",
    "install_hint",
    "MEDIAPIPE_VERSION",
    "LandmarkMapping",
    "load_mapping",
    "resample_polyline",
]
