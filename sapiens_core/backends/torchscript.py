"""TorchScript archives (the official ``*_torchscript.pt2``, traced fp32 at 1x3x1024x768, batch dynamic)."""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import CheckpointError
from .base import TorchBackend, default_max_batch, file_named, register_backend
from .device import resolve_device


@register_backend
class TorchScriptBackend(TorchBackend):
    format = "torchscript"

    def __init__(
        self, path: str | Path, task: str | None = None, device: str = "auto", precision: str = "auto"
    ) -> None:
        super().__init__(path, task, resolve_device(device))
        try:
            module = torch.jit.load(str(self.path), map_location=self.device)
        except Exception as error:
            text = file_named(str(error), self.path).strip().splitlines()
            raise CheckpointError(
                f"{self.path.name} could not be loaded as TorchScript "
                f"({text[0][:160] if text else type(error).__name__})"
            ) from None
        self._module = module.eval()
        # fp32 weights, run at fp32 as the official demos do; --precision bf16 autocasts them for speed.
        self._set_precision(precision)
        self.max_batch = default_max_batch(task, self.device)
