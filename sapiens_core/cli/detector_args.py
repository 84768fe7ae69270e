"""``predict``'s person-detector arguments: ``--detector CKPT|auto``, ``--det-score``, ``--det-nms``, ``--max-persons``.

Kept apart from predict.py so that file stays about inputs and outputs. The choice is printed to stderr (one line),
since ``auto`` may pick any of three sources.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import SapiensError

DEFAULT_SCORE = 0.3  # the Sapiens demos' bbox_thr
DEFAULT_NMS = 0.3  # the Sapiens demos' nms_thr


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--detector",
        metavar="CKPT|auto",
        help="person boxes for images without --boxes: an RTMDet .pth (the official Sapiens detector) or an ONNX "
        "detector; 'auto': the installed official detector, else the seg model's foreground, else the whole image",
    )
    p.add_argument(
        "--det-score",
        type=float,
        default=None,
        metavar="S",
        help=f"keep boxes scoring above S (default {DEFAULT_SCORE})",
    )
    p.add_argument(
        "--det-nms",
        type=float,
        default=None,
        metavar="IOU",
        help=f"suppress boxes overlapping more (default {DEFAULT_NMS})",
    )
    p.add_argument("--max-persons", type=int, default=None, metavar="N", help="keep at most N boxes per image")


def detector_from_args(args: argparse.Namespace, models: dict):
    """The detector ``args`` ask for (None: none), after checking the flags; prints where boxes come from."""
    tuning = [f for f, v in (("--det-score", args.det_score), ("--det-nms", args.det_nms)) if v is not None]
    tuning += ["--max-persons"] if args.max_persons is not None else []
    if args.detector is None:
        if tuning:
            raise SapiensError(f"{tuning[0]} only applies with --detector")
        return None
    if not models.get("pose"):
        raise SapiensError("--detector gives boxes for pose; add --pose or --quick")
    from ..detect import PersonFilter, choose_detector  # torch-heavy: only when a detector is asked for

    try:
        person_filter = PersonFilter(
            DEFAULT_SCORE if args.det_score is None else args.det_score,
            DEFAULT_NMS if args.det_nms is None else args.det_nms,
            args.max_persons,
        )
    except ValueError as exc:
        raise SapiensError(str(exc)) from None
    detector, said = choose_detector(args.detector, person_filter, args.device, seg_runs=bool(models.get("seg")))
    print(said, file=sys.stderr)
    return detector
