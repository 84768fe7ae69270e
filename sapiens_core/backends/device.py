"""Where a model runs: "auto" picks CUDA when usable; asking for CUDA that cannot work fails with the reason."""

from __future__ import annotations

import torch

from ..cuda_driver import nvidia_driver_loadable
from ..errors import BackendError

DEVICES = ("auto", "cpu", "cuda")


def torch_cuda_problem() -> str | None:
    """None when torch can use a GPU, else one sentence saying why not."""
    if torch.version.cuda is None and getattr(torch.version, "hip", None) is None:
        return f"this PyTorch build has no CUDA support (torch {torch.__version__}); install a CUDA build of torch"
    try:
        if torch.cuda.is_available():
            return None
        count = torch.cuda.device_count()
    except Exception as error:  # driver/runtime mismatch surfaces here
        return f"CUDA could not be initialised: {str(error).splitlines()[0] if str(error) else type(error).__name__}"
    if count == 0:
        driver = "" if nvidia_driver_loadable() else "; the NVIDIA driver is not installed or not loadable"
        return f"PyTorch is built for CUDA {torch.version.cuda} but sees no GPU (check CUDA_VISIBLE_DEVICES{driver})"
    return "CUDA is not usable (torch.cuda.is_available() is False)"


def normalize_device(device: str) -> str:
    value = str(device).strip().lower()
    if value.startswith("cuda:"):
        value = "cuda"  # the backends use the current CUDA device; an index adds nothing here
    if value not in DEVICES:
        raise BackendError(f"unknown device {device!r}; use one of {', '.join(DEVICES)}")
    return value


def resolve_device(device: str) -> str:
    """ "auto" -> "cuda" if torch can use it, else "cpu"; "cuda" when unusable -> BackendError with the reason."""
    value = normalize_device(device)
    if value == "cpu":
        return "cpu"
    problem = torch_cuda_problem()
    if value == "auto":
        return "cpu" if problem else "cuda"
    if problem:
        raise BackendError(f"cannot run on CUDA: {problem}; choose the CPU instead")
    return "cuda"
