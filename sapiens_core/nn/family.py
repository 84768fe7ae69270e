"""Which Sapiens family a state dict belongs to, told by its keys (never by the file name), and building its model.

v1 (spec §5): a ViT with ``pos_embed`` and fused ``layers.N.attn.qkv``. v2 (Sapiens2 spec §2.2): ``storage_tokens``,
``rope_embed.periods`` and separate ``blocks.N.attn.wq/wk/wv``. A file of either family, in any container
(``.pth``, ``.safetensors``), is built by the same call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn

FAMILIES = ("sapiens", "sapiens2")
_V2_MARKS = ("storage_tokens", "rope_embed.periods", ".attn.wq.weight")
_V1_MARKS = ("pos_embed", ".attn.qkv.weight")


def family_of_keys(keys: Iterable[str]) -> str | None:
    """ "sapiens2", "sapiens" or None (neither: not a Sapiens state dict)."""
    keys = list(keys)
    if any(k.endswith(mark) for k in keys for mark in _V2_MARKS):
        return "sapiens2"
    if any(k.endswith(mark) for k in keys for mark in _V1_MARKS):
        return "sapiens"
    return None


def model_for_state_dict(
    state_dict: Mapping[str, torch.Tensor],
    task: str | None = None,
    source: str = "the state dict",
    patch_padding: int | None = None,
) -> nn.Module:
    """The strictly loaded model of whichever family the keys say; eval mode, fp32. Its ``task`` attribute says
    which task it runs; Sapiens2 models also carry ``family = "sapiens2"``."""
    family = family_of_keys(state_dict)
    if family == "sapiens2":
        from .sapiens2_model import sapiens2_from_state_dict

        return sapiens2_from_state_dict(state_dict, task=task, source=source)
    from .model import model_from_state_dict  # v1 and anything else, exactly as before (its errors say what)

    return model_from_state_dict(state_dict, task=task, source=source, patch_padding=patch_padding)
