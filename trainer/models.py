"""Which network a run trains: a Sapiens v1 size (``sapiens_0.3b`` ...) or a Sapiens2 size (``sapiens2_0.4b`` ...).

Everything the loop, the optimizer, the wrappers and the initialiser need to know about the two families is here,
so they stay family-blind: the transformer blocks (v1 ``backbone.layers``, v2 ``backbone.blocks``), the head's
final conv, the class set a seg run trains, and the per-size layer-decay rate.

Sapiens2 builds with the official widths of its size (Sapiens2 spec §4.1; the seg head is the same at every size),
so a finetuned model keeps the original key layout and its export loads like a released file. ``sapiens2_tiny``
is no released size: three blocks (MHSA, GQA, MHSA), embed 64, narrow heads, for tests and CPU demos.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from sapiens_core.errors import SapiensError
from sapiens_core.nn import ARCHS, SMALL_ARCHS, ArchSpec, build_model, get_arch
from sapiens_core.nn.sapiens2_config import (
    Sapiens2Arch,
    Sapiens2HeadLayout,
    get_sapiens2_arch,
    sapiens2_head_layouts,
    task_sizes,
)
from sapiens_core.nn.sapiens2_model import build_sapiens2

V1, V2 = "sapiens", "sapiens2"
V2_TASKS = ("pose", "seg", "normal")  # the recipes; v2 has no depth model (spec §4.6), pointmap is not trained here
V2_TINY = Sapiens2Arch(
    "tiny", embed_dim=64, num_layers=3, num_heads=4, kv_heads=2, mhsa_layers=frozenset({0, 2}), ffn_hidden=128
)
V2_TINY_LAYOUTS = {
    "pose": Sapiens2HeadLayout((32, 16), (16, 16, 16)),
    "seg": Sapiens2HeadLayout((32, 16, 16, 8), (8, 8)),
    "normal": Sapiens2HeadLayout((32, 16, 8, 8), (8, 8, 8)),
}
# The pose recipes' layer decay per Sapiens2 size (the spec's models table). The spec gives no seg or normal rate,
# so those use the same per-size rate: deeper models keep more of their pretrained lower layers either way.
V2_LAYER_DECAY = {"0.4b": 0.8, "0.8b": 0.85, "1b": 0.9, "5b": 0.94}
CLASS_SETS = {V1: "sapiens_28", V2: "sapiens2_29"}
ARCH_CHOICES = (
    *(f"sapiens_{name}" for name in (*ARCHS, *SMALL_ARCHS)),
    *(f"sapiens2_{size}" for size in (*task_sizes(), "tiny")),
)


@dataclass(frozen=True)
class ArchChoice:
    family: str  # V1 | V2
    size: str  # "0.3b", "0.4b", "tiny", ...
    spec: ArchSpec | Sapiens2Arch

    @property
    def name(self) -> str:
        """What the run's meta and the exported card call it: family and size, never ambiguous (v1 and v2 both
        have a 1b)."""
        return f"{self.family}_{self.size}"

    @property
    def num_layers(self) -> int:
        return self.spec.num_layers

    @property
    def class_set(self) -> str:
        return CLASS_SETS[self.family]


def resolve_arch(name: str) -> ArchChoice:
    key = str(name).lower()
    if key.startswith("sapiens2_") or key.startswith("sapiens2-"):
        size = key[len("sapiens2_") :]
        if size == "tiny":
            return ArchChoice(V2, size, V2_TINY)
        if size not in task_sizes():
            raise SapiensError(f"--arch {name}: Sapiens2 finetunes at {', '.join(task_sizes())} (or tiny)")
        return ArchChoice(V2, size, get_sapiens2_arch(size))
    try:
        spec = get_arch(key)
    except ValueError as error:
        raise SapiensError(str(error)) from None
    return ArchChoice(V1, spec.name, spec)


def _v2_layout(choice: ArchChoice, task: str) -> Sapiens2HeadLayout:
    return V2_TINY_LAYOUTS[task] if choice.size == "tiny" else sapiens2_head_layouts()[choice.size][task]


def build_training_model(task: str, choice: ArchChoice, num_outputs: int | None = None) -> nn.Module:
    """A randomly initialised model of the family; build under ``torch.device("meta")`` for shapes only."""
    if choice.family == V1:
        return build_model(task, choice.spec, num_outputs=num_outputs)
    if task not in V2_TASKS:
        raise SapiensError(
            f"--task {task} has no Sapiens2 recipe ({', '.join(V2_TASKS)}); Sapiens2 has no depth model, its "
            "pointmap gives metric depth"
        )
    return build_sapiens2(task, choice.spec, _v2_layout(choice, task), num_outputs=num_outputs)


def family_of(model: nn.Module) -> str:
    return getattr(model, "family", V1)


def transformer_blocks(model: nn.Module) -> nn.ModuleList:
    """The backbone's blocks: the units of activation checkpointing and of FSDP sharding."""
    return model.backbone.blocks if family_of(model) == V2 else model.backbone.layers


def head_of(model: nn.Module) -> nn.Module:
    return model.decode_head if family_of(model) == V2 else model.task_head


def final_conv_name(model: nn.Module) -> str:
    """The state-dict stem of the layer that makes the outputs (its rows are the keypoints or classes)."""
    if family_of(model) == V2:
        return f"decode_head.conv_{model.task}"
    return "head.final_layer" if model.task == "pose" else "decode_head.conv_seg"


def init_fresh_head(model: nn.Module) -> None:
    """The official head inits (v1 spec §5.2; Sapiens2 publishes none, so the same rule): pose Normal(0, 0.001) on
    every conv; seg/depth/normal Normal(0, 0.01) on the final conv, torch's defaults elsewhere. Biases 0."""
    head = head_of(model)
    convs = [m for m in head.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    final = model.get_submodule(final_conv_name(model))
    targets = convs if model.task == "pose" else [final]
    std = 0.001 if model.task == "pose" else 0.01
    for module in targets:
        nn.init.normal_(module.weight, std=std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def default_v2_layer_decay(size: str) -> float | None:
    return V2_LAYER_DECAY.get(size)
