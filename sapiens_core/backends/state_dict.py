"""Original ``.pth`` checkpoints: weights loaded safely, the model rebuilt from our own definition (sapiens_core.nn)
of the family its keys name (a Sapiens2 state dict saved with torch.save loads too)."""

from __future__ import annotations

from pathlib import Path

from ..io.checkpoints import load_checkpoint
from ..nn.family import model_for_state_dict
from ..nn.patch_padding import patch_padding_from_meta
from .base import TorchBackend, default_max_batch, register_backend
from .device import resolve_device


@register_backend
class StateDictBackend(TorchBackend):
    format = "pth"

    def __init__(
        self, path: str | Path, task: str | None = None, device: str = "auto", precision: str = "auto"
    ) -> None:
        super().__init__(path, task, resolve_device(device))
        state_dict, self.meta = load_checkpoint(self.path)
        # The patch padding is not in the weights; the training config in the file says it (CIHP/LIP seg: 2).
        padding = patch_padding_from_meta(self.meta)
        model = model_for_state_dict(state_dict, task=task, source=self.path.name, patch_padding=padding)
        self.family = getattr(model, "family", "sapiens")
        self.model = model.to(self.device)
        self._module = self.model
        self.task = model.task
        self.output_channels = model.num_outputs
        self._set_precision(precision, "fp32", self.family)  # fp32 weights: fp32 unless asked (v1), bf16 on CUDA (v2)
        self.max_batch = default_max_batch(self.task, self.device)

    def close(self) -> None:
        self.model = None
        super().close()
