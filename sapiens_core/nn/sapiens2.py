"""The Sapiens2 backbone (spec §1.2), with the module names of the original files so they load strictly.

Why our own and not HF transformers' Sapiens2 classes (ADR 0003): transformers 5.23 loads the original layout
only through its conversion mapping (renames, w12 split in two, ``periods`` dropped and recomputed), computes
RoPE in the activation dtype rather than the reference's bf16, and would add ~53 MB of package plus tokenizers,
regex and typer to the app and its bundle for about 200 lines of network. Here the original key names are the
module names, so ``load_state_dict(strict=True)`` is the whole mapping, and the numerics are the reference's:

* pre-norm blocks with RMSNorm (eps 1e-6); LayerScale (``attn.gamma``) on the attention branch only;
* separate q/k/v projections with bias, a per-head QK-RMSNorm *before* RoPE, grouped-query attention in the
  middle layers with KV head j serving query heads j*f .. j*f+f-1 (repeat-interleave);
* 2-D axial RoPE on the patch tokens only, its angles, sin and cos computed in bfloat16 from the stored
  ``rope_embed.periods``, and q and k (all tokens) rounded to bfloat16 for the rotation and cast back;
* SwiGLU: ``w12`` gives (gate | value), hidden = SiLU(gate) * value, ``w3`` back to C.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .sapiens2_config import NORM_EPS, PATCH_SIZE, ROPE_BASE, Sapiens2Arch

# The reference's default rope dtype ("bf16"); the numerics trap of spec §1.2. One line to change if that is wrong.
ROPE_DTYPE = torch.bfloat16


class PatchEmbed(nn.Module):
    def __init__(self, embed_dim: int) -> None:
        super().__init__()
        self.projection = nn.Conv2d(3, embed_dim, kernel_size=PATCH_SIZE, stride=PATCH_SIZE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(x)


class RopeEmbedding(nn.Module):
    """sin/cos of the 2-D axial RoPE for an h x w patch grid, (h*w, head_dim) each, in ROPE_DTYPE."""

    def __init__(self, head_dim: int, base: float = ROPE_BASE) -> None:
        super().__init__()
        n = head_dim // 4
        # Stored in the checkpoint (bf16); initialised as the reference does, in the same dtype, so an untrained
        # model matches too. Loaded values win.
        periods = base ** (2 * torch.arange(n, dtype=ROPE_DTYPE) / (head_dim // 2))
        self.register_buffer("periods", periods, persistent=True)

    def forward(self, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
        dd = {"device": self.periods.device, "dtype": ROPE_DTYPE}
        # Pixel-centre coordinates normalised per axis to [-1, 1], row-major over the grid.
        ys = torch.arange(0.5, h, **dd) / h
        xs = torch.arange(0.5, w, **dd) / w
        coords = torch.stack(torch.meshgrid(ys, xs, indexing="ij"), dim=-1).flatten(0, 1)
        coords = 2.0 * coords - 1.0
        # A model cast with .float() turns the buffer to fp32; the reference always computes in its rope dtype.
        periods = self.periods.to(ROPE_DTYPE)
        angles = 2 * math.pi * coords[:, :, None] / periods[None, None, :]  # (hw, 2, n): all y, then all x
        angles = angles.flatten(1, 2).tile(2)  # (hw, head_dim): rotate-half pairs j and j + head_dim/2
        return torch.sin(angles), torch.cos(angles)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    first, second = x.chunk(2, dim=-1)
    return torch.cat([-second, first], dim=-1)


def apply_rope(x: torch.Tensor, sin: torch.Tensor, cos: torch.Tensor) -> torch.Tensor:
    """Rotate the last ``sin.shape[0]`` tokens of (B, heads, N, D); the prefix tokens pass unrotated. All in the
    rope dtype, cast back at the end (the whole tensor, prefix included, goes through that rounding)."""
    dtype = x.dtype
    x = x.to(sin.dtype)
    prefix = x.shape[-2] - sin.shape[0]
    patches = x[:, :, prefix:]
    rotated = patches * cos + _rotate_half(patches) * sin
    return torch.cat([x[:, :, :prefix], rotated], dim=-2).to(dtype)


class LayerScale(nn.Module):
    def __init__(self, dim: int, init: float = 1e-4) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full((dim,), init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight


class Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int, kv_heads: int) -> None:
        super().__init__()
        self.num_heads, self.kv_heads = num_heads, kv_heads
        self.head_dim = dim // num_heads
        self.wq = nn.Linear(dim, dim)
        self.wk = nn.Linear(dim, kv_heads * self.head_dim)
        self.wv = nn.Linear(dim, kv_heads * self.head_dim)
        self.q_norm = nn.RMSNorm(self.head_dim, eps=NORM_EPS)
        self.k_norm = nn.RMSNorm(self.head_dim, eps=NORM_EPS)
        self.proj = nn.Linear(dim, dim)
        self.gamma = LayerScale(dim)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        b, n, d = x.shape
        q = self.wq(x).view(b, n, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.wk(x).view(b, n, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.wv(x).view(b, n, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = self.q_norm(q), self.k_norm(k)  # QK-norm before RoPE
        if self.kv_heads != self.num_heads:
            factor = self.num_heads // self.kv_heads
            k = k.repeat_interleave(factor, dim=1)
            v = v.repeat_interleave(factor, dim=1)
        sin, cos = rope
        q, k = apply_rope(q, sin, cos), apply_rope(k, sin, cos)
        out = F.scaled_dot_product_attention(q, k, v)  # default scale 1/sqrt(head_dim), no mask
        return self.gamma(self.proj(out.transpose(1, 2).reshape(b, n, d)))


class SwiGLU(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.w12 = nn.Linear(dim, 2 * hidden)
        self.w3 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, value = self.w12(x).chunk(2, dim=-1)
        return self.w3(F.silu(gate) * value)


class Block(nn.Module):
    def __init__(self, dim: int, num_heads: int, kv_heads: int, hidden: int) -> None:
        super().__init__()
        self.ln1 = nn.RMSNorm(dim, eps=NORM_EPS)
        self.attn = Attention(dim, num_heads, kv_heads)
        self.ln2 = nn.RMSNorm(dim, eps=NORM_EPS)
        self.ffn = SwiGLU(dim, hidden)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), rope)
        return x + self.ffn(self.ln2(x))  # no LayerScale on the MLP branch (no ffn.gamma2 in the files)


class Sapiens2Backbone(nn.Module):
    """(B, 3, H, W), H and W multiples of 16 -> (B, C, H/16, W/16) feature map of the patch tokens."""

    def __init__(self, arch: Sapiens2Arch) -> None:
        super().__init__()
        self.arch = arch
        d = arch.embed_dim
        self.patch_embed = PatchEmbed(d)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.storage_tokens = nn.Parameter(torch.zeros(1, arch.storage_tokens, d))
        self.rope_embed = RopeEmbedding(arch.head_dim)
        self.blocks = nn.ModuleList(
            Block(d, arch.num_heads, arch.kv_heads_of(i), arch.ffn_hidden) for i in range(arch.num_layers)
        )
        self.ln1 = nn.RMSNorm(d, eps=NORM_EPS)
        if not any(p.is_meta for p in self.parameters()):
            nn.init.trunc_normal_(self.cls_token, std=0.02)  # the reference's init; real weights overwrite it
            nn.init.trunc_normal_(self.storage_tokens, std=0.02)

    @property
    def num_prefix_tokens(self) -> int:
        return 1 + self.storage_tokens.shape[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        b, d, h, w = x.shape
        x = x.flatten(2).transpose(1, 2)  # patches row-major
        prefix = torch.cat([self.cls_token, self.storage_tokens], dim=1).expand(b, -1, -1)
        x = torch.cat([prefix, x], dim=1)
        rope = self.rope_embed(h, w)
        for block in self.blocks:
            x = block(x, rope)
        x = self.ln1(x)
        return x[:, self.num_prefix_tokens :].transpose(1, 2).reshape(b, d, h, w)
