"""The quick backend as a pose model (:class:`~sapiens_core.pose_models.PoseModel`), the pipeline's pose source for
``Pipeline.from_paths({"pose": QUICK_MODEL_ID, ...})``.

MediaPipe Holistic finds one (the most prominent) person per image it is shown, so it runs once per box:

* without boxes the whole image is shown once: at most one person, whose box is the tight box around its
  person mask and labeled points (a whole-image box would tell a COCO consumer nothing);
* with boxes, each padded box region is shown on its own, one person per box that holds one; the box stays
  the given one, as for the Sapiens pose models.

Keypoints become a :class:`Person` through ``Person.from_prediction``: points the mapping leaves unlabeled have
score 0 and so visibility 0, never an invented position. The person mask is the document's foreground
(a person layer, not part classes); the pipeline decides whether a seg model's mask wins over it.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..annotation import Person
from ..pose_models import PoseResult
from ..tasks.crop import BOX_PADDING
from .holistic import QuickModel, QuickResult

__all__ = ["QUICK_MODEL_ID", "QUICK_FORMAT", "QuickPose", "QuickFrameResult", "is_quick_model_id"]

# The str (never a Path: a checkpoint file may be called anything) that stands for the quick model in
# ``Pipeline.from_paths``; it is also the "file" of the provenance record.
QUICK_MODEL_ID = "quick"
QUICK_FORMAT = "mediapipe-holistic"


def is_quick_model_id(value: object) -> bool:
    return isinstance(value, str) and value == QUICK_MODEL_ID


@dataclass
class QuickFrameResult:
    persons: list[Person]
    foreground: np.ndarray | None  # (H, W) bool, union of the person masks; None when MediaPipe gave none


class QuickPose:
    """A PoseModel, and its own runtime: it describes itself as backends do (path, format, device, provider)."""

    format = QUICK_FORMAT
    device = "cpu"  # MediaPipe's legacy solutions run on the CPU whatever device the others use
    task = "pose"

    def __init__(self, model: QuickModel | None = None, box_padding: float = BOX_PADDING) -> None:
        self.model = model if model is not None else QuickModel()  # BackendError with the install hint
        self.path = Path(QUICK_MODEL_ID)
        self.provider = QuickModel.provider
        self.keypoint_schema_name = self.model.schema.name
        self.output_channels = len(self.model.schema)
        self.box_padding = box_padding
        # Read once: the pipeline asks for it for every frame, and the version lookup reads package metadata.
        self._provenance = {
            "model": "quick",
            "mediapipe": _mediapipe_version(),
            "keypoint_schema": self.keypoint_schema_name,
        }

    def provenance(self) -> dict:
        """Extra fields for the document's ``models["pose"]`` record: what produced the points."""
        return dict(self._provenance)

    def close(self) -> None:
        self.model.close()

    def estimate(
        self, images: list[np.ndarray], boxes: list[np.ndarray | None], kpt_threshold: float
    ) -> list[PoseResult]:
        """PoseModel: each image on its own (MediaPipe takes one image at a time), once per box."""
        results = []
        for image, frame_boxes in zip(images, boxes):
            found = self.run(image, frame_boxes, kpt_threshold)
            results.append(PoseResult(found.persons, self.keypoint_schema_name, found.foreground))
        return results

    def run(self, image: np.ndarray, boxes: np.ndarray | None, kpt_threshold: float) -> QuickFrameResult:
        """Persons (ids 0..) and the person mask for one (H, W, 3) uint8 RGB image."""
        h, w = image.shape[:2]
        if boxes is None:
            result = self.model.predict(image)
            if result is None:
                return QuickFrameResult([], np.zeros((h, w), bool))
            box = _tight_box(result, w, h)
            person = Person.from_prediction(0, *_clean(result), box=box, threshold=kpt_threshold, score=1.0)
            return QuickFrameResult([person], result.person_mask)
        persons: list[Person] = []
        foreground = np.zeros((h, w), bool)
        have_mask = False
        for box in np.asarray(boxes, np.float32).reshape(-1, 5):
            x0, y0, x1, y1 = _padded_region(box[:4], w, h, self.box_padding)
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue  # a box outside the image or a sliver: nothing MediaPipe could find
            result = self.model.predict(np.ascontiguousarray(image[y0:y1, x0:x1]))
            if result is None:
                continue
            xy, scores = _clean(result)
            xy[result.labeled] += np.array([x0, y0], np.float32)  # unlabeled points stay at 0, 0 with score 0
            persons.append(
                Person.from_prediction(
                    len(persons), xy, scores, box=box[:4], threshold=kpt_threshold, score=float(box[4])
                )
            )
            if result.person_mask is not None:
                have_mask = True
                foreground[y0:y1, x0:x1] |= result.person_mask
        return QuickFrameResult(persons, foreground if have_mask or not persons else None)


def _mediapipe_version() -> str | None:
    try:
        return importlib.metadata.version("mediapipe")
    except importlib.metadata.PackageNotFoundError:
        return None


def _clean(result: QuickResult) -> tuple[np.ndarray, np.ndarray]:
    """Copies with unlabeled points forced to score 0, so no threshold can ever make them visible."""
    xy = np.array(result.keypoints, dtype=np.float32, copy=True)
    scores = np.where(result.labeled, result.scores, np.float32(0)).astype(np.float32)
    return xy, scores


def _tight_box(result: QuickResult, width: int, height: int) -> np.ndarray:
    """x1, y1, x2, y2 around the person mask and the labeled points, inside the image."""
    lo = np.array([np.inf, np.inf])
    hi = -lo
    if result.person_mask is not None and result.person_mask.any():
        rows = np.flatnonzero(result.person_mask.any(axis=1))
        cols = np.flatnonzero(result.person_mask.any(axis=0))
        lo = np.minimum(lo, [cols[0], rows[0]])
        hi = np.maximum(hi, [cols[-1] + 1, rows[-1] + 1])  # pixel edges: the last pixel is inside the box
    xy = result.keypoints[result.labeled]
    if len(xy):
        lo = np.minimum(lo, xy.min(axis=0))
        hi = np.maximum(hi, xy.max(axis=0))
    if not np.all(np.isfinite(lo)):
        return np.array([0, 0, width, height], np.float32)
    return np.clip(np.concatenate([lo, hi]), 0, [width, height, width, height]).astype(np.float32)


def _padded_region(box: np.ndarray, width: int, height: int, padding: float) -> tuple[int, int, int, int]:
    """Integer pixel region of ``box`` grown by ``padding`` about its centre (room for the limbs), clipped."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    hw, hh = (box[2] - box[0]) * padding / 2, (box[3] - box[1]) * padding / 2
    x0, y0 = max(0, int(np.floor(cx - hw))), max(0, int(np.floor(cy - hh)))
    x1, y1 = min(width, int(np.ceil(cx + hw))), min(height, int(np.ceil(cy + hh)))
    return x0, y0, x1, y1
