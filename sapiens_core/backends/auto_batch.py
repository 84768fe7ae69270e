"""``--batch-size auto``: as many images per forward pass as the free device memory holds, with room to spare.

The choice is a pure function of the free bytes, the model's facts (:mod:`.memory_trace`: weights and activation
elements per image) and the precision that runs, so it is tested without a GPU; :func:`cuda_free_bytes` is the thin
query. The models are loaded before the query, so the free bytes already exclude their weights. A margin (a fifth of
what is free, and 1 GiB for the CUDA context, cuBLAS and cuDNN workspaces and the allocator's fragmentation) covers
what the trace does not see; should it still not fit, ``Backend.infer`` halves the batch on out-of-memory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import torch

from .base import Backend
from .memory_trace import ModelFacts, facts_for_module

__all__ = [
    "auto_batch_size",
    "bytes_per_element",
    "choose_batch_size",
    "cuda_free_bytes",
    "facts_for_backend",
    "plan_batch_size",
]

log = logging.getLogger(__name__)
MARGIN = 0.8  # of the free bytes
RESERVE = 1 << 30  # bytes kept back whatever is free
GiB, MiB = float(1 << 30), float(1 << 20)
# For a runtime whose model cannot be traced (ONNX): the largest official v1 model's need, a 1024x768 depth head.
UNKNOWN_FACTS = ModelFacts(parameters=2_200_000_000, per_image=912_000_000)


def bytes_per_element(precision: str, autocast: bool = False) -> int:
    """bf16 weights run bf16 activations (2 bytes); autocast keeps norms and softmax in fp32, so count 4."""
    return 2 if precision in ("bf16", "fp16") and not autocast else 4


def auto_batch_size(
    free_bytes: int, facts: ModelFacts, precision: str, max_batch: int, autocast: bool = False, loaded: bool = True
) -> int:
    """Images per forward pass for ``free_bytes`` of device memory, from 1 up to ``max_batch``.

    ``loaded``: the weights are on the device already (the free bytes exclude them); else they are subtracted.
    """
    size = bytes_per_element(precision, autocast)
    usable = free_bytes * MARGIN - RESERVE - facts.fixed * size - (0 if loaded else facts.parameters * size)
    return max(1, min(int(max_batch), int(usable // max(1, facts.per_image * size))))


def cuda_free_bytes() -> int:
    """Free bytes on the current CUDA device, the caching allocator's reserve-but-unused included."""
    free, _total = torch.cuda.mem_get_info()
    return int(free + torch.cuda.memory_reserved() - torch.cuda.memory_allocated())


def facts_for_backend(backend: Backend) -> ModelFacts | None:
    """The model's facts: traced from our own module, or from one rebuilt by the shapes of a graph's weights
    (TorchScript, ExportedProgram); None for a runtime without torch weights (ONNX)."""
    model = getattr(backend, "model", None)
    try:
        if model is None:
            module = getattr(backend, "_module", None)
            if not isinstance(module, torch.nn.Module):
                return None
            from ..nn.family import model_for_state_dict  # a graph's own modules do not run on the meta device

            shapes = {k: torch.empty_like(v, device="meta") for k, v in module.state_dict().items()}
            model = model_for_state_dict(shapes, task=backend.task, source=backend.path.name)
        return facts_for_module(model, backend.input_size)
    except Exception as error:  # a model we cannot trace gets the conservative default, not a failed run
        log.info("%s: no memory trace (%s); assuming the largest official model", backend.path.name, error)
        return None


def plan_batch_size(backends: list[Backend], free_bytes: int) -> tuple[int, str]:
    """(batch size, the line that says why) for models run one after another with ``free_bytes`` left on the
    device: the smallest batch any of them affords (their activations do not coexist, their weights do)."""
    sizes, needs = [], []
    for backend in backends:
        facts = facts_for_backend(backend) or UNKNOWN_FACTS
        autocast = bool(getattr(backend, "_autocast", False))
        precision = getattr(backend, "precision", "fp32")
        sizes.append(auto_batch_size(free_bytes, facts, precision, backend.max_batch, autocast))
        needs.append(facts.per_image * bytes_per_element(precision, autocast))
    size = min(sizes)
    return size, f"batch size auto: {size} (free {free_bytes / GiB:.1f} GiB, ~{max(needs) / MiB:.0f} MiB per image)"


def choose_batch_size(backends: Iterable[Backend]) -> tuple[int, str]:
    """``--batch-size auto`` for the loaded models: from the free CUDA memory, or the CPU default on a CPU."""
    backends = [b for b in backends if hasattr(b, "max_batch")]  # the quick model batches nothing
    if not backends:
        return 1, "batch size auto: 1 (no model batches images)"
    if all(b.device != "cuda" for b in backends):
        cap = min(b.max_batch for b in backends)
        return cap, f"batch size auto: {cap} (CPU default)"
    return plan_batch_size(backends, cuda_free_bytes())
