"""Which dtype a model file runs in: the one the official scripts run it in, unless the user opts in to bf16.

Faithful by default (``auto``): the official lite demos run TorchScript at fp32 ("no precision conversion needed
for torchscript, run at fp32") and the bf16 ExportedPrograms in bf16, and the original ``.pth`` files are fp32
weights evaluated in fp32; Sapiens2 documents bf16 on CUDA as its default (trained in bf16) and runs fp32 on the
CPU. ``bf16`` autocasts fp32 weights to bf16 (~2x faster on a GPU, results differ within bf16 tolerance);
``fp32`` refuses a file whose weights are bf16, since casting them up cannot restore what was rounded away.
"""

from __future__ import annotations

from ..errors import BackendError

__all__ = ["PRECISIONS", "choose_precision"]

PRECISIONS = ("auto", "fp32", "bf16")


def choose_precision(requested: str, weights: str, device: str, name: str, family: str = "sapiens") -> tuple[str, bool]:
    """(the precision that runs, whether fp32 weights are autocast to bf16) for a file with ``weights`` dtype."""
    value = str(requested or "auto").strip().lower()
    if value not in PRECISIONS:
        raise BackendError(f"unknown precision {requested!r}; use one of {', '.join(PRECISIONS)}")
    if weights != "fp32":  # bf16 (or fp16) weights run as they are
        if value == "fp32":
            raise BackendError(
                f"{name} holds {weights} weights; --precision fp32 needs the TorchScript or .pth file of this model"
            )
        return weights, False
    if value == "bf16" or (value == "auto" and family == "sapiens2" and device == "cuda"):
        return "bf16", True
    return "fp32", False
