"""Whether a model card can run on this machine, and in words why not.

The model manager offers a model only where its weights fit: Sapiens2-5B needs about 10 GB of GPU memory in bf16
and about 20 GB of RAM in fp32 on a CPU, so a laptop would download 20 GB to fail at the first image. The figure is
an estimate from the card's file size (no file needs to exist yet): the weights in the dtype they run in (see
``backends.precision``: fp32 files autocast to bf16 keep their fp32 weights; Sapiens2 on CUDA runs bf16 weights),
plus a margin for the allocator and the per-image activations (one 1024x768 image: one layer's tokens and the
head's full-resolution maps, a few hundred MB at the largest size).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

log = logging.getLogger(__name__)

# Allocator fragmentation and the copies a load makes before the old buffers go: 20 % over the weights.
WEIGHT_MARGIN = 1.2
# One image's activations and the runtime itself (CUDA context ~0.5 GB, kernels, the head's output maps).
RUNTIME_HEADROOM = {"cuda": 1.5e9, "cpu": 1.5e9}
FILE_BYTES_PER_PARAM = {"float32": 4, "bfloat16": 2, "float16": 2}


@dataclass(frozen=True)
class MachineMemory:
    """What a model can use: the first GPU's total memory (None without CUDA) and the physical RAM."""

    gpu_bytes: int | None
    gpu_name: str
    ram_bytes: int | None

    @property
    def device(self) -> str:
        return "cuda" if self.gpu_bytes else "cpu"


@dataclass(frozen=True)
class Fit:
    ok: bool
    needed_bytes: float
    available_bytes: int | None
    reason: str  # empty when it fits


def _gb(count: float) -> str:
    return f"{count / 1e9:.1f} GB"


def file_dtype(card) -> str:
    info = getattr(card, "format_info", None)
    return getattr(info, "dtype", "float32")  # Sapiens2 and detector cards: float32 estimates


def run_bytes_per_param(card, device: str) -> int:
    """Bytes per parameter while the model runs: Sapiens2 runs bf16 weights on CUDA, everything else keeps the
    dtype of its file."""
    if getattr(card, "family", "sapiens") == "sapiens2" and device == "cuda":
        return 2
    return FILE_BYTES_PER_PARAM.get(file_dtype(card), 4)


def memory_needed(card, device: str) -> float:
    params = card.approx_bytes / FILE_BYTES_PER_PARAM.get(file_dtype(card), 4)
    weights = params * run_bytes_per_param(card, device)
    return weights * WEIGHT_MARGIN + RUNTIME_HEADROOM[device]


def card_fits(card, memory: MachineMemory) -> Fit:
    device = memory.device
    needed = memory_needed(card, device)
    available = memory.gpu_bytes if device == "cuda" else memory.ram_bytes
    if available is None or needed <= available:
        return Fit(True, needed, available, "")
    precision = "bf16" if run_bytes_per_param(card, device) == 2 else "fp32"
    if device == "cuda":
        where = f"of GPU memory in {precision}; {memory.gpu_name or 'the GPU'} has {_gb(available)}"
    else:
        where = f"of RAM to run on the CPU in {precision} (no CUDA GPU); this machine has {_gb(available)}"
    return Fit(False, needed, available, f"{card.id} needs about {_gb(needed)} {where}")


def physical_ram() -> int | None:
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):  # Windows has no sysconf
        return None


def machine_memory() -> MachineMemory:
    """The first CUDA device's total memory (the one a run uses by default) and the RAM."""
    gpu_bytes, gpu_name = None, ""
    try:
        import torch

        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(0)
            gpu_bytes, gpu_name = int(props.total_memory), str(props.name)
    except Exception as error:  # a broken driver reads as "no GPU", as everywhere else
        log.info("no CUDA memory figure: %s", error)
    return MachineMemory(gpu_bytes, gpu_name, physical_ram())
