"""The one interface the pipeline runs pose through, and its Sapiens implementation over any backend.

Pose is top-down: a pose model gets whole frames and each frame's person boxes (None: the model decides what the
whole image means) and returns the persons it found, plus a person mask if it makes one. The Sapiens heatmap
models (:class:`SapiensPose`, over any :class:`~.backends.Backend`) and the quick model
(:class:`~.quick.pose.QuickPose`) both implement :class:`PoseModel`, so the pipeline never asks which one it has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from . import tasks as T
from .annotation import Person
from .backends import Backend
from .backends.base import join_batches
from .boxes import whole_image_box
from .cards import ModelCard, TrainedCard
from .errors import BackendError
from .schema import keypoint_schema, keypoint_schema_for_count
from .tasks.sapiens2 import crop_person_v2

__all__ = ["PoseModel", "PoseResult", "SapiensPose", "infer_in_chunks"]


@dataclass
class PoseResult:
    """What a pose model found in one frame."""

    persons: list[Person]
    keypoint_schema: str | None  # None only when no person was found and the model's schema is still unknown
    foreground: np.ndarray | None = None  # (H, W) bool person mask, for models that make one


class PoseModel(Protocol):
    def estimate(
        self, images: list[np.ndarray], boxes: list[np.ndarray | None], kpt_threshold: float
    ) -> list[PoseResult]:
        """One result per (H, W, 3) uint8 RGB image; ``boxes[i]`` (N, 5) xyxy + score, or None for the whole image."""
        ...

    def provenance(self) -> dict:
        """Fields the document's ``models["pose"]`` record adds to the runtime's file/format/device/provider."""
        ...

    def close(self) -> None: ...


def infer_in_chunks(
    backend: Backend, batch: np.ndarray, batch_size: int, task: str, keep_tensor: bool = False
) -> np.ndarray | torch.Tensor:
    """``backend.infer`` on ``batch_size`` images at a time; a result of the wrong rank or batch is a model error.
    ``keep_tensor``: a torch runtime's output stays on its device (see ``Backend.infer``)."""
    outs = [backend.infer(batch[i : i + batch_size], keep_tensor=keep_tensor) for i in range(0, len(batch), batch_size)]
    out = join_batches(outs) if outs else np.zeros((0,), np.float32)
    if out.ndim != 4 or out.shape[0] != len(batch):
        raise BackendError(
            f"{backend.path.name}: returned shape {tuple(out.shape)} for a batch of {len(batch)}; "
            f"is it really a {task} model?"
        )
    return out


class SapiensPose:
    """A Sapiens heatmap model: one UDP crop per box, batched across frames, decoded back into image pixels.

    Both families crop with the same UDP matrix and decode the same heatmaps; they differ in the crop's
    interpolation: v1 trained on bilinear crops, Sapiens2 on INTER_AREA below scale 1 and INTER_CUBIC above
    (Sapiens2 spec §4.2). The backend's ``family`` (told by the file's keys) picks one.
    """

    def __init__(
        self,
        backend: Backend,
        card: ModelCard | TrainedCard | None = None,
        batch_size: int = 1,
        flip_test: bool = False,
    ) -> None:
        self.backend = backend
        self.card = card
        self.batch_size = batch_size
        self.flip_test = flip_test
        self.family = getattr(backend, "family", "sapiens")
        self._crop = crop_person_v2 if self.family == "sapiens2" else T.crop_person

    def provenance(self) -> dict:
        return {"crop_interpolation": "area/cubic"} if self.family == "sapiens2" else {}

    def close(self) -> None:
        self.backend.close()

    def keypoint_schema_name(self, channels: int) -> str:
        """The card says, else the output channel count does."""
        name = self.card.keypoint_schema_name if self.card else None
        try:
            return name or keypoint_schema_for_count(channels).name
        except KeyError:  # a model of another task, or an unknown keypoint set: a model error, not a bug
            raise BackendError(
                f"{self.backend.path.name}: {channels} output channels match no known keypoint set; "
                f"is it really a pose model?"
            ) from None

    def _heatmaps(self, batch: np.ndarray) -> np.ndarray:
        out = infer_in_chunks(self.backend, batch, self.batch_size, "pose")
        schema = keypoint_schema(self.keypoint_schema_name(out.shape[1]))
        if len(schema) != out.shape[1]:
            raise BackendError(
                f"{self.backend.path.name}: gives {out.shape[1]} heatmaps, its keypoint set {schema.name} "
                f"has {len(schema)} points"
            )
        return out

    def estimate(
        self, images: list[np.ndarray], boxes: list[np.ndarray | None], kpt_threshold: float
    ) -> list[PoseResult]:
        results = [PoseResult([], None) for _ in images]
        owners, person_boxes, centers, scales, crops = [], [], [], [], []
        for i, (image, frame_boxes) in enumerate(zip(images, boxes)):
            h, w = image.shape[:2]
            frame_boxes = whole_image_box(w, h) if frame_boxes is None else np.asarray(frame_boxes, np.float32)
            for box in frame_boxes.reshape(-1, 5):
                center, scale = T.box_to_center_scale(box[:4])
                owners.append(i)
                person_boxes.append(box)
                centers.append(center)
                scales.append(scale)
                crops.append(self._crop(image, center, scale))
        if not crops:
            return results
        batch = T.normalize(crops)
        del crops
        heatmaps = self._heatmaps(batch)
        schema = keypoint_schema(self.keypoint_schema_name(heatmaps.shape[1]))
        if self.flip_test:
            flipped = self._heatmaps(T.flip_images(batch))
            heatmaps = T.merge_flip_test(heatmaps, flipped, schema.flip_index)
        keypoints, scores = T.decode_pose(heatmaps, np.stack(centers), np.stack(scales))
        for n, i in enumerate(owners):
            result = results[i]
            result.keypoint_schema = schema.name
            box = person_boxes[n]
            result.persons.append(
                Person.from_prediction(
                    len(result.persons),
                    keypoints[n],
                    scores[n],
                    box=box[:4],
                    threshold=kpt_threshold,
                    score=float(box[4]),
                )
            )
        return results
