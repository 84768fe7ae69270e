"""Run the chosen Sapiens tasks on frames and turn the raw outputs into annotation documents.

    frames -> seg/depth/normal on the whole resized image (shared preprocessing)
           -> pose top-down on one crop per person box
           -> Annotation per frame (persons, part map, foreground, depth, normals, provenance)

Everything here is numpy in, numpy out; the backends hide which runtime executes the model.

Public API (the app and the CLI use it; keep it backward compatible)::

    pipeline = Pipeline.from_paths({"pose": path, "seg": path, "depth": None, "normal": None},
                                   device="auto", batch_size=1, flip_test=False, kpt_threshold=0.3)
    docs = pipeline.run([Frame(rgb, "a.jpg", boxes=None), ...])   # one Annotation per frame
    pipeline.close()

The quick CPU backend (MediaPipe Holistic mapped onto Goliath-308, :mod:`.quick`) stands in for a pose
checkpoint when the pose entry is the string ``QUICK_MODEL_ID`` (``"quick"``; a ``Path`` is always a file):
``Pipeline.from_paths({"pose": QUICK_MODEL_ID, "depth": path})``. It runs before the dense models, so its
person mask becomes the document's foreground (and masks depth and normals) when no seg model ran; a seg
model's foreground wins otherwise. Its provenance is ``{"file": "quick", "format": "mediapipe-holistic", ...}``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import tasks as T
from .annotation import Annotation, Person
from .backends import Backend, open_backend
from .boxes import whole_image_box
from .cards import ModelCard, card_for_path
from .errors import BackendError
from .quick.pose import QUICK_MODEL_ID, QuickPose, is_quick_model_id
from .schema import class_schema, class_schema_names, keypoint_schema, keypoint_schema_for_count
from .task_specs import INPUT_SIZE, TASK_NAMES

log = logging.getLogger(__name__)
DENSE_TASKS = ("seg", "depth", "normal")  # seg first: its foreground masks depth and normals
# Output channels a task's model must give, where the task fixes them (pose and seg depend on the model's card).
_FIXED_CHANNELS = {"depth": 1, "normal": 3}
__all__ = ["Pipeline", "Frame", "TaskModel", "run_on_images", "QUICK_MODEL_ID", "DENSE_TASKS"]


@dataclass
class Frame:
    """One image to process. ``boxes``: (N, 5) xyxy+score person boxes, or None for the whole image."""

    image: np.ndarray  # (H, W, 3) uint8 RGB
    path: str = ""
    boxes: np.ndarray | None = None


@dataclass
class TaskModel:
    task: str
    backend: Backend | QuickPose
    card: ModelCard | None = None

    def provenance(self) -> dict:
        info = {
            "file": self.backend.path.name,
            "format": self.backend.format,
            "device": self.backend.device,
            "provider": self.backend.provider,
        }
        if isinstance(self.backend, QuickPose):
            info.update(self.backend.provenance())
        if self.card:
            info.update(self.card.describe())
        return info


def _class_schema_name_for(channels: int) -> str | None:
    return next((n for n in class_schema_names() if len(class_schema(n)) == channels), None)


@dataclass
class Pipeline:
    models: dict[str, TaskModel]
    batch_size: int = 1
    flip_test: bool = False
    kpt_threshold: float = 0.3
    _schema_cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_paths(cls, paths: Mapping[str, str | Path | None], device: str = "auto", **options) -> Pipeline:
        """Open one checkpoint per task (``{"pose": path, "seg": None, ...}``); a bad file raises a SapiensError.

        ``"pose": QUICK_MODEL_ID`` runs the quick backend (BackendError with the install hint without mediapipe).
        """
        models = {}
        try:
            for task, path in paths.items():
                if path is None:
                    continue
                if task not in TASK_NAMES:
                    raise ValueError(f"unknown task {task!r}")
                if is_quick_model_id(path):
                    if task != "pose":
                        raise ValueError(f"the quick model only gives pose (and a person mask), not {task}")
                    models[task] = TaskModel(task, QuickPose())
                    continue
                backend = open_backend(path, task=task, device=device)
                models[task] = TaskModel(task, backend, card_for_path(path))
        except BaseException:
            for m in models.values():
                m.backend.close()
            raise
        return cls(models, **options)

    def close(self) -> None:
        for m in self.models.values():
            m.backend.close()

    # ---- schemas follow the model, not a global: the card says, else the output channel count does
    def keypoint_schema_name(self, channels: int) -> str:
        card = self.models["pose"].card
        name = card.keypoint_schema_name if card else None
        try:
            return name or keypoint_schema_for_count(channels).name
        except KeyError:  # a model of another task, or an unknown keypoint set: a model error, not a bug
            raise BackendError(
                f"{self.models['pose'].backend.path.name}: {channels} output channels match no "
                f"known keypoint set; is it really a pose model?"
            ) from None

    def class_schema_name(self, channels: int) -> str | None:
        card = self.models["seg"].card
        return (card.class_schema_name if card else None) or _class_schema_name_for(channels)

    # ---- running
    def _infer(self, task: str, batch: np.ndarray) -> np.ndarray:
        """Run ``batch`` in chunks of ``batch_size``; check the output is what the task promises."""
        backend = self.models[task].backend
        outs = [backend.infer(batch[i : i + self.batch_size]) for i in range(0, len(batch), self.batch_size)]
        out = np.concatenate(outs, axis=0) if outs else np.zeros((0,), np.float32)
        if out.ndim != 4 or out.shape[0] != len(batch):
            raise BackendError(
                f"{backend.path.name}: returned shape {out.shape} for a batch of {len(batch)}; "
                f"is it really a {task} model?"
            )
        self._check_channels(task, out.shape[1])
        return out

    def _check_channels(self, task: str, channels: int) -> None:
        """A model of another task loaded for this one (TorchScript, ExportedProgram and ONNX files do not say
        their task) must fail here with one line, not later in post-processing with a traceback."""
        name = self.models[task].backend.path.name
        expected = _FIXED_CHANNELS.get(task)
        if expected is not None and channels != expected:
            raise BackendError(
                f"{name}: gives {channels} output channels, a {task} model gives {expected}; "
                f"is it really a {task} model?"
            )
        if task == "seg" and channels > 256:
            raise BackendError(f"{name}: gives {channels} classes; a class map holds at most 256")
        if task == "pose":
            schema = keypoint_schema(self.keypoint_schema_name(channels))
            if len(schema) != channels:
                raise BackendError(
                    f"{name}: gives {channels} heatmaps, its keypoint set {schema.name} has {len(schema)} points"
                )

    def run(self, frames: list[Frame]) -> list[Annotation]:
        docs = [
            Annotation(
                image_path=f.path,
                image_size=(f.image.shape[1], f.image.shape[0]),
                keypoint_schema=None,
                class_schema=None,
                persons=[],
                part_map=None,
                foreground=None,
                depth=None,
                normal=None,
                models={t: m.provenance() for t, m in self.models.items()},
            )
            for f in frames
        ]
        if not frames:
            return docs
        quick = self._quick()
        if quick is not None:  # before the dense models: its person mask masks depth and normals
            for frame, doc in zip(frames, docs):
                found = quick.run(frame.image, frame.boxes, self.kpt_threshold)
                doc.keypoint_schema = quick.keypoint_schema_name
                doc.persons = found.persons
                if "seg" not in self.models:
                    doc.foreground = found.foreground
        dense = [t for t in DENSE_TASKS if t in self.models]
        if dense:
            resized = T.normalize([T.resize_for_model(f.image, INPUT_SIZE) for f in frames])
            for task in dense:
                raw = self._infer(task, resized)
                for frame, doc, out in zip(frames, docs, raw):
                    self._apply_dense(task, frame, doc, out)
                del raw
            del resized
        if "pose" in self.models and quick is None:
            self._run_pose(frames, docs)
        return docs

    def _quick(self) -> QuickPose | None:
        model = self.models.get("pose")
        return model.backend if model is not None and isinstance(model.backend, QuickPose) else None

    def _apply_dense(self, task: str, frame: Frame, doc: Annotation, out: np.ndarray) -> None:
        hw = frame.image.shape[:2]
        if task == "seg":
            classes = T.logits_to_classes(out, hw)
            if out.shape[0] == 1:  # a binary foreground model: no part classes, only the person mask
                doc.foreground = classes.astype(bool)
            else:
                doc.class_schema = self.class_schema_name(out.shape[0])
                doc.part_map = classes
                doc.foreground = classes != 0
        elif task == "depth":
            doc.depth = T.postprocess_depth(out, hw, foreground=doc.foreground)
        elif task == "normal":
            doc.normal = T.postprocess_normal(out, hw, foreground=doc.foreground)

    def _run_pose(self, frames: list[Frame], docs: list[Annotation]) -> None:
        owners, boxes, centers, scales, crops = [], [], [], [], []
        for i, frame in enumerate(frames):
            h, w = frame.image.shape[:2]
            frame_boxes = whole_image_box(w, h) if frame.boxes is None else np.asarray(frame.boxes, np.float32)
            for box in frame_boxes:
                center, scale = T.box_to_center_scale(box[:4])
                owners.append(i)
                boxes.append(box)
                centers.append(center)
                scales.append(scale)
                crops.append(T.crop_person(frame.image, center, scale))
        if not crops:
            return
        batch = T.normalize(crops)
        del crops
        heatmaps = self._infer("pose", batch)
        schema = keypoint_schema(self.keypoint_schema_name(heatmaps.shape[1]))
        if self.flip_test:
            flipped = self._infer("pose", T.flip_images(batch))
            heatmaps = T.merge_flip_test(heatmaps, flipped, schema.flip_index)
        keypoints, scores = T.decode_pose(heatmaps, np.stack(centers), np.stack(scales))
        for n, i in enumerate(owners):
            doc = docs[i]
            doc.keypoint_schema = schema.name
            doc.persons.append(
                Person.from_prediction(
                    len(doc.persons),
                    keypoints[n],
                    scores[n],
                    box=boxes[n][:4],
                    threshold=self.kpt_threshold,
                    score=float(boxes[n][4]),
                )
            )


def run_on_images(pipeline: Pipeline, frames: Iterable[Frame]) -> Iterable[Annotation]:
    """Stream annotations, ``pipeline.batch_size`` frames at a time (memory stays bounded)."""
    chunk: list[Frame] = []
    for frame in frames:
        chunk.append(frame)
        if len(chunk) >= pipeline.batch_size:
            yield from pipeline.run(chunk)
            chunk = []
    if chunk:
        yield from pipeline.run(chunk)
