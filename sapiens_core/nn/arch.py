"""The four Sapiens ViT sizes (spec §5.1) and how to recognise one from a state dict's shapes.

CheckpointError messages here are predicates ("has ...") so callers can put the file name in front.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import CheckpointError

PATCH_SIZE = 16
# Token grid of the learned pos_embed of every task model (1024x768 input / patch 16).
POS_GRID = (64, 48)


@dataclass(frozen=True)
class ArchSpec:
    name: str
    embed_dim: int
    num_layers: int
    num_heads: int
    mlp_ratio: int = 4
    # Head widths are the official ones divided by this (1 for the real sizes; small test/demo models shrink them).
    head_divisor: int = 1

    def __post_init__(self) -> None:
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed dim {self.embed_dim} is not divisible by {self.num_heads} heads")

    @property
    def head_dim(self) -> int:
        return self.embed_dim // self.num_heads

    @property
    def mlp_hidden(self) -> int:
        return self.embed_dim * self.mlp_ratio


ARCHS: dict[str, ArchSpec] = {
    "0.3b": ArchSpec("0.3b", embed_dim=1024, num_layers=24, num_heads=16),
    "0.6b": ArchSpec("0.6b", embed_dim=1280, num_layers=32, num_heads=16),
    "1b": ArchSpec("1b", embed_dim=1536, num_layers=40, num_heads=24),
    # head dim 60 (not a multiple of 8): some fused attention kernels do not apply to the 2B model.
    "2b": ArchSpec("2b", embed_dim=1920, num_layers=48, num_heads=32),
}
ARCH_NAMES = tuple(ARCHS)
# Not a released size: the official key layout at toy scale, for tests and CPU demos of the trainer. Kept out of
# ARCHS so shape-based recognition of real checkpoints never considers it. One 64-dim attention head, so its
# state dict alone (mmpretrain's 64-dim-head convention) rebuilds it exactly.
SMALL_ARCHS: dict[str, ArchSpec] = {
    "tiny": ArchSpec("tiny", embed_dim=64, num_layers=2, num_heads=1, head_divisor=24),
}


def get_arch(arch: str | ArchSpec) -> ArchSpec:
    """Accept an ArchSpec, "0.3b", "sapiens_0.3b", "0.3B" or "sapiens_tiny"."""
    if isinstance(arch, ArchSpec):
        return arch
    key = str(arch).lower().removeprefix("sapiens_").removeprefix("sapiens-")
    try:
        return ARCHS[key] if key in ARCHS else SMALL_ARCHS[key]
    except KeyError:
        known = ", ".join([*ARCHS, *SMALL_ARCHS])
        raise ValueError(f"unknown Sapiens arch {arch!r}; expected one of {known}") from None


def heads_for_embed_dim(embed_dim: int, hint: str | ArchSpec | None = None) -> int:
    """The head count is not visible in the packed qkv weight, so it comes from the table (or a hint)."""
    if hint is not None:
        spec = get_arch(hint)
        if spec.embed_dim != embed_dim:
            raise CheckpointError(f"has embed dim {embed_dim} but the arch hint {spec.name} has {spec.embed_dim}")
        return spec.num_heads
    for spec in ARCHS.values():
        if spec.embed_dim == embed_dim:
            return spec.num_heads
    if embed_dim % 64 == 0:
        return embed_dim // 64  # mmpretrain's custom-arch convention: 64-dim heads
    raise CheckpointError(f"has embed dim {embed_dim}, whose attention head count is unknown; give an arch hint")


def grid_for_tokens(num_tokens: int) -> tuple[int, int]:
    """Recover the (h, w) token grid of a pos_embed: 3072 -> 64x48; otherwise assume the 4:3 portrait aspect
    or square."""
    if num_tokens == POS_GRID[0] * POS_GRID[1]:
        return POS_GRID
    for ratio in (4 / 3, 1.0):
        w = round(math.sqrt(num_tokens / ratio))
        h = round(w * ratio)
        if h * w == num_tokens:
            return h, w
    raise CheckpointError(f"has a pos_embed of {num_tokens} tokens, which is no 4:3 or square grid")


_LAYER_RE = re.compile(r"layers\.(\d+)\.ln1\.weight$")


def arch_from_state_dict(
    state_dict: Mapping[str, object], prefix: str = "backbone.", hint: str | ArchSpec | None = None
) -> ArchSpec:
    """Read embed dim and depth from the weight shapes; name it after the table entry when it matches one."""
    patch_key = f"{prefix}patch_embed.projection.weight"
    if patch_key not in state_dict:
        raise CheckpointError(f"has no '{patch_key}' weight, so no Sapiens ViT backbone")
    embed_dim = int(state_dict[patch_key].shape[0])  # type: ignore[attr-defined]
    indices = {
        int(m.group(1))
        for key in state_dict
        if key.startswith(prefix)
        and (m := _LAYER_RE.search(key[len(prefix) :]))
        and key[len(prefix) :].startswith("layers.")
    }
    if not indices:
        raise CheckpointError("has a backbone without transformer layers")
    num_layers = max(indices) + 1
    if sorted(indices) != list(range(num_layers)):
        raise CheckpointError(f"has non-contiguous backbone layer indices {sorted(indices)}")
    num_heads = heads_for_embed_dim(embed_dim, hint)
    for spec in (*ARCHS.values(), *SMALL_ARCHS.values()):
        if (spec.embed_dim, spec.num_layers, spec.num_heads) == (embed_dim, num_layers, num_heads):
            return spec
    return ArchSpec(f"custom-{embed_dim}x{num_layers}", embed_dim, num_layers, num_heads)
