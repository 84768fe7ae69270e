"""Training and evaluation samples from a ``coco-goliath308`` file, as tensors the model and the losses take.

Pose is top-down: one sample per labeled person, cropped with the UDP affine of inference (``crop_person``) and
encoded with the core's ``UDPHeatmapCodec``. Seg/depth/normal: one sample per image that has the layer, the whole
image resized as at inference. Every random choice comes from a generator seeded by (seed, epoch, index), which
the sampler hands over with the index: a sample is the same whichever worker makes it and whenever a run resumes.

Keypoints are mapped onto the training schema by name, so a custom schema trains on the Goliath points it shares;
a point of the schema that Goliath does not have is unlabeled (weight 0). A new point (a racket tip) gets labels
from a plain COCO keypoints file whose category lists exactly the training schema's names, in order: that file is
read in the schema's own layout and its labels are used as they are (see ``read_source``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from sapiens_core.annotation import SOURCE_HUMAN
from sapiens_core.errors import SapiensError
from sapiens_core.export import (
    ImportedImage,
    ImportOptions,
    ImportProblem,
    get_format,
    own_schema_layout,
    read_coco,
)
from sapiens_core.io.images import read_image
from sapiens_core.schema import ClassSchema, KeypointSchema, class_schema, keypoint_schema
from sapiens_core.schema.class_maps import convert_class_map
from sapiens_core.tasks import box_to_center_scale, crop_person, image_to_crop, normalize
from sapiens_core.tasks.udp_codec import UDPHeatmapCodec

from .augment import (
    AugmentConfig,
    dense_matrix,
    flip_points,
    half_body_box,
    photometric,
    random_box_transform,
    rotate_vectors,
)
from .losses import IGNORE_INDEX

NORMAL_INVALID = -1000.0  # background of normal targets (spec §6.5: valid where target > -100)
DEPTH_INVALID = -1.0  # background of depth targets (spec §6.4)


@dataclass
class PoseSample:
    image_path: Path
    image_id: int
    keypoints: np.ndarray  # (K, 2) image pixels in the training schema's order
    labeled: np.ndarray  # (K,) bool
    box: np.ndarray  # (4,) xyxy


@dataclass
class DenseSample:
    image_path: Path
    image_id: int
    layer: np.ndarray  # part map (H, W) uint8 / depth (H, W) / normal (H, W, 3)
    foreground: np.ndarray | None = None


@dataclass
class DataSource:
    """What was read from the file: samples of one task plus what evaluation needs (image sizes, problems)."""

    samples: list = field(default_factory=list)
    image_sizes: dict[int, tuple[int, int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def keypoint_map(schema: KeypointSchema, source: KeypointSchema) -> np.ndarray:
    """For each training-schema point, its row in the source (Goliath) layout, or -1 when the source lacks it."""
    names = {n: i for i, n in enumerate(source.names)}
    return np.array([names.get(n, -1) for n in schema.names], dtype=np.int64)


def _category_names(path: Path) -> list | None:
    """The names the file's keypoint category lists, as ``read_coco`` picks the category; None when that cannot
    be told (not JSON, no such category): the coco-goliath308 reader then says what is wrong, field by field."""
    try:
        categories = json.loads(Path(path).read_text(encoding="utf-8"))["categories"]
        with_points = [c for c in categories if "keypoints" in c]
        if len(with_points) > 1:
            with_points = [c for c in with_points if c.get("name") == "person"][:1] or with_points
        names = with_points[0]["keypoints"] if len(with_points) == 1 else None
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    return names if isinstance(names, list) else None


def read_source(
    path: Path,
    task: str,
    schema: KeypointSchema | None,
    images_dir: Path | None = None,
    human_only: bool = False,
    class_set: str = "sapiens_28",
) -> DataSource:
    """Read a training file; images without what ``task`` needs are skipped. ``human_only`` keeps only
    keypoints a person placed or checked (``keypoint_sources`` 1), not model predictions left as they were.
    Part maps are converted to ``class_set`` from the class set each image names (v1 data trains a Sapiens2
    29-class head and the other way round, through ``sapiens_core.schema.class_maps``).

    Which file: for pose, one whose keypoint category lists exactly the training schema's names (in order) is
    plain COCO in that schema, read as it is, so points Goliath lacks get labels too; any other file is
    coco-goliath308 (with its side files), its points mapped onto the schema by name. A file listing other
    names is refused, naming the ones expected."""
    options = ImportOptions(images_dir=images_dir)
    goliath = keypoint_schema("goliath_308")
    names = _category_names(path) if schema is not None and schema.names != goliath.names else None
    if names is not None and names == list(schema.names):
        items, rows = read_coco(Path(path), options, own_schema_layout(schema)), np.arange(len(schema))
    elif names is not None and names != list(goliath.names):
        shown = ", ".join(schema.names[:8]) + (", ..." if len(schema) > 8 else "")
        raise SapiensError(
            f"{Path(path).name}: its keypoint category lists {len(names)} other names; expected the "
            f"{len(schema)} {schema.name} names in order ({shown}) or the 308 Goliath names"
        )
    else:
        items = get_format("coco-goliath308").read(Path(path), options)
        rows = keypoint_map(schema, goliath) if schema is not None else None
    source = DataSource()
    layer_name = {"seg": "part_map", "depth": "depth", "normal": "normal"}.get(task)
    for index, item in enumerate(items):
        if isinstance(item, ImportProblem):
            source.problems.append(str(item))
            continue
        assert isinstance(item, ImportedImage)
        source.image_sizes[index] = item.size or (0, 0)
        if task == "pose":
            for person in item.persons:
                labeled = person.labeled[np.maximum(rows, 0)] & (rows >= 0)
                if human_only:
                    labeled &= person.source[np.maximum(rows, 0)] == SOURCE_HUMAN
                if not labeled.any():
                    continue
                keypoints = person.keypoints[np.maximum(rows, 0), :2].astype(np.float64)
                box = person.box if person.box is not None else person.labeled_box()
                source.samples.append(PoseSample(item.image_path, index, keypoints, labeled, np.asarray(box)))
        elif item.layers.get(layer_name) is not None:
            layer = item.layers[layer_name]
            if task == "seg":
                try:
                    layer = convert_class_map(layer, item.class_schema or "sapiens_28", class_set)
                except KeyError as error:
                    raise SapiensError(f"{item.source}: {error.args[0]}") from None
            source.samples.append(DenseSample(item.image_path, index, layer, item.layers.get("foreground")))
    if not source.samples:
        raise SapiensError(f"{Path(path).name} has no {task} labels to train on")
    return source


class SapiensDataset(Dataset):
    """Indexed by ``(epoch, index)`` pairs from ``ResumableSampler`` (a plain int means epoch 0)."""

    def __init__(
        self,
        source: DataSource,
        task: str,
        input_size: tuple[int, int] = (768, 1024),
        augment: AugmentConfig | None = None,
        keypoints: KeypointSchema | None = None,
        classes: ClassSchema | None = None,
        sigma: float = 6.0,
        seed: int = 0,
    ) -> None:
        self.source, self.task, self.input_size = source, task, tuple(input_size)
        self.augment = augment or AugmentConfig.off()
        self.keypoints = keypoints
        self.classes = classes or class_schema("sapiens_28")
        heatmap_size = (self.input_size[0] // 4, self.input_size[1] // 4)
        self.codec = UDPHeatmapCodec(self.input_size, heatmap_size, sigma)
        self.seed = seed

    def __len__(self) -> int:
        return len(self.source.samples)

    def __getitem__(self, key) -> dict[str, torch.Tensor]:
        epoch, index = key if isinstance(key, tuple) else (0, key)
        rng = np.random.default_rng([self.seed, epoch, index])
        sample = self.source.samples[index]
        image = read_image(sample.image_path)
        if self.task == "pose":
            out = self._pose(sample, image, rng)
        else:
            out = self._dense(sample, image, rng)
        out["index"] = torch.tensor(index)
        out["image_id"] = torch.tensor(sample.image_id)
        return out

    def _finish_image(self, crop: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        if self.augment.photometric:
            crop = photometric(crop, rng)
        return torch.from_numpy(normalize(crop)[0])

    def _pose(self, sample: PoseSample, image: np.ndarray, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        cfg, schema = self.augment, self.keypoints
        points, labeled, box = sample.keypoints, sample.labeled.copy(), np.asarray(sample.box, np.float64)
        if cfg.flip and rng.random() < cfg.flip:
            width = image.shape[1]
            image = np.ascontiguousarray(image[:, ::-1])
            points = flip_points(points, width, schema.flip_index)
            labeled = labeled[schema.flip_index]
            box = np.array([width - 1 - box[2], box[1], width - 1 - box[0], box[3]])
        if cfg.half_body:
            half = half_body_box(points, labeled, schema.halves, rng, cfg)
            box = half if half is not None else box
        aspect = self.input_size[0] / self.input_size[1]
        center, scale = box_to_center_scale(box, aspect=aspect)
        rotation = 0.0
        if cfg.scale != (1.0, 1.0) or cfg.rotate_prob or cfg.shift_prob:
            center, scale, rotation = random_box_transform(center, scale, rng, cfg)
        crop = crop_person(image, center, scale, self.input_size, rotation)
        crop_points = image_to_crop(points, center, scale, self.input_size, rotation)
        heatmaps, weights = self.codec.encode(crop_points, labeled)
        return {
            "image": self._finish_image(crop, rng),
            "heatmaps": torch.from_numpy(heatmaps),
            "weights": torch.from_numpy(weights),
            "center": torch.from_numpy(center),
            "scale": torch.from_numpy(scale),
        }

    def _dense(self, sample: DenseSample, image: np.ndarray, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        cfg = self.augment
        layer, fg = sample.layer, sample.foreground
        flipped = bool(cfg.flip and rng.random() < cfg.flip)
        if flipped:
            image, layer = image[:, ::-1], layer[:, ::-1]
            fg = None if fg is None else fg[:, ::-1]
        zoom = float(rng.uniform(*cfg.scale)) if cfg.scale != (1.0, 1.0) else 1.0
        rotation = float(rng.uniform(-cfg.rotate, cfg.rotate)) if rng.random() < cfg.rotate_prob else 0.0
        h, w = image.shape[:2]
        matrix = dense_matrix((w, h), self.input_size, zoom, rotation)
        size = (int(self.input_size[0]), int(self.input_size[1]))

        def warp(array, fill, interpolation=cv2.INTER_NEAREST):
            return cv2.warpAffine(np.ascontiguousarray(array), matrix, size, flags=interpolation, borderValue=fill)

        crop = warp(image, 0, cv2.INTER_LINEAR)
        out = {"image": self._finish_image(crop, rng)}
        if self.task == "seg":
            labels = self.classes.flip_index[layer] if flipped else layer
            labels = np.where(np.asarray(labels) < len(self.classes), labels, IGNORE_INDEX).astype(np.uint8)
            out["label"] = torch.from_numpy(warp(labels, IGNORE_INDEX).astype(np.int64))
        elif self.task == "depth":
            out["depth"] = torch.from_numpy(depth_target(warp(layer.astype(np.float32), np.nan), _warp_fg(fg, warp)))
        else:
            normal = layer.astype(np.float32).copy()
            if flipped:
                normal[..., 0] *= -1  # mirroring negates x (NormalRandomFlip)
            normal = rotate_vectors(warp(normal, np.nan), rotation)
            out["normal"] = torch.from_numpy(normal_target(normal, _warp_fg(fg, warp)))
        return out


def _warp_fg(fg: np.ndarray | None, warp) -> np.ndarray | None:
    return None if fg is None else warp(np.asarray(fg, np.uint8), 0).astype(bool)


def depth_target(depth: np.ndarray, fg: np.ndarray | None) -> np.ndarray:
    """(1, H, W) float32: foreground min-max normalised to [0, 1] (0 nearest), background -1 (spec §6.4)."""
    valid = np.isfinite(depth) & (fg if fg is not None else True)
    out = np.full(depth.shape, DEPTH_INVALID, np.float32)
    if valid.any():
        lo, hi = depth[valid].min(), depth[valid].max()
        out[valid] = (depth[valid] - lo) / max(hi - lo, 1e-6)
    return out[None]


def normal_target(normal: np.ndarray, fg: np.ndarray | None) -> np.ndarray:
    """(3, H, W) float32 unit normals, -1000 where invalid (background, missing) (spec §6.5)."""
    norm = np.linalg.norm(normal, axis=-1, keepdims=True)
    valid = np.isfinite(normal).all(axis=-1) & (norm[..., 0] > 1e-6) & (fg if fg is not None else True)
    out = np.full(normal.shape, NORMAL_INVALID, np.float32)
    out[valid] = normal[valid] / norm[valid]
    return np.ascontiguousarray(out.transpose(2, 0, 1))
