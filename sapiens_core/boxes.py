"""Person boxes supplied from a file (``predict --boxes FILE``), until a detector runs in-process.

Two layouts are accepted, both JSON:
- a mapping from image file name (or stem, or path) to a list of boxes ``[x1, y1, x2, y2]`` or
  ``[x1, y1, x2, y2, score]``;
- COCO style: ``{"images": [{id, file_name}], "annotations": [{image_id, bbox: [x, y, w, h], score?}]}``
  (also the detection-results list form ``[{"image_id", "bbox", "score"}]`` together with ``images``).
An image the file does not mention is treated as one box covering the whole image, as the official
demo does; an image listed with no boxes has no persons.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .errors import SapiensError

# Larger than any side an image under the pixel limit can have in practice, far below float32 overflow.
MAX_COORDINATE = 1e6


class BoxesFileError(SapiensError):
    """The boxes file is unreadable or not in a layout we understand."""


def _as_boxes(raw, source: str) -> np.ndarray:
    layout = BoxesFileError(f"{source}: boxes must be lists of [x1, y1, x2, y2] or [x1, y1, x2, y2, score]")
    if not isinstance(raw, (list, tuple)):
        raise layout
    # Box by box: one image's list may mix boxes with and without a score (a score-less box scores 1).
    rows = []
    for box in raw:
        if not isinstance(box, (list, tuple)) or len(box) not in (4, 5):
            raise layout
        rows.append([*box, 1.0][:5])
    try:
        arr = np.asarray(rows, dtype=np.float64).reshape(-1, 5)
    except (TypeError, ValueError):  # strings, nulls or nested lists in place of numbers
        raise layout from None
    if not np.all(np.isfinite(arr)):
        raise layout
    far = np.abs(arr[:, :4]).max(initial=0.0)
    if far > MAX_COORDINATE:
        # Overflows later (crop scale, keypoints, COCO areas in float32) and is never a real box.
        raise BoxesFileError(
            f"{source}: a box coordinate of {far:g} is not a pixel position (at most {MAX_COORDINATE:g})"
        )
    if np.any(arr[:, 2] <= arr[:, 0]) or np.any(arr[:, 3] <= arr[:, 1]):
        raise BoxesFileError(f"{source}: a box has x2 <= x1 or y2 <= y1 (boxes are corners, not x, y, w, h)")
    return arr.astype(np.float32)  # checked in float64 first: a huge value must not overflow on the way


class BoxTable:
    """Boxes per image, looked up by path, file name or stem."""

    def __init__(self, boxes: dict[str, np.ndarray]):
        self._boxes = boxes

    def __len__(self) -> int:
        return len(self._boxes)

    def lookup(self, image_path: str | Path) -> np.ndarray | None:
        """(N, 5) float32 xyxy + score, or None when the image is not mentioned."""
        p = Path(image_path)
        for key in (str(image_path), p.as_posix(), p.name, p.stem):
            if key in self._boxes:
                return self._boxes[key]
        return None

    @classmethod
    def load(cls, path: str | Path) -> BoxTable:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BoxesFileError(f"{path}: cannot read boxes file ({exc})") from exc
        if isinstance(data, dict) and "images" in data:
            return cls(_from_coco(data["images"], data.get("annotations", []), str(path)))
        if isinstance(data, dict):
            return cls({str(k): _as_boxes(v, f"{path} [{k}]") for k, v in data.items()})
        raise BoxesFileError(f"{path}: expected a JSON object (file name -> boxes) or COCO images/annotations")


def _from_coco(images, annotations, source: str) -> dict[str, np.ndarray]:
    try:
        names = {img["id"]: str(img["file_name"]) for img in images}
        rows: dict[str, list] = {name: [] for name in names.values()}
        for ann in annotations:
            x, y, w, h = (float(v) for v in ann["bbox"])
            rows[names[ann["image_id"]]].append([x, y, x + w, y + h, float(ann.get("score", 1.0))])
    except (KeyError, TypeError, ValueError) as exc:
        raise BoxesFileError(f"{source}: malformed COCO images/annotations ({exc!r})") from exc
    return {name: _as_boxes(r, f"{source} [{name}]") for name, r in rows.items()}


def whole_image_box(width: int, height: int) -> np.ndarray:
    return np.array([[0, 0, width, height, 1.0]], dtype=np.float32)
