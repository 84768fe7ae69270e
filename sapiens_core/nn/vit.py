"""The Sapiens backbone: a plain ViT laid out like mmpretrain's VisionTransformer (spec §5.1, §5.2).

Module names mirror the original so a finetuned ``state_dict`` loads strictly without renaming.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .arch import PATCH_SIZE, POS_GRID, ArchSpec

LN_EPS = 1e-6


def resize_pos_embed(pos_embed: torch.Tensor, src_grid: tuple[int, int], dst_grid: tuple[int, int]) -> torch.Tensor:
    """Bicubic-resize a (1, h*w, D) token table to another grid, as mmpretrain does (align_corners False)."""
    if tuple(src_grid) == tuple(dst_grid):
        return pos_embed
    dim = pos_embed.shape[-1]
    grid = pos_embed.reshape(1, src_grid[0], src_grid[1], dim).permute(0, 3, 1, 2)
    # Bicubic in fp32: the half-precision kernels are missing on some devices and lose accuracy.
    grid = F.interpolate(grid.float(), size=dst_grid, mode="bicubic", align_corners=False).to(pos_embed.dtype)
    return grid.permute(0, 2, 3, 1).reshape(1, dst_grid[0] * dst_grid[1], dim)


class PatchEmbed(nn.Module):
    def __init__(self, embed_dim: int, padding: int) -> None:
        super().__init__()
        self.projection = nn.Conv2d(3, embed_dim, kernel_size=PATCH_SIZE, stride=PATCH_SIZE, padding=padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(x)


class Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        # timm-style packing: the 3D output is (q | k | v), each split into heads.
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # default scale = head_dim ** -0.5
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class FFN(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        # Nested the way mmcv's FFN is, so the keys read layers.0.0 (fc1) and layers.1 (fc2).
        self.layers = nn.Sequential(nn.Sequential(nn.Linear(dim, hidden), nn.GELU()), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class TransformerLayer(nn.Module):
    def __init__(self, dim: int, num_heads: int, hidden: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim, eps=LN_EPS)
        self.attn = Attention(dim, num_heads)
        self.ln2 = nn.LayerNorm(dim, eps=LN_EPS)
        self.ffn = FFN(dim, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.ffn(self.ln2(x))


class SapiensViT(nn.Module):
    """(B, 3, H, W) -> (B, D, H', W') feature map; 1024x768 gives the 64x48 grid with either padding."""

    def __init__(self, arch: ArchSpec, patch_padding: int = 0, pos_grid: tuple[int, int] = POS_GRID) -> None:
        super().__init__()
        self.arch = arch
        self.pos_grid = tuple(pos_grid)
        d = arch.embed_dim
        self.patch_embed = PatchEmbed(d, patch_padding)
        self.pos_embed = nn.Parameter(torch.zeros(1, pos_grid[0] * pos_grid[1], d))
        self.layers = nn.ModuleList(
            TransformerLayer(d, arch.num_heads, arch.mlp_hidden) for _ in range(arch.num_layers)
        )
        self.ln1 = nn.LayerNorm(d, eps=LN_EPS)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)  # mmpretrain's init; real weights overwrite it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        b, d, h, w = x.shape
        x = x.flatten(2).transpose(1, 2)
        # Traced/exported graphs freeze this branch at their example size, as the official exports do.
        x = x + resize_pos_embed(self.pos_embed, self.pos_grid, (h, w))
        for layer in self.layers:
            x = layer(x)
        x = self.ln1(x)
        return x.transpose(1, 2).reshape(b, d, h, w)
