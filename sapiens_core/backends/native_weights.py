"""The weights of any official model file as a state dict with our own key names (the fast path's input).

Each format gives its tensors without running the model:

- TorchScript (``*_torchscript.pt2``): ``torch.jit.load(...).state_dict()``. The official files are traced from the
  mmpose/mmseg models, so their module tree (``backbone.layers.N.attn.qkv``, ``head.``/``decode_head.``) is the
  ``.pth`` one; the tiny files the tests trace show the same. Loading runs TorchScript's own restricted unpickler,
  never arbitrary Python code, and nothing is run.
- ExportedProgram (``*_bfloat16.pt2``): ``program.state_dict`` (parameters and persistent buffers by module path)
  plus any non-persistent buffers kept in ``program.constants``.
- ``.pth`` and ``.safetensors``: the existing safe loaders.

Two facts are not in the weights: the patch padding (see :mod:`..nn.patch_padding`) and the attention head count
(the packed qkv weight is the same for 16 heads of 64 or 8 of 128). A traced or exported graph still holds both as
constants: the padding argument of the patch-embedding convolution, and the ``(B, N, 3, heads, head_dim)`` reshape
of the packed qkv. They are read from there (a ``.pth`` names its padding in its config); where a graph does not
say, the task's padding and the table's head count apply, as for a ``.pth``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import CheckpointError
from .base import file_named
from .formats import detect_format

__all__ = ["NativeWeights", "read_weights", "map_keys", "NATIVE_FORMATS"]

NATIVE_FORMATS = ("torchscript", "exported", "pth", "safetensors")
_PATCH_WEIGHT = "backbone.patch_embed.projection.weight"
# Keys that belong to the original wrapper, not to the network: mmengine's data preprocessor holds the mean and std
# that our pipeline applies before the model, so the traced graph never used them.
_WRAPPER_ONLY = ("data_preprocessor.",)


@dataclass
class NativeWeights:
    state_dict: dict[str, torch.Tensor]
    format: str
    patch_padding: int | None  # None: the file does not say; the task's default applies
    num_heads: int | None = None  # None: the file does not say; the arch table's count applies
    dropped: list[str] = field(default_factory=list)  # wrapper keys left out (named in the log)


def _wrapper_prefix(keys: object) -> str:
    """What stands before ``backbone.`` in the keys of a module wrapped in another (``model.``), else ""."""
    prefixes = {k[: k.index("backbone.")] for k in keys if "backbone." in k}
    return min(prefixes, key=len) if prefixes and "" not in prefixes else ""


def map_keys(state_dict: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Our key names: a wrapper prefix before ``backbone.`` (``model.``, ``module.``, ``_orig_mod.``) is removed
    and the wrapper-only keys are dropped; (mapped state dict, dropped keys). Anything else stays, so the strict
    load afterwards names every key that does not fit."""
    prefix = _wrapper_prefix(state_dict)
    mapped: dict[str, torch.Tensor] = {}
    dropped: list[str] = []
    for key, value in state_dict.items():
        name = key.removeprefix(prefix) if prefix and key.startswith(prefix) else key
        if name.startswith(_WRAPPER_ONLY):
            dropped.append(key)
        else:
            mapped[name] = value
    return mapped, dropped


def _constant(value: torch._C.Value) -> object:
    node = value.node()
    if node.kind() == "prim::Constant":
        return value.toIValue()
    if node.kind() == "prim::ListConstruct":
        return [_constant(v) for v in node.inputs()]
    return None


def _heads_in_shape(shape: object, embed_dim: int) -> int | None:
    """``heads`` of a ``(B, N, 3, heads, head_dim)`` shape whose heads x head_dim is the width, else None."""
    if isinstance(shape, (list, tuple)) and len(shape) == 5 and shape[2] == 3:
        heads, head_dim = shape[3], shape[4]
        if isinstance(heads, int) and isinstance(head_dim, int) and heads > 0 and heads * head_dim == embed_dim:
            return heads
    return None


def _embed_dim(state_dict: Mapping[str, torch.Tensor]) -> int:
    weight = next((v for k, v in state_dict.items() if k.endswith(_PATCH_WEIGHT)), None)
    return int(weight.shape[0]) if weight is not None else -1


def _network(module: torch.jit.ScriptModule, prefix: str) -> torch.jit.ScriptModule:
    """The submodule that holds ``backbone`` (the module itself unless a wrapper's prefix says where)."""
    for name in filter(None, prefix.split(".")):
        module = getattr(module, name)
    return module


