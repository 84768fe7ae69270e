"""``import SRC --format F --out PROJECT_DIR``: bring other tools' labels into a project folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from ..export import ImportOptions, format_names, get_format
from ..export.project_import import import_into_project
from ..schema import keypoint_schema_names


def add_parser(sub) -> None:
    formats = format_names(readable=True)
    p = sub.add_parser(
        "import",
        help="turn COCO, labelme, mask or official-demo files into a project folder",
        description="Import labels into a project folder (one annotation document per image), to "
        "correct them in the app or export them again. Formats: "
        + ", ".join(f"{n} ({get_format(n).title})" for n in formats)
        + ". An existing document "
        "is kept unless --overwrite; even then every point a person made is kept.",
    )
    p.add_argument("source", type=Path, metavar="SRC", help="file or folder to import")
    p.add_argument("--format", required=True, choices=formats, metavar="FORMAT", help=", ".join(formats))
    p.add_argument("--out", required=True, type=Path, metavar="PROJECT_DIR", help="project folder (created)")
    p.add_argument(
        "--images",
        type=Path,
        metavar="DIR",
        help="where the images are (default: image names are relative to the source's folder)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="update existing documents with the imported labels (human-made points are kept)",
    )
    p.add_argument(
        "--keypoint-schema",
        choices=keypoint_schema_names(),
        help="keypoint set of sources that do not name one (default: from the point count)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    fmt = get_format(args.format)
    options = ImportOptions(images_dir=args.images, keypoint_schema=args.keypoint_schema)
    bar = tqdm(unit="img", file=sys.stderr, disable=None, desc=f"import {fmt.name}")
    try:
        summary = import_into_project(
            fmt, args.source, args.out, options, args.overwrite, progress=lambda n: bar.update(n - bar.n)
        )
    finally:
        bar.close()
    print(
        f"{len(summary.created)} documents created, {len(summary.merged)} updated, "
        f"{len(summary.kept)} existing kept"
        + (" (--overwrite updates them)" if summary.kept else "")
        + f", {len(summary.problems)} failed -> {args.out}"
    )
    for problem in summary.problems:
        print(f"failed: {problem}", file=sys.stderr)
    return 1 if summary.problems else 0
