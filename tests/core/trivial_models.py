"""Models with the official I/O contract and a trivial body, for tests of the batch machinery (not of networks).

TorchScript files: 1024x768 in; 17 heatmaps at 256x192 for pose, 28 class logits at 512x384 for seg; a pool and
a 1x1 conv in between, so a forward costs milliseconds and a test's time goes to what it checks.
"""

from __future__ import annotations

from pathlib import Path

import torch


class _Trivial(torch.nn.Module):
    def __init__(self, channels: int, pool: int) -> None:
        super().__init__()
        self.pool = pool
        self.proj = torch.nn.Conv2d(3, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(torch.nn.functional.avg_pool2d(x, self.pool))


def save_trivial_models(folder: Path) -> dict[str, Path]:
    """``{"pose": path, "seg": path}`` of two TorchScript files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    files = {}
    for task, channels, pool in (("pose", 17, 4), ("seg", 28, 2)):
        files[task] = folder / f"trivial_{task}_torchscript.pt2"
        torch.jit.save(torch.jit.script(_Trivial(channels, pool).eval()), str(files[task]))
    return files
