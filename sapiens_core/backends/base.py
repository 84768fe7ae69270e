"""The one interface every runtime sits behind, the format registry, and the shared torch plumbing.

Subclasses implement ``_run`` on a single chunk; ``infer`` owns chunking, padding to a minimum batch, and the
output checks (rank, batch, finite values), so no backend can hand garbage to the pipeline silently.
"""

from __future__ import annotations

import abc
import contextlib
import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from ..errors import BackendError
from ..task_specs import INPUT_SIZE, TASKS
from .precision import choose_precision

log = logging.getLogger(__name__)
BACKENDS: dict[str, type[Backend]] = {}
# Large batches give no speed-up on a CPU but multiply peak memory (3072-token attention per image).
CPU_MAX_BATCH = 4


def file_named(text: str, path: Path) -> str:
    """A runtime's message with our file named by its name only: users share these lines, and a full path shows
    where their data lives (ONNX Runtime writes "Load model from /home/.../x.onnx failed")."""
    for form in {str(path), str(Path(path).absolute()), str(Path(path).resolve())}:
        text = text.replace(form, Path(path).name)
    return text


def register_backend(cls: type[Backend]) -> type[Backend]:
    BACKENDS[cls.format] = cls
    return cls


def default_max_batch(task: str | None, device: str) -> int:
    limit = TASKS[task].max_batch if task in TASKS else min(spec.max_batch for spec in TASKS.values())
    return min(limit, CPU_MAX_BATCH) if device == "cpu" else limit


