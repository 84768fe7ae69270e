"""Staged export: the same files as export_project once done, nothing at the target after a cancel or a failure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sapiens_core.annotation import SOURCE_MODEL, Annotation, Person
from sapiens_core.export import get_format
from sapiens_core.export.project_export import ExportCancelled, export_project
from sapiens_core.export.split import parse_split
from sapiens_core.export.staged import export_project_staged
from sapiens_core.project import Project

K = 17


def _project(tmp_path: Path, n: int = 6) -> Project:
    images = tmp_path / "images"
    folder = images / "sapiens_studio"
    folder.mkdir(parents=True)
    for i in range(n):
        image = images / f"im{i}.png"
        Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(image)
        xy = np.stack([np.full(K, 5.0 + i), np.arange(K, dtype=float)], 1)
        person = Person(0, np.concatenate([xy, np.full((K, 1), 0.9)], 1), np.full(K, 2), np.full(K, SOURCE_MODEL))
        part_map = np.full((30, 40), i % 3, np.uint8)
        Annotation(str(image), (40, 30), "coco_17", "sapiens_28", [person], part_map=part_map).save(
            folder / f"im{i}.json"
        )
    return Project(folder)


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fmt_name", ["coco17", "labelme"])
@pytest.mark.parametrize("split", [None, "train=0.5,val=0.5"])
def test_same_output_as_a_direct_export(tmp_path, fmt_name, split):
    project = _project(tmp_path)
    fmt = get_format(fmt_name)
    parts = parse_split(split) if split else None
    name = "out.json" if fmt.target == "file" else "out"
    direct, staged = tmp_path / "direct", tmp_path / "staged"
    export_project(project, fmt, direct / name, split=parts)
    summary = export_project_staged(project, fmt, staged / name, split=parts)
    assert _tree(direct) == _tree(staged)
    assert all(p.exists() and "partial" not in str(p) for p in summary.written)


@pytest.mark.parametrize("fmt_name", ["coco17", "labelme", "masks"])
def test_cancel_leaves_no_file(tmp_path, fmt_name):
    project = _project(tmp_path)
    fmt = get_format(fmt_name)
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    (out_dir / "keep.txt").write_text("mine")
    calls = []

    def cancelled() -> bool:
        calls.append(1)
        return len(calls) > 4  # after a few documents went through

    target = out_dir / ("out.json" if fmt.target == "file" else "out")
    with pytest.raises(ExportCancelled):
        export_project_staged(project, fmt, target, split=parse_split("a=0.5,b=0.5"), cancelled=cancelled)
    assert _tree(out_dir) == {"keep.txt": b"mine"}
    assert [p.name for p in out_dir.iterdir()] == ["keep.txt"]


def test_an_existing_file_is_replaced_only_when_done(tmp_path):
    project = _project(tmp_path)
    target = tmp_path / "out.json"
    target.write_text("previous export")
    with pytest.raises(ExportCancelled):
        export_project_staged(project, get_format("coco17"), target, cancelled=lambda: True)
    assert target.read_text() == "previous export"
    export_project_staged(project, get_format("coco17"), target)
    assert len(json.loads(target.read_text())["images"]) == 6
