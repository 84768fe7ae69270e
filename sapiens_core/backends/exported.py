"""torch.export ExportedPrograms (the official ``*_bfloat16.pt2``: bf16 weights, batch dimension bounded)."""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from pathlib import Path

import torch
from torch.export.passes import move_to_device_pass

from ..errors import CheckpointError
from .base import TorchBackend, default_max_batch, file_named, register_backend
from .device import resolve_device


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.errors: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.errors.append(record.exc_info[1])


@contextlib.contextmanager
def _captured_export_log() -> Iterator[_Records]:
    """torch.export.load logs a traceback before its own vague error; keep the cause for our message instead."""
    logger = logging.getLogger("torch.export")  # torch gives it its own stderr handler, so swap the handlers
    records, handlers, propagate = _Records(), logger.handlers[:], logger.propagate
    logger.handlers, logger.propagate = [records], False
    try:
        yield records
    finally:
        logger.handlers, logger.propagate = handlers, propagate


def _reason(error: BaseException, logged: list[BaseException]) -> str:
    # "We ran into an error when deserializing..." only points at the logged cause of the first attempt.
    cause = logged[0] if logged and str(error).startswith("We ran into an error") else error
    text = str(cause).strip().splitlines()
    return text[0].split("  (Could this")[0][:160] if text else type(cause).__name__


def batch_bounds(program: torch.export.ExportedProgram) -> tuple[int, int | None]:
    """(min, max) of the first input's batch dimension as exported; (1, None) when the graph does not say."""
    try:
        user_inputs = set(program.graph_signature.user_inputs)
        for node in program.graph.nodes:
            if node.op == "placeholder" and node.name in user_inputs:
                dim = node.meta["val"].shape[0]
                if isinstance(dim, int):
                    return dim, dim
                bounds = program.range_constraints[dim.node.expr]
                upper = bounds.upper
                return max(1, int(bounds.lower)), (int(upper) if math.isfinite(float(upper)) else None)
    except Exception:
        pass
    return 1, None


@register_backend
class ExportedBackend(TorchBackend):
    format = "exported"

    def __init__(
        self, path: str | Path, task: str | None = None, device: str = "auto", precision: str = "auto"
    ) -> None:
        super().__init__(path, task, resolve_device(device))
        with _captured_export_log() as log:
            try:
                program = torch.export.load(str(self.path))
                # Official files were exported on a GPU; the pass moves device constants in the graph too.
                program = move_to_device_pass(program, self.device)
                self._module = program.module()
            except Exception as error:
                # Issue #70: a .pt2 written by torch 2.3 fails in 2.4; the format is tied to the writing version.
                raise CheckpointError(
                    f"{self.path.name} could not be loaded as an ExportedProgram with torch {torch.__version__} "
                    f"({file_named(_reason(error, log.errors), self.path)}); "
                    "these files only load in the torch version that wrote them; "
                    "use the *_torchscript.pt2 or .pth file instead"
                ) from None
        low, high = batch_bounds(program)
        tensors = [*self._module.parameters(), *self._module.buffers()]
        floating = [t.dtype for t in tensors if t.is_floating_point()]
        self._input_dtype = floating[0] if floating else torch.float32
        weights = {torch.bfloat16: "bf16", torch.float16: "fp16", torch.float32: "fp32"}.get(
            self._input_dtype, str(self._input_dtype)
        )
        self._set_precision(precision, weights)
        self.min_batch = low
        self.max_batch = max(low, min(default_max_batch(task, self.device), high or 10**9))
