"""PyTorch definition of the Sapiens models (spec §5): backbone, heads, and loading of finetuned state dicts."""

from .arch import ARCH_NAMES, ARCHS, SMALL_ARCHS, ArchSpec, arch_from_state_dict, get_arch
from .heads import DEFAULT_LAYOUTS, HeadLayout, HeatmapHead, VitDepthHead, VitHead
from .model import (
    CheckpointLayout,
    SapiensModel,
    build_model,
    inspect_state_dict,
    load_pretrained_backbone,
    model_from_state_dict,
)
from .vit import SapiensViT, resize_pos_embed

__all__ = [
    "ARCHS",
    "ARCH_NAMES",
    "SMALL_ARCHS",
    "ArchSpec",
    "get_arch",
    "arch_from_state_dict",
    "HeadLayout",
    "DEFAULT_LAYOUTS",
    "HeatmapHead",
    "VitHead",
    "VitDepthHead",
    "SapiensViT",
    "resize_pos_embed",
    "SapiensModel",
    "CheckpointLayout",
    "build_model",
    "inspect_state_dict",
    "model_from_state_dict",
    "load_pretrained_backbone",
]
