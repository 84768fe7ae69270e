"""Tiny Sapiens2 models with the official key layout (spec §2.2) and its rules at toy scale, for tests.

Three blocks so that both attention kinds occur: full MHSA in the first and last, grouped-query attention (4 heads
sharing 2 KV heads) in the middle, as the real sizes do with their first and last 8 layers. Head dim 16 keeps
RoPE's 4 frequencies per axis. The 8 storage tokens are the official count.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors.torch import save_file

from sapiens_core.nn.sapiens2_config import Sapiens2Arch, Sapiens2HeadLayout
from sapiens_core.nn.sapiens2_model import Sapiens2Model, build_sapiens2

TINY_ARCH = Sapiens2Arch(
    "tiny", embed_dim=64, num_layers=3, num_heads=4, kv_heads=2, mhsa_layers=frozenset({0, 2}), ffn_hidden=128
)
TINY_LAYOUTS = {
    "pose": Sapiens2HeadLayout((32, 16), (16, 16, 16)),
    "seg": Sapiens2HeadLayout((32, 16, 16, 8), (8, 8)),
    "normal": Sapiens2HeadLayout((32, 16, 8, 8), (8, 8, 8)),
    "pointmap": Sapiens2HeadLayout((32, 16, 8, 8), (8, 8, 8), (32, 16, 4), (16, 8, 1)),
    "matting": Sapiens2HeadLayout((32, 16, 8, 8), (8, 8, 8)),
}


def build_tiny_sapiens2(
    task: str, seed: int = 0, input_size: tuple[int, int] = (1024, 768), num_outputs: int | None = None
) -> Sapiens2Model:
    """Random weights, with the LayerScale and norm weights moved off their init so every parameter matters."""
    torch.manual_seed(seed)
    model = build_sapiens2(task, TINY_ARCH, TINY_LAYOUTS[task], num_outputs=num_outputs, input_size=input_size)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith(("gamma.weight", "norm.weight", "ln1.weight", "ln2.weight")):
                param.copy_(0.5 + torch.rand_like(param))
    return model.eval()


def save_safetensors(model: torch.nn.Module, path: str | os.PathLike, dtype: torch.dtype | None = None) -> Path:
    """As the releases are: a flat state dict; ``rope_embed.periods`` stays bf16 whatever ``dtype`` says."""
    state = {}
    for key, value in model.state_dict().items():
        if dtype is not None and value.is_floating_point() and not key.endswith("periods"):
            value = value.to(dtype)
        state[key] = value.contiguous()
    save_file(state, str(path))
    return Path(path)
