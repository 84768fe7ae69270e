"""The fast path: a TorchScript, ExportedProgram or .pth file's weights in our own model give the original file's
outputs (fp32 to 1e-4 of the range, bf16 within bf16 tolerance), and ``models check-fast`` says so, or says not.

The tiny model has 2 attention heads of 32: its weights alone would rebuild it with one 64-dim head (the
mmpretrain convention), so equal outputs prove the head count is read from the traced and exported graphs.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from sapiens_core.backends import open_backend
from sapiens_core.backends.native_weights import map_keys, read_weights
from sapiens_core.cli import main
from sapiens_core.errors import BackendError, CheckpointError
from sapiens_core.nn import ArchSpec, build_model
from tests.tiny_models import build_tiny_model, example_input, save_checkpoint

NAMES = {"torchscript": "tiny_pose_torchscript.pt2", "exported": "tiny_pose_bfloat16.pt2", "pth": "tiny_pose.pth"}


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


def trace(module: nn.Module, path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # shape-dependent Python branches are frozen, as in the official traces
        torch.jit.save(torch.jit.trace(module.eval(), example_input(1), check_trace=False), str(path))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fast")
    model = build_tiny_model("pose", num_outputs=17, embed_dim=64, layers=1, heads=2, head_channels=16)
    batch = example_input(2).numpy()
    with torch.inference_mode():
        reference = model(torch.from_numpy(batch)).numpy()
    paths = {fmt: save_checkpoint(model, folder / name, fmt) for fmt, name in NAMES.items()}
    return {"model": model, "paths": paths, "batch": batch, "reference": reference, "folder": folder}


@pytest.mark.parametrize("fmt", ["torchscript", "pth"])
def test_fast_path_gives_the_original_outputs_at_fp32(files, fmt):
    path = files["paths"][fmt]
    with open_backend(path, task="pose", device="cpu") as original:
        expected = original.infer(files["batch"])
    with open_backend(path, task="pose", device="cpu", fast=True) as fast:
        out = fast.infer(files["batch"])
        assert fast.format == fmt and fast.precision == "fp32"
        assert fast.provider == "torch cpu fp32 fast" and fast.output_channels == 17
    assert out.shape == (2, 17, 256, 192)
    assert relative_error(out, expected) < 1e-4
    if fmt == "torchscript":  # the graph's 2 heads, not the weights' guess of 1
        assert relative_error(out, files["reference"]) < 1e-4


def test_fast_path_of_a_bf16_exported_program_runs_bf16(files):
    path = files["paths"]["exported"]
    with open_backend(path, task="pose", device="cpu") as original:
        expected = original.infer(files["batch"])
    with open_backend(path, task="pose", device="cpu", fast=True) as fast:
        out = fast.infer(files["batch"])
        assert fast.format == "exported" and fast.precision == "bf16"
        assert next(fast.model.parameters()).dtype == torch.bfloat16
    assert relative_error(out, expected) < 5e-2
    assert relative_error(out, files["reference"]) < 5e-2
    with pytest.raises(BackendError, match="bf16 weights"):
        open_backend(path, task="pose", device="cpu", precision="fp32", fast=True)


def test_bf16_on_request_casts_the_weights_and_stays_within_bf16_tolerance(files):
    with open_backend(files["paths"]["torchscript"], task="pose", device="cpu", precision="bf16", fast=True) as fast:
        out = fast.infer(files["batch"])
        assert fast.provider == "torch cpu bf16 fast"
        assert {p.dtype for p in fast.model.parameters()} == {torch.bfloat16}
    error = relative_error(out, files["reference"])
    assert 0 < error < 5e-2  # not zero: bf16 really ran


def test_padding_and_heads_are_read_from_the_graph(tmp_path):
    # A seg model trained like the CIHP/LIP ones (patch padding 2, where seg's default is 0).
    torch.manual_seed(3)
    model = build_model("seg", ArchSpec("t", 64, 1, 2), num_outputs=5, head_channels=8, patch_padding=2).eval()
    path = tmp_path / "seg_torchscript.pt2"
    trace(model, path)
    weights = read_weights(path)
    assert (weights.format, weights.patch_padding, weights.num_heads) == ("torchscript", 2, 2)
    x = example_input(1)
    with torch.inference_mode():
        expected = model(x).numpy()
    with open_backend(path, task="seg", device="cpu", fast=True) as fast:
        assert relative_error(fast.infer(x.numpy()), expected) < 1e-4


class _Preprocessor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1))


class _Wrapped(nn.Module):
    """An outer module around the network, as a trace of a wrapper object would have; ``scale`` != 1 stands for a
    graph that does something our model does not (normalising inside, say)."""

    def __init__(self, model: nn.Module, scale: float = 1.0) -> None:
        super().__init__()
        self.model = model
        self.data_preprocessor = _Preprocessor()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x * self.scale)


def test_a_wrapper_prefix_is_stripped_and_its_own_keys_dropped(files, tmp_path):
    path = tmp_path / "wrapped_torchscript.pt2"
    trace(_Wrapped(files["model"]), path)
    weights = read_weights(path)
    assert weights.dropped == ["data_preprocessor.mean"]
    assert all(k.startswith(("backbone.", "head.")) for k in weights.state_dict)
    with open_backend(path, task="pose", device="cpu", fast=True) as fast:
        assert relative_error(fast.infer(files["batch"]), files["reference"]) < 1e-4


def test_map_keys_leaves_unprefixed_keys_alone():
    tensor = torch.zeros(1)
    mapped, dropped = map_keys({"backbone.a": tensor, "head.b": tensor, "data_preprocessor.std": tensor})
    assert list(mapped) == ["backbone.a", "head.b"] and dropped == ["data_preprocessor.std"]


def test_keys_that_do_not_fit_are_named(files, tmp_path):
    model = build_tiny_model("pose", num_outputs=17, embed_dim=64, layers=1, heads=2, head_channels=16)
    model.backbone.register_parameter("extra", nn.Parameter(torch.zeros(3)))
    path = tmp_path / "extra_torchscript.pt2"
    trace(model, path)
    with pytest.raises(CheckpointError, match=r"extra_torchscript\.pt2 .*unexpected: backbone\.extra"):
        open_backend(path, task="pose", device="cpu", fast=True)


@pytest.mark.parametrize("fmt", ["torchscript", "exported", "pth"])
def test_check_fast_says_equal_for_every_format(files, fmt, capsys):
    assert main(["models", "check-fast", str(files["paths"][fmt]), "--task", "pose", "--device", "cpu"]) == 0
    line = capsys.readouterr().out.strip()
    tolerance = "0.05" if fmt == "exported" else "0.0001"
    assert line.startswith(f"{NAMES[fmt]}: original (torch cpu ") and f"(tolerance {tolerance})" in line
    assert line.endswith("equal within tolerance")


def test_check_fast_at_bf16_prints_a_nonzero_difference_within_bf16_tolerance(files, capsys):
    path = str(files["paths"]["torchscript"])
    assert main(["models", "check-fast", path, "--task", "pose", "--device", "cpu", "--precision", "bf16"]) == 0
    line = capsys.readouterr().out
    assert "vs fast (torch cpu bf16 fast)" in line and "(tolerance 0.05)" in line
    rel = float(line.split("max rel diff ")[1].split(" ")[0])
    assert 0 < rel <= 0.05


def test_check_fast_fails_where_the_graph_does_more_than_the_weights(files, tmp_path, capsys):
    path = tmp_path / "scaled_torchscript.pt2"
    trace(_Wrapped(files["model"], scale=2.0), path)
    assert main(["models", "check-fast", str(path), "--task", "pose", "--device", "cpu"]) == 1
    assert "NOT equal: keep the original file's path for this model" in capsys.readouterr().out


@pytest.mark.parametrize("stored", [torch.float32, torch.bfloat16])
def test_a_sapiens2_safetensors_file_runs_the_fast_path_as_its_own_path(tmp_path, capsys, stored):
    from tests.sapiens2_tiny import build_tiny_sapiens2, save_safetensors

    path = save_safetensors(build_tiny_sapiens2("pose"), tmp_path / "tiny_sapiens2_pose.safetensors", stored)
    with open_backend(path, task="pose", device="cpu", fast=True) as fast:
        assert (fast.family, fast.format, fast.precision) == ("sapiens2", "safetensors", "fp32")  # as the original
    assert main(["models", "check-fast", str(path), "--task", "pose", "--device", "cpu"]) == 0
    assert "max abs diff 0," in capsys.readouterr().out


def test_weights_dtype_is_that_of_most_values():
    from sapiens_core.backends.native import weights_dtype

    state = {"rope_embed.periods": torch.zeros(8, dtype=torch.bfloat16), "w": torch.zeros(100)}
    assert weights_dtype(state) == "fp32"
    assert weights_dtype({**state, "v": torch.zeros(200, dtype=torch.bfloat16)}) == "bf16"


def test_compile_needs_the_fast_path_and_onnx_has_none(files, tiny_checkpoint):
    with pytest.raises(BackendError, match="add --fast"):
        open_backend(files["paths"]["pth"], task="pose", device="cpu", compile=True)
    with pytest.raises(CheckpointError, match="ONNX file; the fast path reads TorchScript"):
        open_backend(tiny_checkpoint("pose", "onnx"), task="pose", device="cpu", fast=True)


def test_predict_fast_records_the_fast_path_in_each_document(tiny_checkpoint, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(np.full((64, 48, 3), 128, np.uint8)).save(images / "a.png")
    out = tmp_path / "out"
    pose = tiny_checkpoint("pose", "torchscript")
    args = ["predict", str(images), "--out", str(out), "--pose", str(pose), "--device", "cpu", "--no-overlay"]
    assert main([*args, "--fast"]) == 0
    record = json.loads((out / "a.json").read_text())["models"]["pose"]
    assert record["provider"] == "torch cpu fp32 fast" and record["format"] == "torchscript"


@pytest.mark.slow  # torch.compile on the CPU: ~30 s of compilation
def test_compiled_fast_path_gives_the_same_outputs(files):
    path = files["paths"]["torchscript"]
    with open_backend(path, task="pose", device="cpu", fast=True, compile=True) as fast:
        assert fast.provider == "torch cpu fp32 fast compiled"
        out = fast.infer(files["batch"][:1])
    assert relative_error(out, files["reference"][:1]) < 1e-4
