"""``merge OUT``: build ``coco.json`` and ``failures.txt`` from the per-rank parts of a predict run.

A finished run does this itself (rank 0, at the end); this command is for a run that was cut short (killed,
preempted, out of time): every image finished so far goes in. Exit 0 when the run recorded no failed input,
1 when it did (listed in ``OUT/failures.txt``), 2 when OUT holds no predict run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..batch.merge import merge_run


def add_parser(sub) -> None:
    p = sub.add_parser(
        "merge",
        help="merge the per-process COCO parts of a predict run into coco.json",
        description="Write OUT/coco.json (and OUT/failures.txt) from the parts a predict run keeps in "
        "OUT/.sapiens_predict, e.g. after the run was killed or ran out of time.",
    )
    p.add_argument("out", type=Path, metavar="OUT", help="the --out folder of a predict run")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    report = merge_run(args.out)
    for problem in report.problems:
        print(problem, file=sys.stderr)
    where = f"{args.out / 'coco.json'}" if report.coco_images else "no coco.json (no pose model ran)"
    print(f"merged {report.images} finished images: {where}; {report.failures} failed inputs")
    return 1 if report.failures else 0