def _torchscript_heads(module: torch.jit.ScriptModule, embed_dim: int) -> int | None:
    try:
        graph = getattr(module.backbone.layers, "0").attn.graph
    except (AttributeError, RuntimeError):
        return None
    for node in graph.nodes():
        if node.kind() in ("aten::reshape", "aten::view"):
            heads = _heads_in_shape(_constant(list(node.inputs())[1]), embed_dim)
            if heads:
                return heads
    return None


def _torchscript_padding(module: torch.jit.ScriptModule) -> int | None:
    """The padding argument of the patch-embedding convolution in the traced graph."""
    try:
        conv = module.backbone.patch_embed.projection
        for node in conv.graph.nodes():
            if node.kind() in ("aten::_convolution", "aten::conv2d"):
                padding = _constant(list(node.inputs())[4])
                return int(padding[0]) if isinstance(padding, list) and padding else None
    except (AttributeError, RuntimeError, IndexError, TypeError):
        pass
    return None


def _load_torchscript(path: Path) -> tuple[dict[str, torch.Tensor], int | None, int | None]:
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as error:
        text = file_named(str(error), path).strip().splitlines()
        reason = text[0][:160] if text else type(error).__name__
        raise CheckpointError(f"{path.name} could not be loaded as TorchScript ({reason})") from None
    weights = {k: v.detach() for k, v in module.state_dict().items()}
    try:
        network = _network(module, _wrapper_prefix(weights))
    except AttributeError:
        return weights, None, None
    return weights, _torchscript_padding(network), _torchscript_heads(network, _embed_dim(weights))


def _exported_padding(program: torch.export.ExportedProgram) -> int | None:
    names = {node: fqn for node, fqn in program.graph_signature.inputs_to_parameters.items()}
    for node in program.graph.nodes:
        if node.op != "call_function" or "conv" not in str(node.target) or len(node.args) < 2:
            continue
        weight = node.args[1]
        if getattr(weight, "name", None) in names and names[weight.name] == _PATCH_WEIGHT:
            padding = node.args[4] if len(node.args) > 4 else node.kwargs.get("padding", 0)
            return int(padding[0] if isinstance(padding, (list, tuple)) else padding)
    return None


def _exported_heads(program: torch.export.ExportedProgram, embed_dim: int) -> int | None:
    for node in program.graph.nodes:
        if node.op == "call_function" and str(node.target).startswith(("aten.view", "aten.reshape")):
            heads = _heads_in_shape(list(node.args[1]) if len(node.args) > 1 else None, embed_dim)
            if heads:
                return heads
    return None


def _load_exported(path: Path) -> tuple[dict[str, torch.Tensor], int | None, int | None]:
    from .exported import _captured_export_log, _reason

    with _captured_export_log() as log:
        try:
            program = torch.export.load(str(path))
        except Exception as error:
            raise CheckpointError(
                f"{path.name} could not be loaded as an ExportedProgram with torch {torch.__version__} "
                f"({file_named(_reason(error, log.errors), path)})"
            ) from None
    weights = {k: v.detach() for k, v in program.state_dict.items()}
    # Non-persistent buffers live among the constants under their module path; lifted literals have no dots.
    for key, value in program.constants.items():
        if isinstance(value, torch.Tensor) and "." in key and key not in weights:
            weights[key] = value.detach()
    return weights, _exported_padding(program), _exported_heads(program, _embed_dim(weights))


def read_weights(path: str | Path) -> NativeWeights:
    """The file's tensors under our key names, with the patch padding and head count its graph or config names."""
    path = Path(path)
    fmt = detect_format(path)
    heads = None
    if fmt == "torchscript":
        raw, padding, heads = _load_torchscript(path)
    elif fmt == "exported":
        raw, padding, heads = _load_exported(path)
    elif fmt == "pth":
        from ..io.checkpoints import load_checkpoint
        from ..nn.patch_padding import patch_padding_from_meta

        raw, meta = load_checkpoint(path)
        padding = patch_padding_from_meta(meta)
    elif fmt == "safetensors":
        from ..io.safetensors_files import load_safetensors

        raw, padding = load_safetensors(path), None
    else:
        raise CheckpointError(
            f"{path.name} is an {fmt.upper()} file; the fast path reads TorchScript, ExportedProgram, .pth and "
            ".safetensors files (ONNX runs in ONNX Runtime's own kernels)"
        )
    state_dict, dropped = map_keys(raw)
    return NativeWeights(state_dict, fmt, padding, heads, dropped)
