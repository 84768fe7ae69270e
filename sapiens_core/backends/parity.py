"""Does the fast path give what the original file gives? One seeded random input through both, compared.

The reference is the original file at its faithful precision (TorchScript and ``.pth`` fp32, the official bf16
ExportedPrograms bf16); the fast path runs at the precision asked. The difference is measured against the
reference's largest magnitude (an element-wise relative error is meaningless where an output is near zero), and the
tolerance follows the coarser of the two precisions: 1e-4 when both ran fp32 (what reordered fp32 sums give), 5e-2
when either ran bf16 (8 mantissa bits, rounded at each of the layers; tiny models show ~1-2% of the range).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import BackendError
from ..task_specs import INPUT_SIZE
from . import open_backend

__all__ = ["ParityResult", "TOLERANCES", "check_fast"]

TOLERANCES = {"fp32": 1e-4, "bf16": 5e-2}


@dataclass(frozen=True)
class ParityResult:
    file: str
    original: str  # provider of each run, e.g. "torch cuda fp32" and "torch cuda bf16 fast"
    fast: str
    max_abs: float
    max_rel: float  # max_abs over the reference's largest magnitude
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_rel <= self.tolerance

    def describe(self) -> str:
        verdict = "equal within tolerance" if self.ok else "NOT equal: keep the original file's path for this model"
        return (
            f"{self.file}: original ({self.original}) vs fast ({self.fast}): max abs diff {self.max_abs:.3g}, "
            f"max rel diff {self.max_rel:.3g} (tolerance {self.tolerance:g}): {verdict}"
        )


def _output(path: Path, task: str | None, device: str, precision: str, x: np.ndarray, **fast) -> tuple[np.ndarray, str]:
    # One model in memory at a time: a 2B model twice may not fit where one does.
    with open_backend(path, task=task, device=device, precision=precision, **fast) as backend:
        return backend.infer(x), backend.provider


def check_fast(
    path: str | Path,
    task: str | None = None,
    device: str = "auto",
    precision: str = "auto",
    compile: bool = False,
    batch: int = 1,
    seed: int = 0,
) -> ParityResult:
    """Run the original file and the fast path on the same random (batch, 3, 1024, 768) input and compare."""
    path = Path(path)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, *INPUT_SIZE, generator=generator).numpy()  # already-normalized image space
    reference, original = _output(path, task, device, "auto", x)
    output, fast = _output(path, task, device, precision, x, fast=True, compile=compile)
    if output.shape != reference.shape:
        raise BackendError(f"{path.name}: the fast path gives {output.shape}, the original file {reference.shape}")
    max_abs = float(np.abs(output - reference).max())
    scale = float(np.abs(reference).max())
    max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float("inf"))
    coarse = "bf16" if "bf16" in original or "bf16" in fast else "fp32"
    return ParityResult(path.name, original, fast, max_abs, max_rel, TOLERANCES[coarse])
