"""A tiny labelled project exported as coco-goliath308: the trainer's input, built with the core's own writer."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from sapiens_core.annotation import SOURCE_HUMAN, Annotation, Person
from sapiens_core.export import ExportItem, ExportOptions, get_format
from sapiens_core.schema import keypoint_schema

GOLIATH = keypoint_schema("goliath_308")
# Labeled points: COCO-like body points by Goliath name (indices 0..14 are nose..ankles in Goliath order).
LABELED = list(range(15)) + [GOLIATH.index("left_wrist"), GOLIATH.index("right_wrist"), GOLIATH.index("neck")]
W, H = 96, 128


def make_image(rng: np.random.Generator) -> np.ndarray:
    image = (rng.uniform(0, 255, (H, W, 3))).astype(np.uint8)
    image = cv2.GaussianBlur(image, (7, 7), 0)
    cv2.rectangle(image, (20, 10), (76, 120), (200, 60, 60), -1)
    return image


def make_document(path: Path, rng: np.random.Generator) -> Annotation:
    keypoints = np.zeros((len(GOLIATH), 3), np.float32)
    visibility = np.zeros(len(GOLIATH), np.uint8)
    xy = np.stack([rng.uniform(28, 68, len(LABELED)), rng.uniform(16, 112, len(LABELED))], axis=1)
    keypoints[LABELED, :2] = xy
    keypoints[LABELED, 2] = 1
    visibility[LABELED] = 2
    person = Person(
        0, keypoints, visibility, np.full(len(GOLIATH), SOURCE_HUMAN, np.uint8), np.array([20, 10, 76, 120])
    )
    fg = np.zeros((H, W), bool)
    fg[10:120, 20:76] = True
    part_map = np.where(fg, 2, 0).astype(np.uint8)
    part_map[10:40, 20:76] = 3
    part_map[60:120, 20:48] = 4  # a Left_* class: flips to its Right_* partner
    depth = np.where(fg, np.linspace(1, 3, H, dtype=np.float32)[:, None], np.nan).astype(np.float32)
    normal = np.zeros((H, W, 3), np.float32)
    normal[..., 0], normal[..., 2] = 0.6, -0.8
    normal[~fg] = np.nan
    return Annotation(
        str(path),
        (W, H),
        "goliath_308",
        "sapiens_28",
        persons=[person],
        part_map=part_map,
        foreground=fg,
        depth=depth,
        normal=normal,
        reviewed=True,
    )


def write_export(folder: Path, count: int = 1, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    docs = []
    for i in range(count):
        image_path = folder / "images" / f"img{i}.png"
        image_path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(image_path), make_image(rng)[..., ::-1])
        doc = make_document(image_path, rng)
        doc.save(folder / "docs" / f"img{i}.json")
        docs.append(doc)
    out = folder / "train.json"
    items = (ExportItem(d, Path(d.image_path).stem, folder / "docs" / f"{Path(d.image_path).stem}.json") for d in docs)
    get_format("coco-goliath308").write(out, items, ExportOptions(score_threshold=None))
    return out


@pytest.fixture(scope="session")
def one_image_export(tmp_path_factory) -> Path:
    return write_export(tmp_path_factory.mktemp("export1"), 1)


@pytest.fixture(scope="session")
def four_image_export(tmp_path_factory) -> Path:
    return write_export(tmp_path_factory.mktemp("export4"), 4, seed=1)
