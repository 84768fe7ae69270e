"""How much memory a model's forward needs per image, measured by running it on the ``meta`` device.

A meta tensor has a shape and a dtype but no data, so the real 0.3B-2B models run in milliseconds without a byte of
weights or activations. A dispatch mode sees every tensor each op creates and, through weak references, when the
last reference to its storage goes: the peak of the sum of live sizes is the eager forward's peak activation
memory. Scaled dot-product attention is one op to the dispatcher, so, as with the fused CUDA kernels (flash,
memory-efficient) and the CPU flash kernel, no N x N score matrix is counted. The peak at batch 2 minus the peak at
batch 1 is what each further image adds; the heads dominate it (a seg head holds 768 x 512 x 384 values per stage).

Counted in elements (each traced at fp32, 4 bytes), so :mod:`.auto_batch` can price them at the precision that runs.
"""

from __future__ import annotations

import copy
import itertools
import weakref
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from ..task_specs import INPUT_SIZE

__all__ = ["LiveTensors", "ModelFacts", "facts_for_module", "meta_copy"]


class LiveTensors(TorchDispatchMode):
    """Peak bytes of the tensors alive at once among those created inside the ``with`` block (any device).

    Tensors created before the block (weights, the input) are not counted. Views share their base's storage and
    are counted once; an in-place op's output is its input and adds nothing.
    """

    def __init__(self) -> None:
        super().__init__()
        self.now = 0
        self.peak = 0
        self._refs: dict[object, int] = {}
        self._sizes: dict[object, int] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {id(t) for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)}
        for tensor in tree_flatten(out)[0]:
            if isinstance(tensor, torch.Tensor) and id(tensor) not in inputs:
                self._track(tensor)
        return out

    def _key(self, tensor: torch.Tensor) -> object:
        if tensor.device.type != "meta":
            return tensor.untyped_storage().data_ptr()
        base = tensor._base  # meta storages all sit at address 0: a view is told by its base instead
        return ("meta", id(base if base is not None else tensor))

    def _track(self, tensor: torch.Tensor) -> None:
        key = self._key(tensor)
        if key in self._refs:
            self._refs[key] += 1
        else:
            size = tensor.untyped_storage().nbytes() if tensor.device.type != "meta" else 0
            self._refs[key], self._sizes[key] = 1, size or tensor.numel() * tensor.element_size()
            self.now += self._sizes[key]
            self.peak = max(self.peak, self.now)
        weakref.finalize(tensor, self._release, key)

    def _release(self, key: object) -> None:
        self._refs[key] -= 1
        if not self._refs[key]:
            del self._refs[key]
            self.now -= self._sizes.pop(key)


@dataclass(frozen=True)
class ModelFacts:
    """What :func:`.auto_batch.auto_batch_size` needs to know of a model, in elements (dtype-free)."""

    parameters: int  # weights and buffers
    per_image: int  # activation elements each image of a batch adds at the peak
    fixed: int = 0  # activation elements at the peak that do not grow with the batch


def meta_copy(model: nn.Module) -> nn.Module:
    """The module with every weight and buffer replaced by a meta tensor of its shape, in fp32; no data copied."""
    memo: dict[int, torch.Tensor] = {}
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        meta = torch.empty_like(tensor, device="meta", dtype=torch.float32 if tensor.is_floating_point() else None)
        memo[id(tensor)] = nn.Parameter(meta, requires_grad=False) if isinstance(tensor, nn.Parameter) else meta
    return copy.deepcopy(model, memo).eval()


def _peak(model: nn.Module, batch: int, size: tuple[int, int]) -> int:
    x = torch.empty(batch, 3, *size, device="meta")
    with torch.inference_mode(), LiveTensors() as live:
        model(x)
    return live.peak


def facts_for_module(model: nn.Module, size: tuple[int, int] = INPUT_SIZE) -> ModelFacts:
    """Trace a meta copy of ``model`` (any family) at batch 1 and 2 on a (3, *size) input."""
    meta = meta_copy(model)
    one, two = _peak(meta, 1, size), _peak(meta, 2, size)
    per_image = max(two - one, 1)
    parameters = sum(t.numel() for t in itertools.chain(meta.parameters(), meta.buffers()))
    return ModelFacts(parameters, per_image // 4, max(one - per_image, 0) // 4)
