"""``python -m trainer COMMAND``: one sub-command per module, each adding its own parser (a registry, no if/elif).

Exit status: 0 success, 1 the command ran but something failed, 2 a usage, data or checkpoint error (one line).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from sapiens_core.errors import SapiensError

# Modules with ``add_parser(subparsers)``; each sets ``run`` as the parser default.
COMMAND_MODULES = ("trainer.finetune_cli", "trainer.export", "trainer.describe")


class TrainerError(SapiensError):
    """A problem with the user's options, data or files (not a bug): printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trainer",
        description="Finetune Sapiens on a coco-goliath308 export, export the result, inspect checkpoints.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except SapiensError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
