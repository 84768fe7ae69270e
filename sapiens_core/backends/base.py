"""The one interface every runtime sits behind, the format registry, and the shared torch plumbing.

Subclasses implement ``_run`` on a single chunk; ``infer`` owns chunking, padding to a minimum batch, and the
output checks (rank, batch, finite values), so no backend can hand garbage to the pipeline silently.
"""

from __future__ import annotations

import abc
import contextlib
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from ..errors import BackendError
from ..task_specs import INPUT_SIZE, TASKS

BACKENDS: dict[str, type[Backend]] = {}
# Large batches give no speed-up on a CPU but multiply peak memory (3072-token attention per image).
CPU_MAX_BATCH = 4


def register_backend(cls: type[Backend]) -> type[Backend]:
    BACKENDS[cls.format] = cls
    return cls


def default_max_batch(task: str | None, device: str) -> int:
    limit = TASKS[task].max_batch if task in TASKS else min(spec.max_batch for spec in TASKS.values())
    return min(limit, CPU_MAX_BATCH) if device == "cpu" else limit


class Backend(abc.ABC):
    format: ClassVar[str]
    path: Path
    task: str | None
    device: str  # "cpu" | "cuda": what actually runs
    provider: str  # human-readable, e.g. "torch cuda bf16 autocast", "onnxruntime CPUExecutionProvider"
    input_size: tuple[int, int] = INPUT_SIZE
    output_channels: int | None
    max_batch: int
    min_batch: int = 1  # a model with a fixed batch > 1 gets zero-padded chunks, as the official demos do

    def __init__(self, path: str | Path, task: str | None) -> None:
        self.path = Path(path)
        self.task = task
        self.output_channels = None

    @abc.abstractmethod
    def _run(self, chunk: np.ndarray) -> Any:
        """Run one chunk of at most max_batch images; return a numpy array or tensor."""

    def close(self) -> None:  # noqa: B027 - optional hook; most runtimes free on garbage collection
        pass

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path.name} task={self.task} {self.provider}>"

    def _check_input(self, batch: np.ndarray) -> np.ndarray:
        if not isinstance(batch, np.ndarray) or batch.ndim != 4 or batch.shape[1] != 3 or batch.shape[0] == 0:
            shape = getattr(batch, "shape", type(batch).__name__)
            raise ValueError(f"expected a non-empty (B, 3, H, W) numpy batch, got {shape}")
        x = np.ascontiguousarray(batch, dtype=np.float32)
        return x if x.flags.writeable else x.copy()  # torch.from_numpy warns on read-only (e.g. memory-mapped) arrays

    def _check_output(self, out: Any, batch: int) -> np.ndarray:
        if isinstance(out, (tuple, list)) and len(out) == 1:
            out = out[0]  # feature extractors and some exports return a 1-tuple
        if isinstance(out, torch.Tensor):
            out = out.detach().float().cpu().numpy()
        if not isinstance(out, np.ndarray):
            raise BackendError(f"{self.path.name} returned {type(out).__name__}, not a tensor")
        if out.ndim != 4 or out.shape[0] != batch:
            raise BackendError(f"{self.path.name} returned shape {tuple(out.shape)}; expected ({batch}, C, h, w)")
        out = out.astype(np.float32, copy=False)
        if not np.isfinite(out).all():
            raise BackendError(f"{self.path.name} produced NaN or infinite values ({self.provider})")
        return out

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """(B, 3, H, W) float32, already normalized -> (B, C, h, w) float32 on the CPU."""
        x = self._check_input(batch)
        parts = []
        for start in range(0, len(x), self.max_batch):
            chunk = x[start : start + self.max_batch]
            count = len(chunk)
            if count < self.min_batch:
                chunk = np.concatenate([chunk, np.zeros((self.min_batch - count, *chunk.shape[1:]), np.float32)])
            try:
                raw = self._run(chunk)
            except (BackendError, ValueError):
                raise
            except Exception as error:
                text = str(error).strip().splitlines()
                raise BackendError(
                    f"{self.path.name} failed on a {tuple(chunk.shape)} batch "
                    f"({self.provider}): {text[0][:200] if text else type(error).__name__}"
                ) from error
            parts.append(self._check_output(raw, len(chunk))[:count])
        out = parts[0] if len(parts) == 1 else np.concatenate(parts)
        if self.output_channels is None:
            self.output_channels = int(out.shape[1])
        return out


class TorchBackend(Backend):
    """Runs a torch callable; subclasses set ``_module``, ``_input_dtype`` and ``_autocast``."""

    def __init__(self, path: str | Path, task: str | None, device: str) -> None:
        super().__init__(path, task)
        self.device = device
        self._module: Any = None
        self._input_dtype = torch.float32
        self._autocast = False  # bf16 autocast on CUDA: the speed of the bf16 files from fp32 weights

    def _describe(self, precision: str) -> str:
        return f"torch {self.device} {precision}"

    def _run(self, chunk: np.ndarray) -> torch.Tensor:
        if self._module is None:
            raise BackendError(f"{self.path.name} was closed")
        x = torch.from_numpy(chunk).to(self.device, dtype=self._input_dtype)
        autocast = (
            torch.autocast("cuda", dtype=torch.bfloat16)
            if self._autocast and self.device == "cuda"
            else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            return self._module(x)

    def close(self) -> None:
        self._module = None
        if self.device == "cuda":
            torch.cuda.empty_cache()
