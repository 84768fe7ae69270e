"""``--batch-size N|auto`` of ``predict``: the argument's type, and resolving ``auto`` once the models are loaded
(the free device memory is only known then; see :mod:`..backends.auto_batch`)."""

from __future__ import annotations

import argparse

from ..pipeline import Pipeline

__all__ = ["AUTO", "batch_size_arg", "resolve_batch_size"]

AUTO = "auto"


def batch_size_arg(text: str) -> int | str:
    """An integer, or ``auto``; anything else is a usage error argparse reports."""
    value = text.strip().lower()
    if value == AUTO:
        return AUTO
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', not {text!r}") from None


def resolve_batch_size(args: argparse.Namespace, pipeline: Pipeline) -> int:
    """``args.batch_size`` as a number; ``auto`` is chosen from the pipeline's models, said in one line, and
    written back to ``args`` so the loader and the video path batch alike."""
    if args.batch_size != AUTO:
        return int(args.batch_size)
    from ..backends.auto_batch import choose_batch_size

    size, message = choose_batch_size(model.backend for model in pipeline.models.values())
    print(message, flush=True)
    pipeline.set_batch_size(size)
    args.batch_size = size
    return size
