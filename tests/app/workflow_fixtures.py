"""Hand-built images and documents for the workflow tests: every expected value is set here, not predicted."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from sapiens_core.annotation import SOURCE_MODEL, Annotation, Person
from sapiens_core.project import annotation_path
from sapiens_core.schema import class_schema, keypoint_schema

GOLIATH = keypoint_schema("goliath_308")
CLASSES = class_schema("sapiens_28")
K = len(GOLIATH)
W, H = 80, 60
TORSO, LEFT_HAND = CLASSES.index("Torso"), CLASSES.index("Left_Hand")


def write_image(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 255, (H, W, 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), rgb)
    return path


def make_document(image: Path, score: float = 0.9) -> Annotation:
    """One person: every point at (40, 30) on the torso with ``score``, except the left-hand points, which lie on a
    Left_Hand patch at (10..19, 10..19), and the left pinky tip, which a model put on the torso (a flag)."""
    kp = np.zeros((K, 3), np.float32)
    kp[:, 0], kp[:, 1], kp[:, 2] = 40, 30, score
    for i, group in enumerate(GOLIATH.groups):
        if group == "left_hand":
            kp[i, :2] = (15, 15)
    pinky = GOLIATH.index("left_pinky_finger4")
    kp[pinky] = (40.5, 30.5, 0.6)
    person = Person(0, kp, np.full(K, 2), np.full(K, SOURCE_MODEL), box=[5, 5, 70, 55])
    part_map = np.full((H, W), TORSO, np.uint8)
    part_map[10:20, 10:20] = LEFT_HAND
    return Annotation(str(image), (W, H), "goliath_308", "sapiens_28", persons=[person], part_map=part_map)


def make_project(folder: Path, n: int = 2, score: float = 0.9) -> list[Path]:
    """``n`` images in ``folder`` with saved documents; returns the image paths."""
    images = []
    for i in range(n):
        image = write_image(folder / f"img{i}.png", seed=i)
        make_document(image, score).save(annotation_path(image))
        images.append(image)
    return images
