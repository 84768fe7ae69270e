"""Track IDs drawn over an overlay: each tracked person's box and ``#ID`` in a colour of its own.

The colour follows the ID alone (hues a golden-ratio step apart), so a person keeps it in every frame and in every
video, and neighbouring IDs still differ clearly. Keypoints keep their schema colours (they say which body part a
point is); the box says who it is.
"""

from __future__ import annotations

import colorsys

import cv2
import numpy as np

from ..annotation import Annotation
from .overlay import default_radius_thickness

__all__ = ["track_color", "draw_track_ids"]

_GOLDEN = 0.618033988749895


def track_color(track_id: int) -> tuple[int, int, int]:
    """RGB of a track: full value, strong saturation, hue stepped by the golden ratio per ID."""
    r, g, b = colorsys.hsv_to_rgb((track_id * _GOLDEN) % 1.0, 0.85, 1.0)
    return round(r * 255), round(g * 255), round(b * 255)


def draw_track_ids(canvas: np.ndarray, annotation: Annotation) -> np.ndarray:
    """Draw onto ``canvas`` (RGB, the annotated image's size) and return it; persons without a track are skipped."""
    h, w = canvas.shape[:2]
    _, thickness = default_radius_thickness(w, h)
    font_scale = max(0.4, thickness / 3)
    for person in annotation.persons:
        if person.track_id is None:
            continue
        box = person.box if person.box is not None and np.isfinite(person.box).all() else person.labeled_box()
        if box is None:
            continue
        x1, y1, x2, y2 = (int(round(float(v))) for v in np.clip(box, -(1 << 15), 1 << 15))
        color = track_color(person.track_id)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), color, thickness, cv2.LINE_AA)
        label = f"#{person.track_id}"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        top = max(0, y1 - th - base - 2)
        cv2.rectangle(canvas, (x1, top), (x1 + tw + 4, top + th + base + 2), color, -1)
        cv2.putText(canvas, label, (x1 + 2, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), thickness)
    return canvas
