"""Sapiens2 sizes and head widths as data: read from ``data/sapiens2_models.tsv`` (the spec's table, copied verbatim).

Torch-free, so model cards can list sizes without importing the network. A wrong number in the spec is a one-cell
change in the table; the rules that are not in the table (token counts, RoPE base, the seg head, the scale branch)
are constants here, each with its spec section.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

# Spec §1.2: 1 CLS + 8 storage (register) tokens before the patches; RoPE base 100; patch 16; RMSNorm eps 1e-6.
NUM_STORAGE_TOKENS = 8
ROPE_BASE = 100.0
PATCH_SIZE = 16
NORM_EPS = 1e-6
INPUT_SIZE = (1024, 768)  # (H, W) of every Sapiens2 task checkpoint (spec §3)
# Spec §4.1: the seg head is the same at every size; the pointmap scale branch is fixed too.
SEG_DECONV = (512, 256, 128, 64)
SEG_CONV = (64, 64)
SCALE_CONV = (1536, 512, 128)
SCALE_MLP = (512, 128, 1)
TASK_HEADS = ("pose", "seg", "normal", "pointmap")
# Matting (spec §4.7) is released at the sizes whose repository column says "+matting-<size>" (1B). Its head widths are
# UNVERIFIED: transformers 5.23.0 builds matting with the same head class as normal and maps the same original names,
# so the size's normal widths are assumed for a built-from-scratch model and the download estimate. Loading a file
# never uses this guess (widths come from its weights); a wrong guess is a change of this line.
MATTING_WIDTHS_LIKE = "normal"


@dataclass(frozen=True)
class Sapiens2Arch:
    """One backbone size. ``mhsa_layers``: layers with full multi-head attention; the others use ``kv_heads``."""

    name: str
    embed_dim: int
    num_layers: int
    num_heads: int
    kv_heads: int
    mhsa_layers: frozenset[int]
    ffn_hidden: int
    storage_tokens: int = NUM_STORAGE_TOKENS

    def __post_init__(self) -> None:
        if self.embed_dim % self.num_heads or (self.embed_dim // self.num_heads) % 4:
            raise ValueError(f"{self.name}: head dim must be an integer multiple of 4 (2-D RoPE)")
        if self.num_heads % self.kv_heads:
            raise ValueError(f"{self.name}: {self.kv_heads} KV heads do not divide {self.num_heads} heads")

    @property
    def head_dim(self) -> int:
        return self.embed_dim // self.num_heads

    def kv_heads_of(self, layer: int) -> int:
        return self.num_heads if layer in self.mhsa_layers else self.kv_heads


@dataclass(frozen=True)
class Sapiens2HeadLayout:
    """Widths of one task head. Pose/seg: (deconv, 1x1 conv); normal/pointmap: (pixel-shuffle upsample, 3x3 conv)."""

    upsample: tuple[int, ...]
    conv: tuple[int, ...]
    scale_conv: tuple[int, ...] = ()  # pointmap only
    scale_mlp: tuple[int, ...] = ()  # pointmap only; the last width is 1 (the scale)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(",") if v.strip())


def _layer_set(text: str) -> frozenset[int]:
    """'0-7,16-23' -> {0..7, 16..23}."""
    layers: set[int] = set()
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        layers.update(range(int(lo), int(hi or lo) + 1))
    return frozenset(layers)


@cache
def _rows() -> tuple[dict[str, str], ...]:
    text = (resources.files(__package__) / "data" / "sapiens2_models.tsv").read_text(encoding="utf-8")
    return tuple(csv.DictReader(text.splitlines(), delimiter="\t"))


def _size(row: dict[str, str]) -> str:
    return row["arch"].removeprefix("sapiens2_")


def _arch(row: dict[str, str]) -> Sapiens2Arch:
    heads = int(row["heads"])
    kv = row["kv_heads_middle_layers(GQA)"]
    return Sapiens2Arch(
        name=_size(row),
        embed_dim=int(row["embed_dim"]),
        num_layers=int(row["layers"]),
        num_heads=heads,
        kv_heads=int(kv) if kv.strip().isdigit() else heads,
        mhsa_layers=_layer_set(row["full_MHSA_layers"]),
        ffn_hidden=int(row["ffn_hidden(SwiGLU)"]),
    )


@cache
def sapiens2_archs() -> dict[str, Sapiens2Arch]:
    """Every size of the table whose backbone this package builds ("0.1b", "0.4b", ...). The 4K variant needs a
    window tokenizer this package does not implement (pretrain only, no task heads), so it is left out."""
    return {_size(r): _arch(r) for r in _rows() if "4k" not in r["arch"]}


@cache
def sapiens2_head_layouts() -> dict[str, dict[str, Sapiens2HeadLayout]]:
    """size -> task -> head widths, for the sizes released with task heads."""
    out: dict[str, dict[str, Sapiens2HeadLayout]] = {}
    for row in _rows():
        if row["pose_head(deconv_out;conv_out)"].strip() == "-":
            continue  # pretrain-only size
        pose = [_ints(p) for p in row["pose_head(deconv_out;conv_out)"].split(";")]
        normal = [_ints(p) for p in row["normal_head(upsample;conv3x3)"].split(";")]
        pointmap = [_ints(p) for p in row["pointmap_head(upsample;conv3x3)"].split(";")]
        size = _size(row)
        out[size] = {
            "pose": Sapiens2HeadLayout(pose[0], pose[1]),
            "seg": Sapiens2HeadLayout(SEG_DECONV, SEG_CONV),
            "normal": Sapiens2HeadLayout(normal[0], normal[1]),
            "pointmap": Sapiens2HeadLayout(pointmap[0], pointmap[1], SCALE_CONV, SCALE_MLP),
        }
        if f"+matting-{size}" in row["hf_repos"]:
            out[size]["matting"] = out[size][MATTING_WIDTHS_LIKE]
    return out


def task_sizes() -> tuple[str, ...]:
    """Sizes released with the four task heads: 0.4b, 0.8b, 1b, 5b."""
    return tuple(sapiens2_head_layouts())


@cache
def table_numbers(size: str) -> dict[str, float]:
    """The table's parameter counts for one size (for download estimates and for tests of the built modules)."""
    row = next(r for r in _rows() if _size(r) == size)

    def number(column: str) -> float:
        value = row[column].strip()
        return float(value) if value not in ("", "-") else 0.0

    counts = {task: number(f"{task}_head_params") for task in TASK_HEADS}
    # Not in the table: matting's head is taken as its widths' model (above); its one extra output channel adds
    # fewer than 200 parameters, nothing a download estimate notices.
    counts["matting"] = counts[MATTING_WIDTHS_LIKE]
    return {"backbone": number("recount_backbone_params"), **counts}


def get_sapiens2_arch(arch: str | Sapiens2Arch) -> Sapiens2Arch:
    """Accept a Sapiens2Arch, "0.4b", "0.4B" or "sapiens2_0.4b"."""
    if isinstance(arch, Sapiens2Arch):
        return arch
    key = str(arch).lower().removeprefix("sapiens2_").removeprefix("sapiens2-")
    archs = sapiens2_archs()
    if key not in archs:
        raise ValueError(f"unknown Sapiens2 size {arch!r}; expected one of {', '.join(archs)}")
    return archs[key]
