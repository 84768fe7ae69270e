"""Command line: ``python -m sapiens_core predict|merge|export|import|stats|models``.

Exit status: 0 all inputs succeeded, 1 some inputs failed (each named on stderr), 2 usage or model
error (one clear line, no traceback).
"""

from __future__ import annotations

import argparse
import logging
import sys

from ..errors import SapiensError
from . import export as export_cmd
from . import importing as import_cmd
from . import merge as merge_cmd
from . import models as models_cmd
from . import predict as predict_cmd
from . import stats as stats_cmd

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sapiens_core",
        description="Run Sapiens pose, body-part segmentation, depth and normal models headlessly; "
        "export, import and count labels.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens, for bug reports")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (predict_cmd, merge_cmd, export_cmd, import_cmd, stats_cmd, models_cmd):
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return args.run(args)
    except SapiensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
