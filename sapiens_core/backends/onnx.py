"""ONNX models (community exports, or our own) run by ONNX Runtime; imported lazily so the core works without it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..cuda_driver import nvidia_driver_loadable
from ..errors import BackendError, CheckpointError
from .base import Backend, default_max_batch, file_named, register_backend
from .device import normalize_device

CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"
_NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64}


def _cuda_problem(available: list[str]) -> str:
    if CUDA_PROVIDER not in available:
        return "this onnxruntime build has no CUDA provider (install onnxruntime-gpu instead of onnxruntime)"
    if not nvidia_driver_loadable():
        return "no NVIDIA driver or GPU was found"
    return "the CUDA provider failed to start (CUDA 12 / cuDNN 9 libraries missing or not matching onnxruntime-gpu)"


def _static(dim: Any) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None


@register_backend
class OnnxBackend(Backend):
    format = "onnx"

    def __init__(self, path: str | Path, task: str | None = None, device: str = "auto") -> None:
        super().__init__(path, task)
        try:
            import onnxruntime as ort
        except ImportError:
            raise BackendError("onnxruntime is not installed, so ONNX models cannot run") from None
        ort.set_default_logger_severity(4)  # fatal only: provider fallbacks otherwise print pages of C++ log
        wanted = normalize_device(device)
        available = list(ort.get_available_providers())
        if wanted == "cuda" and CUDA_PROVIDER not in available:
            raise BackendError(
                f"cannot run {self.path.name} on CUDA: {_cuda_problem(available)}; choose the CPU instead"
            )
        providers = [CPU_PROVIDER]
        if wanted != "cpu" and CUDA_PROVIDER in available:
            providers.insert(0, CUDA_PROVIDER)
        options = ort.SessionOptions()
        options.log_severity_level = 4
        try:
            self._session = ort.InferenceSession(str(self.path), sess_options=options, providers=providers)
        except Exception as error:
            text = file_named(str(error), self.path).strip().splitlines()
            raise CheckpointError(
                f"{self.path.name} could not be opened by ONNX Runtime "
                f"({text[0][:160] if text else type(error).__name__})"
            ) from None
        active = self._session.get_providers()[0]
        if wanted == "cuda" and active != CUDA_PROVIDER:
            self._session = None
            raise BackendError(
                f"cannot run {self.path.name} on CUDA: {_cuda_problem(available)}; choose the CPU instead"
            )
        self.device = "cuda" if active == CUDA_PROVIDER else "cpu"
        self.provider = f"onnxruntime {active}"
        self._read_signature()

    def _read_signature(self) -> None:
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise CheckpointError(
                f"{self.path.name} is not an image model: expected one (B, 3, H, W) input, found "
                + ", ".join(f"{i.name}{list(i.shape)}" for i in inputs)
            )
        if len(outputs[0].shape) != 4:
            raise CheckpointError(f"{self.path.name} has a rank-{len(outputs[0].shape)} output; expected (B, C, h, w)")
        first = inputs[0]
        self._input_name = first.name
        if first.type not in _NUMPY_TYPES:
            raise CheckpointError(f"{self.path.name} takes {first.type} input, which this app cannot feed")
        self._input_dtype = _NUMPY_TYPES[first.type]
        height, width = _static(first.shape[2]), _static(first.shape[3])
        if height and width:
            self.input_size = (height, width)
        self.output_channels = _static(outputs[0].shape[1])
        fixed_batch = _static(first.shape[0])
        self.max_batch = fixed_batch or default_max_batch(self.task, self.device)
        self.min_batch = fixed_batch or 1  # a batch-1-only export still serves batches, one padded chunk at a time

    def _run(self, chunk: np.ndarray) -> np.ndarray:
        if self._session is None:
            raise BackendError(f"{self.path.name} was closed")
        return self._session.run(None, {self._input_name: chunk.astype(self._input_dtype, copy=False)})[0]

    def close(self) -> None:
        self._session = None
