"""One ``coco.json`` (and one ``failures.txt``) from the per-rank parts of a predict run.

Rank 0 does this at the end of a run, after every rank has finished; ``python -m sapiens_core merge OUT`` does it
for a run that was cut short (every image finished so far goes in). Each part lists its rank's finished images in
input order, so a k-way merge by input index streams them in the order a one-process run writes them: the COCO
file is the same byte for byte whatever the number of ranks. The documents are read back without their layers,
one at a time, so memory stays flat however many images there are.
"""

from __future__ import annotations

import heapq
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..annotation import Annotation
from ..errors import SapiensError
from ..export import ExportItem, ExportOptions, get_format
from ..export.coco import own_schema_layout, write_coco
from ..io.atomic import atomic_write_text
from ..schema import keypoint_schema
from .state import STATE_DIR, iter_json_lines

__all__ = ["MergeReport", "merge_run", "write_coco_file"]


@dataclass
class MergeReport:
    images: int = 0  # finished images listed in the parts
    coco_images: int = 0  # images in coco.json (0: no pose ran, no file)
    failures: int = 0
    problems: list[str] = field(default_factory=list)


def _records(parts: list[Path], bad: list[int]) -> Iterator[dict]:
    """Every part's records merged by input index; an index listed twice (it cannot be, but) counts once."""
    last = None
    streams = [iter_json_lines(p, bad) for p in parts]
    for record in heapq.merge(*streams, key=lambda r: r.get("index", -1)):
        if not isinstance(record.get("index"), int) or not isinstance(record.get("doc"), str):
            bad[0] += 1
            continue
        if record["index"] != last:
            last = record["index"]
            yield record


def write_coco_file(path: Path, items, root: Path | None, schema_name: str, kpt_threshold: float) -> list[str]:
    """``coco.json`` in the trainer's layout for Goliath documents, in the model's own key set otherwise."""
    schema = keypoint_schema(schema_name)
    options = ExportOptions(score_threshold=kpt_threshold, images_root=root)
    if schema.name == "goliath_308":
        report = get_format("coco-goliath308").write(path, items, options)
    else:
        report = write_coco(path, items, options, own_schema_layout(schema))
    return list(report.problems)


def _common_root(root: str | None, image: str) -> str | None:
    folder = os.path.dirname(os.path.abspath(image))
    if root is None:
        return folder
    try:
        return os.path.commonpath([root, folder])
    except ValueError:  # another drive: no common folder
        return ""


def merge_run(out: str | os.PathLike) -> MergeReport:
    """Write ``OUT/coco.json`` and ``OUT/failures.txt`` from the parts in ``OUT/.sapiens_predict``."""
    out = Path(out)
    folder = out / STATE_DIR
    if not folder.is_dir():
        raise SapiensError(f"{out} holds no predict run to merge (no {STATE_DIR} folder)")
    try:
        settings = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        settings = {}
    threshold = float(settings.get("kpt_threshold", 0.3))
    parts = sorted(folder.glob("coco-part-*.jsonl"))
    report = MergeReport()
    bad = [0]
    root: str | None = None
    schemas: dict[str, int] = {}
    for record in _records(parts, bad):  # first pass: the images' common folder and the keypoint sets
        report.images += 1
        root = _common_root(root, str(record.get("image", "")))
        if record.get("kps"):
            schemas[record["kps"]] = schemas.get(record["kps"], 0) + 1
    if bad[0]:
        report.problems.append(f"{bad[0]} unreadable lines in the parts (a process killed while writing one)")
    if schemas:
        schema = max(schemas, key=lambda s: (schemas[s], s))  # one model ran; several only after a model change

        def items() -> Iterator[ExportItem]:
            for record in _records(parts, [0]):
                try:
                    doc = Annotation.load(out / record["doc"], layers=False)
                except (SapiensError, OSError) as exc:
                    report.problems.append(f"{record['doc']}: {exc}")
                    continue
                report.coco_images += 1
                yield ExportItem(doc, str(record.get("stem") or Path(record["doc"]).stem), out / record["doc"])

        problems = write_coco_file(out / "coco.json", items(), Path(root) if root else None, schema, threshold)
        report.problems.extend(f"coco.json: left out {p}" for p in problems)
    report.failures = _merge_failures(out, folder)
    return report


def _merge_failures(out: Path, folder: Path) -> int:
    """``failures.txt``: every rank's failures of the last attempt (``PATH<TAB>reason``), or no file when none."""
    lines: list[str] = []
    for part in sorted(folder.glob("failures-*.txt")):
        with open(part, encoding="utf-8") as f:
            lines.extend(line.rstrip("\n") for line in f if line.strip())
    target = out / "failures.txt"
    if lines:
        atomic_write_text(target, "\n".join(sorted(lines)) + "\n")
    else:
        target.unlink(missing_ok=True)
    return len(lines)
