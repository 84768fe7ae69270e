"""Run the chosen Sapiens tasks on frames and turn the raw outputs into annotation documents.

    frames -> seg on the whole resized image (its foreground masks depth and normals, and may give boxes)
           -> person boxes: given per frame, else the detector's, else each pose model's whole-image default
           -> pose top-down, through the one PoseModel interface (:mod:`.pose_models`)
           -> depth / normal / pointmap / matting on the whole image, each family resized its own way (v1: bilinear
              stretch; Sapiens2: AREA/CUBIC stretch for seg and matting, aspect kept + centred padding for normal,
              pointmap)
           -> Annotation per frame (persons, part map, foreground, depth, normals, pointmap, matte, provenance)

A pointmap (Sapiens2 only) gives metric XYZ per pixel; its Z becomes the document's depth, recorded as metric
(``models["depth"]["metric"]``), and the focal length it implies goes into ``models["pointmap"]``. Matting
(Sapiens2 only) gives the document's ``alpha`` and premultiplied ``fg_rgb`` (:mod:`.tasks.sapiens2_matting`).

Everything here is numpy in, numpy out; the backends hide which runtime executes the model.

Public API (the app and the CLI use it; keep it backward compatible)::

    pipeline = Pipeline.from_paths({"pose": path, "seg": path, "depth": None, "normal": None},
                                   device="auto", batch_size=1, flip_test=False, kpt_threshold=0.3,
                                   detector=None)                 # a sapiens_core.detect.PersonDetector
    docs = pipeline.run([Frame(rgb, "a.jpg", boxes=None), ...])   # one Annotation per frame
    pipeline.close()                                              # closes the models and the detector

The quick CPU model (MediaPipe Holistic mapped onto Goliath-308, :mod:`.quick`) stands in for a pose checkpoint
when the pose entry is the string ``QUICK_MODEL_ID`` (``"quick"``; a ``Path`` is always a file):
``Pipeline.from_paths({"pose": QUICK_MODEL_ID, "depth": path})``. Its person mask becomes the document's
foreground (and masks depth and normals) when no seg model ran; a seg model's foreground wins otherwise. Its
provenance is ``{"file": "quick", "format": "mediapipe-holistic", ...}``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from . import tasks as T
from .annotation import Annotation
from .backends import open_backend
from .cards import ModelCard, TrainedCard, card_for_path
from .errors import BackendError
from .pose_models import PoseModel, SapiensPose, infer_in_chunks
from .quick.pose import QUICK_MODEL_ID, QuickPose, is_quick_model_id
from .schema import class_schema, class_schema_names
from .task_specs import ALL_TASK_NAMES, INPUT_SIZE, SAPIENS2_ONLY_TASKS
from .tasks.sapiens2 import Padding, resize_and_pad, stretch_for_seg
from .tasks.sapiens2_matting import matting_input, matting_to_layers
from .tasks.sapiens2_outputs import focal_lengths, normal_to_unit, pointmap_to_metric, split_pointmap

if TYPE_CHECKING:
    import torch

    from .detect import PersonDetector

log = logging.getLogger(__name__)
# seg first: its foreground masks the others; pointmap last: its metric Z replaces a v1 model's relative depth
DENSE_TASKS = ("seg", "depth", "normal", "pointmap", "matting")
# Tasks whose outputs ``tasks.dense`` post-processes where they lie (the padded Sapiens2 ones go through numpy).
DEVICE_POSTPROCESS_TASKS = ("seg", "depth", "normal")
# Output channels a task's model must give, where the task fixes them (pose and seg depend on the model's card).
_FIXED_CHANNELS = {"depth": 1, "normal": 3, "pointmap": 4, "matting": 4}
__all__ = ["Pipeline", "Frame", "TaskModel", "run_on_images", "QUICK_MODEL_ID", "DENSE_TASKS"]


@dataclass
class Frame:
    """One image to process. ``boxes``: (N, 5) xyxy+score person boxes, or None (the detector's, or whole image)."""

    image: np.ndarray  # (H, W, 3) uint8 RGB
    path: str = ""
    boxes: np.ndarray | None = None


class Runtime(Protocol):
    """What every model's runtime tells about itself (the app's status line, the provenance record)."""

    path: Path
    format: str
    device: str
    provider: str

    def close(self) -> None: ...


@dataclass
class TaskModel:
    task: str
    backend: Runtime  # a Backend, or the quick model (which is its own runtime)
    card: ModelCard | TrainedCard | None = None
    # How pose runs for this model; the Pipeline makes a SapiensPose over ``backend`` for a pose model without one.
    pose: PoseModel | None = None

    def provenance(self) -> dict:
        info = {
            "file": self.backend.path.name,
            "format": self.backend.format,
            "device": self.backend.device,
            "provider": self.backend.provider,
        }
        if getattr(self.backend, "precision", None):  # the dtype that ran (fp32 unless asked, or a bf16 file)
            info["precision"] = self.backend.precision
        if self.pose is not None:
            info.update(self.pose.provenance())
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
    detector: PersonDetector | None = None  # boxes for frames that come without; owned (closed) by the pipeline
    _schema_cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        model = self.models.get("pose")
        if model is not None and model.pose is None:
            model.pose = SapiensPose(model.backend, model.card, self.batch_size, self.flip_test)

    @classmethod
    def from_paths(
        cls,
        paths: Mapping[str, str | Path | None],
        device: str = "auto",
        detector: PersonDetector | None = None,
        precision: str = "auto",
        fast: bool = False,
        compile: bool = False,
        **options,
    ) -> Pipeline:
        """Open one checkpoint per task (``{"pose": path, "seg": None, ...}``); a bad file raises a SapiensError.

        ``"pose": QUICK_MODEL_ID`` runs the quick backend (BackendError with the install hint without mediapipe).
        ``fast`` / ``compile``: every checkpoint's weights in our own model (see ``open_backend``).
        """
        models = {}
        try:
            for task, path in paths.items():
                if path is None:
                    continue
                if task not in ALL_TASK_NAMES:
                    raise ValueError(f"unknown task {task!r}")
                if is_quick_model_id(path):
                    if task != "pose":
                        raise ValueError(f"the quick model only gives pose (and a person mask), not {task}")
                    quick = QuickPose()
                    models[task] = TaskModel(task, quick, pose=quick)
                    continue
                backend = open_backend(path, task=task, device=device, precision=precision, fast=fast, compile=compile)
                models[task] = TaskModel(task, backend, card_for_path(path))
        except BaseException:
            for m in models.values():
                m.backend.close()
            raise
        return cls(models, detector=detector, **options)

    def set_batch_size(self, batch_size: int) -> None:
        """Images (and person crops) per forward pass from now on, e.g. once ``--batch-size auto`` is resolved."""
        self.batch_size = int(batch_size)
        model = self.models.get("pose")
        if model is not None and isinstance(model.pose, SapiensPose):
            model.pose.batch_size = self.batch_size

    def close(self) -> None:
        for m in self.models.values():
            m.backend.close()
        if self.detector is not None:
            self.detector.close()

    # ---- schemas follow the model, not a global: the card says, else the output channel count does
    def keypoint_schema_name(self, channels: int) -> str:
        return SapiensPose(self.models["pose"].backend, self.models["pose"].card).keypoint_schema_name(channels)

    def class_schema_name(self, channels: int) -> str | None:
        card = self.models["seg"].card
        return (card.class_schema_name if card else None) or _class_schema_name_for(channels)

    # ---- running
    def _infer(self, task: str, batch: np.ndarray, keep_tensor: bool = False) -> np.ndarray | torch.Tensor:
        """Run ``batch`` in chunks of ``batch_size``; check the output is what the task promises."""
        out = infer_in_chunks(self.models[task].backend, batch, self.batch_size, task, keep_tensor)
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

    def run(self, frames: list[Frame], prepared: Mapping | None = None) -> list[Annotation]:
        """One document per frame. ``prepared["v1"]``: the frames' v1 dense input made ahead (the dataset loader
        makes it in worker processes), a (B, 3, 1024, 768) array or tensor."""
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
        dense = [t for t in DENSE_TASKS if t in self.models]
        shared: dict = dict(prepared or {})  # v1's bilinear resize, made once for every v1 dense model
        if "seg" in self.models:  # first: its foreground may give the boxes, and masks depth and normals
            self._run_dense("seg", frames, docs, shared)
        pose = self.models.get("pose")
        if pose is not None:
            self._run_pose(pose.pose, frames, docs)
        for task in dense:
            if task != "seg":
                self._run_dense(task, frames, docs, shared)
        return docs

    def _dense_input(self, task: str, frames: list[Frame], shared: dict) -> tuple[np.ndarray, list[Padding | None]]:
        """The network input for ``task``'s model and, where it was padded, each frame's padding (Sapiens2 spec §3):
        Sapiens2 seg stretches with AREA/CUBIC; Sapiens2 normal and every pointmap keep the aspect and pad; matting
        as ``tasks.sapiens2_matting`` says; v1 stretches bilinearly."""
        no_padding: list[Padding | None] = [None] * len(frames)
        if task not in SAPIENS2_ONLY_TASKS and getattr(self.models[task].backend, "family", "sapiens") != "sapiens2":
            if "v1" not in shared:
                shared["v1"] = T.normalize([T.resize_for_model(f.image, INPUT_SIZE) for f in frames])
            return shared["v1"], no_padding
        if task == "seg":
            return T.normalize([stretch_for_seg(f.image, INPUT_SIZE) for f in frames]), no_padding
        if task == "matting":
            images, paddings = zip(*(matting_input(f.image, INPUT_SIZE) for f in frames))
            return T.normalize(list(images)), list(paddings)
        padded, paddings = zip(*(resize_and_pad(f.image, INPUT_SIZE) for f in frames))
        return T.normalize(list(padded)), list(paddings)

    def _run_dense(self, task: str, frames: list[Frame], docs: list[Annotation], shared: dict) -> None:
        batch, paddings = self._dense_input(task, frames, shared)
        # Stretched seg, depth and normal maps are upsampled and reduced by ``tasks.dense``, which works where the
        # tensor lies: on a GPU only the class/depth/normal map crosses to the host, not the network's output.
        keep_tensor = task in DEVICE_POSTPROCESS_TASKS and all(padding is None for padding in paddings)
        raw = self._infer(task, batch, keep_tensor)
        for frame, doc, out, padding in zip(frames, docs, raw, paddings):
            self._apply_dense(task, frame, doc, out, padding)

    def _boxes(self, frame: Frame, doc: Annotation) -> np.ndarray | None:
        if frame.boxes is not None or self.detector is None:
            return frame.boxes
        boxes = self.detector.detect(frame.image, foreground=doc.foreground)
        doc.models["detector"] = self.detector.describe()  # after detecting: an ONNX detector learns its layout then
        return boxes

    def _run_pose(self, pose: PoseModel, frames: list[Frame], docs: list[Annotation]) -> None:
        boxes = [self._boxes(frame, doc) for frame, doc in zip(frames, docs)]
        results = pose.estimate([f.image for f in frames], boxes, self.kpt_threshold)
        for doc, result in zip(docs, results):
            doc.persons = result.persons
            if result.keypoint_schema is not None:
                doc.keypoint_schema = result.keypoint_schema
            if doc.foreground is None and result.foreground is not None:  # a seg model's mask wins
                doc.foreground = result.foreground

    def _apply_dense(
        self, task: str, frame: Frame, doc: Annotation, out: np.ndarray | torch.Tensor, padding: Padding | None
    ) -> None:
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
        elif task == "normal" and padding is not None:
            doc.normal = normal_to_unit(out, padding, hw, foreground=doc.foreground)
        elif task == "normal":
            doc.normal = T.postprocess_normal(out, hw, foreground=doc.foreground)
        elif task == "pointmap":
            _apply_pointmap(doc, out, padding, hw)
        elif task == "matting":
            matte = matting_to_layers(out, hw, padding)
            doc.alpha, doc.fg_rgb = matte.alpha, matte.foreground
            # How the image was fitted to the network is UNVERIFIED for matting (tasks.sapiens2_matting): recorded.
            doc.models["matting"]["input"] = "stretch" if padding is None else "pad"


def _apply_pointmap(doc: Annotation, out: np.ndarray, padding: Padding, hw: tuple[int, int]) -> None:
    """Metric XYZ per pixel (NaN off the person), its Z as the document's depth, and the focal length it implies."""
    doc.pointmap = pointmap_to_metric(out, padding, out_hw=hw, foreground=doc.foreground)
    doc.depth = np.ascontiguousarray(doc.pointmap[..., 2])
    _, scale = split_pointmap(out)
    f_input, f_image = focal_lengths(scale, padding)
    doc.models["pointmap"].update(scale=scale, focal_length_px=f_image, focal_length_input_px=f_input, unit="m")
    # Replaces a v1 depth model's relative map, if one ran: the record says where the depth now comes from.
    doc.models["depth"] = {"source": "pointmap", "file": doc.models["pointmap"]["file"], "metric": True, "unit": "m"}


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
