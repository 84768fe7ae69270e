"""Model runtimes behind one interface: ``open_backend(path, task, device)`` picks one by the file's content.

Formats register themselves in ``BACKENDS`` (format name -> class) when their module is imported below.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import BackendError
from ..nn.sapiens2_config import TASK_HEADS as SAPIENS2_TASKS
from ..task_specs import task_spec
from . import exported, onnx, safetensors_backend, state_dict, torchscript  # noqa: F401 - importing registers them
from .base import BACKENDS, Backend, TorchBackend, register_backend
from .device import resolve_device
from .formats import FORMAT_NAMES, detect_format
from .native import NativeBackend

__all__ = [
    "Backend",
    "TorchBackend",
    "NativeBackend",
    "BACKENDS",
    "register_backend",
    "open_backend",
    "detect_format",
    "resolve_device",
    "FORMAT_NAMES",
]


def open_backend(
    path: str | Path,
    task: str | None = None,
    device: str = "auto",
    precision: str = "auto",
    fast: bool = False,
    compile: bool = False,
) -> Backend:
    """Detect the format, then construct its backend; CheckpointError / BackendError carry one-line reasons.

    ``task`` is required knowledge for TorchScript/ExportedProgram/ONNX (the files do not say) and checked
    against the weights for ``.pth`` files. ``precision``: ``auto`` (the dtype the official scripts use for
    this file), ``fp32`` or ``bf16`` (see :mod:`.precision`). ``fast``: the file's weights in our own model
    (:mod:`.native`; SDPA attention, bf16 weights under bf16), ``compile`` adding ``torch.compile`` to it; the
    original file's own graph runs otherwise, the default until ``models check-fast`` shows them equal.
    """
    if task is not None and task not in SAPIENS2_TASKS:  # pointmap exists only in Sapiens2
        task_spec(task)  # ValueError for an unknown task name before any heavy loading
    if compile and not fast:
        raise BackendError("torch.compile applies to the fast path only; add --fast (open_backend(..., fast=True))")
    if fast:
        return NativeBackend(path, task=task, device=device, precision=precision, compile=compile)
    fmt = detect_format(path)
    cls = BACKENDS[fmt]
    if issubclass(cls, TorchBackend):  # ONNX files run in the dtype they were exported in
        return cls(path, task=task, device=device, precision=precision)
    return cls(path, task=task, device=device)
