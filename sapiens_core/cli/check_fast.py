"""``models check-fast FILE``: the fast path against the original file on one random input (see
:mod:`..backends.parity`); exit 0 when they agree within the precision's tolerance, 1 when they do not."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import SapiensError
from ..task_specs import ALL_TASK_NAMES


def add_parser(msub) -> None:
    p = msub.add_parser(
        "check-fast",
        help="compare the fast path (--fast) with the original file on one random input",
        description="Run one seeded random input through the model file as it is and through the fast path (its "
        "weights in our own model: SDPA attention, bf16 weights under --precision bf16, optional torch.compile), "
        "and print the largest absolute and relative difference and whether it is within tolerance "
        "(fp32: 1e-4 of the output range; bf16: 5e-2).",
    )
    p.add_argument("file", type=Path, help="TorchScript .pt2, bfloat16 .pt2, .pth or .safetensors")
    p.add_argument("--task", choices=ALL_TASK_NAMES, help="the model's task (TorchScript and .pt2 files do not say)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto", help="of the fast path")
    p.add_argument("--compile", action="store_true", help="the fast path through torch.compile (minutes)")
    p.add_argument("--batch", type=int, default=1, metavar="N", help="images in the random input (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..backends.parity import check_fast  # torch loads only when a check runs, not for --help

    if args.batch < 1:
        raise SapiensError("--batch must be at least 1")
    result = check_fast(
        args.file, args.task, args.device, args.precision, compile=args.compile, batch=args.batch, seed=args.seed
    )
    print(result.describe())
    return 0 if result.ok else 1
