"""Small Sapiens models with the official key names and I/O shapes, saved in every format the app reads.

Used by tests (not a test module). The fakes mirror the real files closely: a ``.pth`` carries an
``mmengine.config.config.ConfigDict`` in its ``meta`` and numpy values, TorchScript is traced at (1, 3, 1024, 768),
the ExportedProgram is bf16 with a dynamic batch dimension.
"""

from __future__ import annotations

import contextlib
import copy
import os
import pickle
import shutil
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import torch

from sapiens_core.nn import ArchSpec, SapiensModel, build_model
from sapiens_core.task_specs import INPUT_SIZE, task_spec

FORMATS = ("torchscript", "exported", "pth", "onnx")


def build_tiny_model(
    task: str,
    num_outputs: int | None = None,
    embed_dim: int = 128,
    layers: int = 2,
    heads: int = 2,
    head_channels: int = 32,
    seed: int = 0,
) -> SapiensModel:
    torch.manual_seed(seed)
    arch = ArchSpec(f"tiny-{embed_dim}x{layers}", embed_dim, layers, heads)
    return build_model(task, arch, num_outputs=num_outputs, head_channels=head_channels).eval()


def example_input(batch: int = 1, seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, *INPUT_SIZE, generator=gen)


# --- a stand-in for mmengine's ConfigDict, only importable while a fake .pth is being written -------------


class _AddictLikeDict(dict):
    """Pickles like addict.Dict (mmengine's ConfigDict base): instance attributes plus __getstate__ -> self."""

    def __init__(self, *args, **kwargs):
        object.__setattr__(self, "__parent", None)
        object.__setattr__(self, "__key", None)
        object.__setattr__(self, "__frozen", False)
        super().__init__(*args, **kwargs)

    def __getstate__(self):
        return self

    def __setstate__(self, state):
        self.update(state)


@contextlib.contextmanager
def fake_mmengine():
    """Register ``mmengine.config.config.ConfigDict`` in sys.modules for the duration of a save."""
    names = ("mmengine", "mmengine.config", "mmengine.config.config")
    saved = {name: sys.modules.get(name) for name in names}
    modules = [types.ModuleType(name) for name in names]
    config_dict = type("ConfigDict", (_AddictLikeDict,), {"__module__": "mmengine.config.config"})
    config_dict.__qualname__ = "ConfigDict"
    modules[2].ConfigDict = config_dict
    modules[0].config, modules[1].config = modules[1], modules[2]
    sys.modules.update(zip(names, modules))
    try:
        yield config_dict
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def _save_pth(model: SapiensModel, path: Path) -> None:
    with fake_mmengine() as config_dict:
        cfg = config_dict(
            type="TopdownPoseEstimator" if model.task == "pose" else "EncoderDecoder",
            data_preprocessor=config_dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]),
        )
        meta = {
            "mmengine_version": "0.10.3",
            "epoch": 3,
            "seed": np.int64(0),
            "dataset_meta": config_dict(classes=("a", "b"), sigmas=np.linspace(0.0, 1.0, 5, dtype=np.float32)),
            "cfg": cfg,
            "hook_msgs": {"best_score": np.float64(0.5)},
        }
        torch.save({"state_dict": model.state_dict(), "meta": meta}, path)


def _save_torchscript(model: SapiensModel, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python branches are expected
        traced = torch.jit.trace(model, example_input(1), check_trace=False)
    torch.jit.save(traced, str(path))


def _save_exported(model: SapiensModel, path: Path) -> None:
    # Like torch_optimization.py: whole model cast to bf16, batch exported as Dim("batch", 1..max). The example
    # batch is 2 because export specializes a dimension whose example size is 1.
    bf16 = copy.deepcopy(model).to(torch.bfloat16)
    batch = torch.export.Dim("batch", min=1, max=task_spec(model.task).max_batch)
    program = torch.export.export(bf16, (example_input(2).to(torch.bfloat16),), dynamic_shapes=({0: batch},))
    torch.export.save(program, path)


def _save_onnx(model: SapiensModel, path: Path) -> None:
    # The TorchScript-based exporter takes ~0.3 s here against ~3.5 s for the dynamo one, same outputs to 1e-6.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example_input(1),),
            str(path),
            dynamo=False,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            opset_version=17,
        )


_SAVERS = {"torchscript": _save_torchscript, "exported": _save_exported, "pth": _save_pth, "onnx": _save_onnx}


def save_checkpoint(model: SapiensModel, path: str | os.PathLike, fmt: str) -> Path:
    path = Path(path)
    _SAVERS[fmt](model, path)
    return path


# --- broken and hostile files ----------------------------------------------------------------------------


class _RunsShell:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def write_malicious_pth(path: str | os.PathLike, marker: str | os.PathLike, zipped: bool = True) -> Path:
    """A checkpoint whose unpickling would run ``touch <marker>``; a safe loader must refuse before that."""
    path = Path(path)
    payload = {"state_dict": {"backbone.pos_embed": torch.zeros(1, 2, 4)}, "meta": _RunsShell(f"touch '{marker}'")}
    if zipped:
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=2))
    return path


def write_truncated_copy(src: str | os.PathLike, dst: str | os.PathLike, fraction: float = 0.5) -> Path:
    data = Path(src).read_bytes()
    dst = Path(dst)
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def rename_copy(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    return Path(shutil.copyfile(src, dst))
