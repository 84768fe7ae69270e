"""``stats PROJECT_DIR``: what a project folder holds and how far its review has come."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import SapiensError
from ..project import Project
from ..stats import project_stats


def add_parser(sub) -> None:
    p = sub.add_parser(
        "stats",
        help="count images, persons, labelled points, review states and class pixels",
        description="Images, persons, labelled points per body region (body, feet, hands, face), "
        "points made by people vs models, review states and part-map class pixel shares.",
    )
    p.add_argument("project", type=Path, metavar="PROJECT_DIR", help="folder of annotation documents")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.project.is_dir():
        raise SapiensError(f"{args.project} is not a folder of annotation documents")
    stats = project_stats(Project(args.project))
    if args.json:
        print(
            json.dumps(
                {
                    "images": stats.images,
                    "persons": stats.persons,
                    "points_by_group": dict(stats.points_by_group),
                    "human_points": stats.human_points,
                    "model_points": stats.model_points,
                    "states": dict(stats.states),
                    "class_shares": {s: stats.class_shares(s) for s in stats.class_pixels},
                    "problems": stats.problems,
                },
                indent=1,
            )
        )
    else:
        print(stats.to_text())
    for problem in stats.problems:
        print(f"failed: {problem}", file=sys.stderr)
    return 1 if stats.problems else 0
