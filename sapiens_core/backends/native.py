"""The fast path: the weights of any official file run in our own architecture (``sapiens_core.nn``).

Our model computes attention with ``F.scaled_dot_product_attention`` (flash or memory-efficient kernels on CUDA),
can hold its weights in bf16 outright instead of autocasting every op, and can go through ``torch.compile``; a
traced TorchScript graph or an ExportedProgram can do none of that. The weights come from the file itself
(:mod:`.native_weights`), loaded strictly, so a key that does not fit is named rather than silently left random.

Why this is opt-in (``open_backend(..., fast=True)``, ``predict --fast``) although the tiny traced, exported and
``.pth`` files of the tests agree to ~1e-6 at fp32 on the CPU: parity there is proven on graphs we traced from our
own modules, not on every released file, whose graphs were traced from mmpose/mmseg code we cannot run here. The
original file stays the reference; ``models check-fast FILE`` compares the two on the user's own file and device.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from ..nn.arch import ArchSpec
from ..nn.family import family_of_keys, model_for_state_dict
from ..nn.model import model_from_state_dict
from .base import TorchBackend, default_max_batch
from .device import resolve_device
from .native_weights import NativeWeights, read_weights

__all__ = ["NativeBackend", "weights_dtype"]

log = logging.getLogger(__name__)
_DTYPE_NAMES = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}


def weights_dtype(state_dict: dict[str, torch.Tensor]) -> str:
    """The dtype most of the file's floating-point weights are stored in (an official bf16 file: "bf16"); by
    count of values, since a few small tensors may differ (the Sapiens2 releases keep ``rope_embed.periods`` bf16)."""
    counts: dict[torch.dtype, int] = {}
    for tensor in state_dict.values():
        if tensor.is_floating_point():
            counts[tensor.dtype] = counts.get(tensor.dtype, 0) + tensor.numel()
    most = max(counts, key=counts.__getitem__) if counts else torch.float32
    return _DTYPE_NAMES.get(most, str(most))


def _build(weights: NativeWeights, task: str | None, source: str) -> torch.nn.Module:
    """Our model for the weights, strictly loaded; a v1 graph's head count goes in as the arch hint."""
    state_dict = weights.state_dict
    if weights.num_heads and family_of_keys(state_dict) == "sapiens":
        try:
            embed_dim = int(state_dict["backbone.patch_embed.projection.weight"].shape[0])
            hint = ArchSpec("from-graph", embed_dim, 1, weights.num_heads)
        except (KeyError, ValueError):
            hint = None  # not a v1 backbone after all: the strict load below says what is wrong
        if hint is not None:
            return model_from_state_dict(
                state_dict, task=task, arch=hint, source=source, patch_padding=weights.patch_padding
            )
    return model_for_state_dict(state_dict, task=task, source=source, patch_padding=weights.patch_padding)


class NativeBackend(TorchBackend):
    """Any TorchScript, ExportedProgram, ``.pth`` or ``.safetensors`` file, run by our own model definition.

    ``format`` stays the file's format (provenance names the file that was read); the provider says ``fast``.
    Precision: as :func:`.precision.choose_precision` decides, except that bf16 means bf16 weights and activations
    (as the official bf16 files run), not fp32 weights under autocast.
    """

    def __init__(
        self,
        path: str | Path,
        task: str | None = None,
        device: str = "auto",
        precision: str = "auto",
        compile: bool = False,
    ) -> None:
        super().__init__(path, task, resolve_device(device))
        weights = read_weights(self.path)
        self.format = weights.format
        self.compiled = bool(compile)
        if weights.dropped:
            log.info("%s: left out wrapper keys %s", self.path.name, ", ".join(weights.dropped))
        # As the original path: a graph runs in the dtype it stores; .pth and .safetensors weights are upcast to fp32.
        stored = weights_dtype(weights.state_dict) if weights.format in ("torchscript", "exported") else "fp32"
        model = _build(weights, task, self.path.name)
        self.family = getattr(model, "family", "sapiens")
        self.task = model.task
        self.output_channels = model.num_outputs
        self._set_precision(precision, stored, self.family)
        if self.precision == "bf16":
            # Weights cast once: the matmuls and attention run in bf16 without autocast's per-op casts.
            model = model.to(torch.bfloat16)
            self._input_dtype, self._autocast = torch.bfloat16, False
            self.provider = self._describe(self.precision)
        self.model = model.to(self.device)
        self._module = torch.compile(self.model) if self.compiled else self.model
        self.max_batch = default_max_batch(self.task, self.device)

    def _describe(self, precision: str) -> str:
        return f"torch {self.device} {precision} fast{' compiled' if self.compiled else ''}"

    def close(self) -> None:
        self.model = None
        super().close()
