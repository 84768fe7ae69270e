"""``predict`` on images at dataset scale: one process, or one per GPU under ``torchrun``; resumable; pipelined.

The flow of every rank: rank 0 lists the inputs (folders, files, ``--list``) and sends the list to the others;
each rank takes its share (:mod:`..batch.shard`), opens the models on its own device, and runs its share through
the pipelined loop (:mod:`..batch.runner`); after a barrier rank 0 merges the per-rank COCO parts into
``coco.json`` and the failures into ``failures.txt``. With one process the same code runs without the group.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from ..batch.manifest import read_manifest
from ..batch.merge import merge_run
from ..batch.names import unique_stems
from ..batch.progress_files import read_launch_progress
from ..batch.resume import input_root
from ..batch.runner import RunOptions, failure_line, run_share
from ..batch.shard import ProcessGroup, Rank, rank_device, rank_from_env, take_share
from ..batch.state import RunState
from ..boxes import BoxTable
from ..errors import SapiensError
from ..io.images import scan_images
from ..pipeline import Pipeline
from . import detector_args
from .batch_size import AUTO, resolve_batch_size

__all__ = ["add_arguments", "check_arguments", "run_images"]

_WORKERS_FROM = 32  # images per rank from which --workers defaults to 2


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("datasets: many images, many processes (see README, dataset scale)")
    g.add_argument(
        "--list",
        type=Path,
        metavar="FILE",
        help="more inputs, one path per line ('#' starts a comment; relative to the list's folder)",
    )
    g.add_argument(
        "--resume",
        action="store_true",
        help="skip every image whose outputs in --out are complete and valid (a killed run continues)",
    )
    g.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16"),
        default="auto",
        help="auto: the dtype the official scripts run each file in (fp32 for TorchScript and .pth, bf16 for the "
        "bf16 files); bf16: autocast fp32 files for speed (results differ within bf16 tolerance)",
    )
    g.add_argument(
        "--fast",
        action="store_true",
        help="run each file's weights in our own model (SDPA attention; bf16 weights under --precision bf16) "
        "instead of the file's own graph; check a model first with `models check-fast FILE`",
    )
    g.add_argument("--compile", action="store_true", help="with --fast: torch.compile the model (minutes at start)")
    g.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="processes that decode images per rank (0: in the main process; default: 2, or 0 for a few images)",
    )
    g.add_argument("--writers", type=int, default=2, metavar="N", help="threads that write outputs per rank (0: none)")


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse out-of-range numbers before anything is loaded, with one line each."""
    if args.batch_size != AUTO and args.batch_size < 1:
        raise SapiensError("--batch-size must be at least 1")
    if not (math.isfinite(args.kpt_threshold) and 0.0 <= args.kpt_threshold <= 1.0):
        raise SapiensError(f"--kpt-threshold must be a number from 0 to 1, not {args.kpt_threshold}")
    for name in ("workers", "writers"):
        if getattr(args, name) is not None and getattr(args, name) < 0:
            raise SapiensError(f"--{name} must be 0 or more")


def _list_inputs(args: argparse.Namespace, inputs: list[str]) -> tuple[list[str], list[str]]:
    """(image paths in natural order, one line per named input that is missing or not an image we read)."""
    listed = read_manifest(args.list) if args.list else []
    scan = scan_images([*map(Path, inputs), *listed])
    return [str(p) for p in scan.images], scan.problems


def run_images(args: argparse.Namespace, models: dict, inputs: list[str], videos: list[Path], on_video) -> int:
    """Process the images (and, shared round-robin too, the videos through ``on_video``); the exit status."""
    started = time.time()  # temporary files older than this are a killed run's
    rank = rank_from_env()
    group = ProcessGroup(rank)
    try:
        return _run(args, models, inputs, videos, on_video, rank, group, started)
    finally:
        group.close()


def _run(args, models: dict, inputs: list[str], videos: list[Path], on_video, rank: Rank, group: ProcessGroup, started):
    listing = _list_inputs(args, inputs) if rank.rank == 0 else None
    paths, problems = group.broadcast(listing)
    if not paths and not videos and not problems:  # before loading models: that takes seconds to minutes
        raise SapiensError(f"no images found in {', '.join(map(str, inputs))}")
    stems = unique_stems([*paths, *map(str, videos)])
    boxes = BoxTable.load(args.boxes) if args.boxes else None
    device = rank_device(args.device, rank)
    pipeline = Pipeline.from_paths(
        models,
        device=device,
        precision=args.precision,
        fast=args.fast,
        compile=args.compile,
        detector=detector_args.detector_from_args(args, models),
        batch_size=1 if args.batch_size == AUTO else args.batch_size,
        flip_test=args.flip_test,
        kpt_threshold=args.kpt_threshold,
    )
    resolve_batch_size(args, pipeline)  # auto: from the device memory left once the models are loaded
    state = RunState(args.out, rank)
    failed = 0
    try:
        try:
            args.out.mkdir(parents=True, exist_ok=True)
            state.start({"kpt_threshold": args.kpt_threshold}, started)
        except OSError as exc:
            raise SapiensError(f"cannot write to the output folder {args.out} ({exc.strerror or exc})") from None
        if rank.rank == 0:
            for problem in problems:  # "PATH: reason", as scan_images words them
                path, _, reason = problem.partition(": ")
                print(failure_line(path, problem), file=sys.stderr)
                state.failed(path, reason)
        options = RunOptions(
            out=args.out,
            overlay=not args.no_overlay,
            kpt_threshold=args.kpt_threshold,
            overwrite=args.overwrite,
            resume=args.resume,
            batch_size=args.batch_size,
            # Worker processes take a few seconds to start: worth it for a stream of images, not for a handful.
            workers=args.workers
            if args.workers is not None
            else (2 if len(paths) >= _WORKERS_FROM * rank.world else 0),
            writers=args.writers,
            input_root=input_root(paths),
        )
        share = range(rank.rank, len(paths), rank.world)
        result = run_share(
            pipeline, take_share(paths, rank), take_share(stems[: len(paths)], rank), share, options, state, rank, boxes
        )
        failed += result.failed
        print(result.times.summary(rank.label, result.finished), flush=True)
        for i, video in enumerate(videos):
            if i % rank.world == rank.rank and not on_video(pipeline, video, stems[len(paths) + i], boxes):
                failed += 1
                state.failed(str(video), "the video failed or ended early (the reason is in the log of its rank)")
    finally:
        state.close()
        pipeline.close()
    group.barrier()  # every rank's part is complete
    if rank.rank != 0:
        # Rank 0 reports every rank's failures; a non-zero exit here would make torchrun stop rank 0 mid-merge.
        return 0
    if rank.distributed:
        print(read_launch_progress(state.folder, rank.world).line(), flush=True)
    report = merge_run(args.out)
    for problem in report.problems:
        print(problem, file=sys.stderr)
    return 1 if (report.failures or failed or problems) else 0
