"""Exporting a project folder: documents per second and peak memory, 1,000 against 10,000 documents.

A synthetic project (small images, two persons of 308 points, a part map and a person mask per image) is
written once per size; each export runs in a fresh child process so its peak resident memory is its own.
Memory must stay flat: the exporters stream one document at a time, so the 10,000-document peak should be
close to the 1,000-document one (the ratio is printed). No assertions: this is a report.

    python -m bench.bench_export [FORMAT ...]     (default: coco-goliath308 coco17 labelme)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from sapiens_core.annotation import SOURCE_HUMAN, Annotation, Person

SIZES = (1_000, 10_000)
W, H, K = 96, 128, 308

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from sapiens_core.export import get_format
from sapiens_core.export.project_export import export_project
from sapiens_core.project import Project
project, fmt, out = Project(sys.argv[1]), get_format(sys.argv[2]), Path(sys.argv[3])
t0 = time.perf_counter()
summary = export_project(project, fmt, out)
seconds = time.perf_counter() - t0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "images": sum(r.images for r in summary.reports.values())}))
"""


def _template(folder: Path) -> tuple[str, dict[str, bytes], bytes]:
    """One saved document (text, side files) and its image, to be copied under other names."""
    import cv2

    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    ok, png = cv2.imencode(".png", image)
    image_path = folder / "images" / "TEMPLATE.png"
    image_path.parent.mkdir(parents=True)
    image_path.write_bytes(png.tobytes())
    persons = []
    for pid in range(2):
        xy = rng.uniform(0, [W, H], (K, 2))
        person = Person.from_prediction(pid, xy, rng.uniform(0, 1, K), box=[2, 3, W - 2, H - 3], score=0.9)
        person.source[:20] = SOURCE_HUMAN
        persons.append(person)
    part_map = np.zeros((H, W), np.uint8)
    part_map[20:100, 20:70] = rng.integers(1, 28, (80, 50), dtype=np.uint8)
    doc = Annotation(
        str(image_path),
        (W, H),
        "goliath_308",
        "sapiens_28",
        persons=persons,
        part_map=part_map,
        foreground=part_map > 0,
    )
    path = doc.save(folder / "project" / "TEMPLATE.json")
    sides = {Path(p).name: Path(p).read_bytes() for p in doc.side_files.values()}
    text = path.read_text()
    for p in [path, *map(Path, doc.side_files.values())]:
        p.unlink()
    image_path.unlink()
    return text, sides, png.tobytes()


def make_project(folder: Path, count: int) -> Path:
    text, sides, png = _template(folder)
    project = folder / "project"
    for i in range(count):
        stem = f"img{i:06d}"
        (folder / "images" / f"{stem}.png").write_bytes(png)
        (project / f"{stem}.json").write_text(text.replace("TEMPLATE", stem))
        for name, data in sides.items():
            (project / name.replace("TEMPLATE", stem)).write_bytes(data)
    return project


def run_export(project: Path, fmt: str, out: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(project), fmt, str(out)], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    formats = argv or ["coco-goliath308", "coco17", "labelme"]
    results: dict[tuple[str, int], dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for count in SIZES:
            folder = Path(tmp) / f"n{count}"
            project = make_project(folder, count)
            for fmt in formats:
                out = folder / "out" / (fmt if fmt == "labelme" else f"{fmt}.json")
                results[fmt, count] = r = run_export(project, fmt, out)
                print(
                    f"{fmt:16s} {count:6d} docs: {r['images'] / r['seconds']:8.0f} docs/s, peak {r['peak_mb']:6.0f} MB",
                    flush=True,
                )
            shutil.rmtree(folder)
    for fmt in formats:
        small, large = results[fmt, SIZES[0]], results[fmt, SIZES[1]]
        print(
            f"{fmt:16s} 10k vs 1k: peak memory x{large['peak_mb'] / small['peak_mb']:.2f}, "
            f"speed x{(large['images'] / large['seconds']) / (small['images'] / small['seconds']):.2f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
