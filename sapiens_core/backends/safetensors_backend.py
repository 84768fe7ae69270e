"""Safetensors state dicts (the Sapiens2 releases, or any v1/v2 state dict saved that way): the model is rebuilt
from our own definition (sapiens_core.nn) for the family its keys name, the weights are loaded without any code."""

from __future__ import annotations

from pathlib import Path

from ..io.safetensors_files import load_safetensors
from ..nn.family import model_for_state_dict
from .base import TorchBackend, default_max_batch, register_backend
from .device import resolve_device


@register_backend
class SafetensorsBackend(TorchBackend):
    format = "safetensors"

    def __init__(
        self, path: str | Path, task: str | None = None, device: str = "auto", precision: str = "auto"
    ) -> None:
        super().__init__(path, task, resolve_device(device))
        model = model_for_state_dict(load_safetensors(self.path), task=task, source=self.path.name)
        self.family = getattr(model, "family", "sapiens")
        self.model = model.to(self.device)
        self._module = self.model
        self.task = model.task
        self.output_channels = model.num_outputs
        # bf16 on CUDA is the documented default for Sapiens2 (trained in bf16); fp32 on the CPU.
        self._set_precision(precision, "fp32", self.family)
        self.max_batch = default_max_batch(self.task, self.device)

    def close(self) -> None:
        self.model = None
        super().close()