def join_batches(parts: list) -> np.ndarray | torch.Tensor:
    """Chunks of one run joined along the batch: tensors by torch where they lie (no trip to the host)."""
    if all(isinstance(part, torch.Tensor) for part in parts):
        return torch.cat(parts)
    return np.concatenate([part.cpu().numpy() if isinstance(part, torch.Tensor) else part for part in parts])


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
    accepts_tensors: bool = False  # ``_run`` takes torch tensors as well as numpy arrays

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

    def _check_input(self, batch: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        arrays = (np.ndarray, torch.Tensor)
        if not isinstance(batch, arrays) or batch.ndim != 4 or batch.shape[1] != 3 or batch.shape[0] == 0:
            shape = tuple(getattr(batch, "shape", ())) or type(batch).__name__
            raise ValueError(f"expected a non-empty (B, 3, H, W) numpy batch, got {shape}")
        if isinstance(batch, torch.Tensor):
            # A (pinned) CPU tensor from the dataset loader: torch runtimes copy it to the device asynchronously.
            x = batch.detach().to(torch.float32).contiguous()
            return x if self.accepts_tensors else x.cpu().numpy()
        x = np.ascontiguousarray(batch, dtype=np.float32)
        return x if x.flags.writeable else x.copy()  # torch.from_numpy warns on read-only (e.g. memory-mapped) arrays

    def _check_output(self, out: Any, batch: int, keep_tensor: bool = False) -> np.ndarray | torch.Tensor:
        """A (batch, C, h, w) float32 array with finite values, or a float32 tensor where it lies if
        ``keep_tensor``: then only the finiteness verdict (one bool) crosses from the device, not the map."""
        if isinstance(out, (tuple, list)) and len(out) == 1:
            out = out[0]  # feature extractors and some exports return a 1-tuple
        if isinstance(out, torch.Tensor):
            out = out.detach().float() if keep_tensor else out.detach().float().cpu().numpy()
        if not isinstance(out, (np.ndarray, torch.Tensor)):
            raise BackendError(f"{self.path.name} returned {type(out).__name__}, not a tensor")
        if out.ndim != 4 or out.shape[0] != batch:
            raise BackendError(f"{self.path.name} returned shape {tuple(out.shape)}; expected ({batch}, C, h, w)")
        if isinstance(out, torch.Tensor):
            finite = bool(torch.isfinite(out).all())
        else:
            out = out.astype(np.float32, copy=False)
            finite = bool(np.isfinite(out).all())
        if not finite:
            raise BackendError(f"{self.path.name} produced NaN or infinite values ({self.provider})")
        return out

    def infer(self, batch: np.ndarray, keep_tensor: bool = False) -> np.ndarray | torch.Tensor:
        """(B, 3, H, W) float32, already normalized -> (B, C, h, w) float32 on the CPU, unless ``keep_tensor``.

        ``keep_tensor``: a torch runtime's output stays a float32 tensor on its device, so the per-pixel
        post-processing can run there (``tasks.dense``) and only the reduced maps cross to the host; a runtime
        that gives numpy (ONNX Runtime) still gives numpy.

        Out of device memory, the chunk is retried at half the batch (and ``max_batch`` stays halved) down to one
        image; only a single image that does not fit is an error.
        """
        x = self._check_input(batch)
        parts = []
        start = 0
        while start < len(x):
            chunk = x[start : start + self.max_batch]
            count = len(chunk)
            if count < self.min_batch:
                pad = (self.min_batch - count, *chunk.shape[1:])
                if isinstance(chunk, torch.Tensor):
                    chunk = torch.cat([chunk, torch.zeros(pad, dtype=chunk.dtype)])
                else:
                    chunk = np.concatenate([chunk, np.zeros(pad, np.float32)])
            try:
                raw = self._run(chunk)
            except (BackendError, ValueError):
                raise
            except torch.OutOfMemoryError as error:
                self._out_of_memory(len(chunk), error)
                continue
            except Exception as error:
                text = file_named(str(error), self.path).strip().splitlines()
                raise BackendError(
                    f"{self.path.name} failed on a {tuple(chunk.shape)} batch "
                    f"({self.provider}): {text[0][:200] if text else type(error).__name__}"
                ) from error
            parts.append(self._check_output(raw, len(chunk), keep_tensor)[:count])
            start += count
        out = parts[0] if len(parts) == 1 else join_batches(parts)
        if self.output_channels is None:
            self.output_channels = int(out.shape[1])
        return out

    def _out_of_memory(self, size: int, error: BaseException) -> None:
        """Halve the batch for this chunk and the rest of the run, or fail in one line at the smallest batch."""
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        smallest = max(1, self.min_batch)
        if size <= smallest:
            raise BackendError(
                f"{self.path.name} ran out of memory on a batch of {size} ({self.provider}); "
                "free the device or use a smaller model"
            ) from error
        self.max_batch = max(smallest, size // 2)
        log.warning("%s: out of memory on a batch of %d; retrying at %d", self.path.name, size, self.max_batch)


class TorchBackend(Backend):
    """Runs a torch callable; subclasses set ``_module``, ``_input_dtype`` and ``_autocast``."""

    accepts_tensors = True

    def __init__(self, path: str | Path, task: str | None, device: str) -> None:
        super().__init__(path, task)
        self.device = device
        self._module: Any = None
        self._input_dtype = torch.float32
        self._autocast = False  # fp32 weights autocast to bf16 (--precision bf16, or Sapiens2 on CUDA)
        self.precision = "fp32"  # what runs: recorded in each document's provenance

    def _describe(self, precision: str) -> str:
        return f"torch {self.device} {precision}"

    def _set_precision(self, requested: str, weights: str = "fp32", family: str = "sapiens") -> None:
        self.precision, self._autocast = choose_precision(requested, weights, self.device, self.path.name, family)
        self.provider = self._describe("bf16 autocast" if self._autocast else self.precision)

    def _run(self, chunk: np.ndarray) -> torch.Tensor:
        if self._module is None:
            raise BackendError(f"{self.path.name} was closed")
        x = chunk if isinstance(chunk, torch.Tensor) else torch.from_numpy(chunk)
        x = x.to(self.device, dtype=self._input_dtype, non_blocking=True)  # asynchronous from pinned memory
        autocast = torch.autocast(self.device, dtype=torch.bfloat16) if self._autocast else contextlib.nullcontext()
        with torch.inference_mode(), autocast:
            return self._module(x)

    def close(self) -> None:
        self._module = None
        if self.device == "cuda":
            torch.cuda.empty_cache()
