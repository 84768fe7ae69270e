"""``export PROJECT_DIR --format F --out PATH``: write a project's labels in a registered format."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from ..errors import SapiensError
from ..export import ExportOptions, format_names, get_format
from ..export.project_export import export_project
from ..export.split import parse_split
from ..project import Project


def add_parser(sub) -> None:
    formats = format_names(writable=True)
    p = sub.add_parser(
        "export",
        help="write a project folder's labels as COCO, labelme, masks, ...",
        description="Export the annotation documents of a project folder (what `predict --out` writes "
        "and the app saves) in one of the formats: " + ", ".join(f"{n} ({get_format(n).title})" for n in formats) + ".",
    )
    p.add_argument("project", type=Path, metavar="PROJECT_DIR", help="folder of annotation documents")
    p.add_argument("--format", required=True, choices=formats, metavar="FORMAT", help=", ".join(formats))
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="PATH",
        help="output file (COCO formats) or folder (labelme, masks, depth-normal)",
    )
    p.add_argument("--only-reviewed", action="store_true", help="only images marked reviewed")
    p.add_argument("--split", metavar="PARTS", help="e.g. train=0.8,val=0.2: one output per part, stable per --seed")
    p.add_argument("--seed", type=int, default=0, help="seed of --split (default 0)")
    p.add_argument(
        "--kpt-threshold",
        type=float,
        default=0.3,
        help="model-made points scoring below this are exported as unlabeled (human-made points always "
        "keep their visibility); default 0.3",
    )
    p.add_argument("--all-points", action="store_true", help="export every point's visibility as stored (no threshold)")
    p.add_argument(
        "--images-root",
        type=Path,
        metavar="DIR",
        help="write image names relative to DIR (default: relative to the output's folder)",
    )
    p.add_argument("--embed-images", action="store_true", help="labelme: embed each image in its JSON (large)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    fmt = get_format(args.format)
    if not args.project.is_dir():
        raise SapiensError(f"{args.project} is not a folder of annotation documents")
    project = Project(args.project)
    try:
        split = parse_split(args.split, args.seed) if args.split else None
    except ValueError as exc:
        raise SapiensError(str(exc)) from None
    if fmt.target == "file" and args.out.is_dir():
        raise SapiensError(
            f"--out {args.out} is a folder; {fmt.name} writes one file (e.g. {args.out / ('train' + fmt.suffix)})"
        )
    if fmt.target == "folder" and args.out.exists() and not args.out.is_dir():
        raise SapiensError(f"--out {args.out} is a file; {fmt.name} writes a folder of files")
    if not project.document_paths():
        raise SapiensError(f"{args.project} holds no annotation documents")
    options = ExportOptions(
        score_threshold=None if args.all_points else args.kpt_threshold,
        images_root=args.images_root,
        embed_images=args.embed_images,
    )
    bar = tqdm(unit="doc", file=sys.stderr, disable=None, desc=f"export {fmt.name}")

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        summary = export_project(project, fmt, args.out, options, args.only_reviewed, split, progress)
    finally:
        bar.close()
    for part, report in summary.reports.items():
        label = f"{part}: " if part else ""
        where = ", ".join(map(str, report.written)) or "nothing"
        print(f"{label}{report.images} images, {report.persons} persons -> {where}")
    for problem in summary.all_problems:
        print(f"failed: {problem}", file=sys.stderr)
    return 1 if summary.all_problems else 0
