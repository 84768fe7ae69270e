"""Hand-built Goliath documents with known values for the COCO format tests, and small helpers around them."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np

from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation, Person
from sapiens_core.export import ExportItem, ExportOptions, ImportedImage, ImportOptions, ImportProblem, get_format
from sapiens_core.schema import keypoint_schema

GOLIATH = keypoint_schema("goliath_308")
K = len(GOLIATH)


def person(pid: int, rng: np.random.Generator, x0: float, y0: float = 20, box: bool = True) -> Person:
    """Points inside [x0, x0 + 150] x [y0, y0 + 180]; a mix of model and human points, labeled and not.

    Unlabeled points already sit at (0, 0): COCO writes them so, and an exact round trip is then checkable.
    """
    xy = np.stack([rng.uniform(x0, x0 + 150, K), rng.uniform(y0, y0 + 180, K)], axis=1).astype(np.float32)
    scores = rng.uniform(0.0, 1.0, K).astype(np.float32)
    visibility = np.where(scores >= 0.3, 2, 0).astype(np.uint8)
    source = np.full(K, SOURCE_MODEL, np.uint8)
    source[::7] = SOURCE_HUMAN
    visibility[::7] = 2
    visibility[::11] = 1
    xy[visibility == 0] = 0
    keypoints = np.concatenate([xy, scores[:, None]], axis=1)
    return Person(
        pid,
        keypoints,
        visibility,
        source,
        np.array([x0 - 5, y0 - 5, x0 + 155, y0 + 185], np.float32) if box else None,
        0.875 if box else None,
    )


def documents(tmp_path: Path) -> list[Annotation]:
    """Three saved documents: two persons with every layer and reviewed; one person in a subfolder; none."""
    rng = np.random.default_rng(0)
    images = tmp_path / "images"
    w, h = 400, 240
    fg = np.zeros((h, w), bool)
    fg[15:220, 10:380] = True
    part_map = np.where(fg, 3, 0).astype(np.uint8)
    part_map[100:120, 50:70] = 7
    depth = np.where(fg, np.linspace(1, 2, w, dtype=np.float32)[None, :], np.nan).astype(np.float32)
    normal = np.zeros((h, w, 3), np.float32)
    normal[..., 2] = 1
    normal[~fg] = np.nan
    a = Annotation(
        str(images / "a.jpg"),
        (w, h),
        "goliath_308",
        "sapiens_28",
        persons=[person(0, rng, 20), person(4, rng, 200)],
        part_map=part_map,
        foreground=fg,
        depth=depth,
        normal=normal,
        reviewed=True,
    )
    b = Annotation(
        str(images / "sub" / "b.jpg"),
        (320, 240),
        "goliath_308",
        "sapiens_28",
        persons=[person(0, rng, 100)],
        foreground=fg[:, :320].copy(),
    )
    c = Annotation(str(images / "empty.jpg"), (64, 48), "goliath_308")
    for doc, stem in ((a, "a"), (b, "b"), (c, "empty")):
        doc.save(tmp_path / "docs" / f"{stem}.json")
    return [a, b, c]


def items(docs: list[Annotation]):
    """A one-shot generator, as a project hands documents over."""
    return (ExportItem(d, Path(d.image_path).stem) for d in docs)


def export(fmt: str, out: Path, docs: list[Annotation], **options):
    return get_format(fmt).write(out, items(docs), ExportOptions(**options))


def import_all(fmt: str, src: Path, **options) -> list[ImportedImage | ImportProblem]:
    return list(get_format(fmt).read(src, ImportOptions(**options)))


def as_document(image: ImportedImage) -> Annotation:
    return Annotation(
        str(image.image_path),
        image.size,
        image.keypoint_schema,
        image.class_schema,
        image.persons,
        reviewed=image.reviewed,
        **image.layers,
    )


def quiet(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        return fn(*args, **kwargs)
