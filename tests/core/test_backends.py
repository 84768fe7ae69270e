"""Every model format round-trips through open_backend; detection is by content; bad files fail in one line."""

from __future__ import annotations

import json
import re
import warnings
import zipfile

import numpy as np
import pytest
import torch
from torch import nn

from sapiens_core.backends import BACKENDS, detect_format, open_backend, resolve_device
from sapiens_core.cuda_driver import nvidia_driver_loadable
from sapiens_core.errors import BackendError, CheckpointError
from tests.tiny_models import (
    FORMATS,
    build_tiny_model,
    example_input,
    rename_copy,
    save_checkpoint,
    write_truncated_copy,
)

FILE_NAMES = {
    "torchscript": "tiny_pose_torchscript.pt2",
    "exported": "tiny_pose_bfloat16.pt2",
    "pth": "tiny_pose.pth",
    "onnx": "tiny_pose.onnx",
}
TORCH_CUDA = torch.cuda.is_available()


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """One tiny pose model saved in all four formats, with its reference output (export is the slow part)."""
    folder = tmp_path_factory.mktemp("models")
    model = build_tiny_model("pose", num_outputs=17)
    batch = example_input(3).numpy()
    with torch.inference_mode():
        reference = model(torch.from_numpy(batch)).numpy()
    paths = {fmt: save_checkpoint(model, folder / FILE_NAMES[fmt], fmt) for fmt in FORMATS}
    return {"paths": paths, "batch": batch, "reference": reference, "folder": folder}


def test_registry_has_one_backend_per_format():
    # safetensors: tested with Sapiens2 and v1 state dicts in test_sapiens2_loading.py
    assert set(BACKENDS) == {*FORMATS, "safetensors"}
    assert {cls.format for cls in BACKENDS.values()} == {*FORMATS, "safetensors"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_round_trips(files, fmt):
    assert detect_format(files["paths"][fmt]) == fmt
    with open_backend(files["paths"][fmt], task="pose", device="cpu") as backend:
        assert backend.format == fmt and backend.device == "cpu" and backend.task == "pose"
        assert backend.input_size == (1024, 768) and backend.max_batch >= 1
        out = backend.infer(files["batch"])
        assert out.dtype == np.float32 and out.shape == (3, 17, 256, 192)
        assert backend.output_channels == 17
    if fmt == "exported":  # bf16 weights and activations: ~1% of the output range
        assert relative_error(out, files["reference"]) < 5e-2
        assert "bf16" in backend.provider
    else:
        assert relative_error(out, files["reference"]) < 1e-4
        assert "fp32" in backend.provider or "CPUExecutionProvider" in backend.provider


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_batches_larger_than_max_batch_are_chunked(files, fmt):
    backend = open_backend(files["paths"][fmt], task="pose", device="cpu")
    backend.max_batch = 2
    assert relative_error(backend.infer(files["batch"]), files["reference"]) < 1e-4
    backend.close()
    with pytest.raises(BackendError, match="was closed"):
        backend.infer(files["batch"][:1])


def test_channels_known_up_front_where_the_format_tells(files):
    assert open_backend(files["paths"]["pth"], device="cpu").output_channels == 17
    assert open_backend(files["paths"]["onnx"], task="pose", device="cpu").output_channels == 17
    assert open_backend(files["paths"]["torchscript"], task="pose", device="cpu").output_channels is None


def test_pth_infers_the_task(files):
    backend = open_backend(files["paths"]["pth"], device="cpu")
    assert backend.task == "pose"
    assert backend.meta["cfg"]["type"] == "TopdownPoseEstimator"


def test_exported_batch_limit_comes_from_the_program(files):
    backend = open_backend(files["paths"]["exported"], task="pose", device="cpu")
    assert backend.min_batch == 1 and 1 <= backend.max_batch <= 48
    single = backend.infer(files["batch"][:1])
    assert relative_error(single, files["reference"][:1]) < 5e-2


def test_detection_is_by_content_not_name(files, tmp_path):
    cases = {"torchscript": "renamed.pth", "exported": "renamed.pt", "onnx": "renamed.bin", "pth": "renamed.pt2"}
    for fmt, name in cases.items():
        copy = rename_copy(files["paths"][fmt], tmp_path / name)
        assert detect_format(copy) == fmt, name
    backend = open_backend(tmp_path / "renamed.pth", task="pose", device="cpu")
    assert backend.format == "torchscript"
    assert relative_error(backend.infer(files["batch"][:1]), files["reference"][:1]) < 1e-4


@pytest.mark.parametrize("fmt", ["torchscript", "exported", "pth"])
def test_truncated_archives(files, tmp_path, fmt):
    broken = write_truncated_copy(files["paths"][fmt], tmp_path / f"cut_{FILE_NAMES[fmt]}")
    with pytest.raises(CheckpointError, match=rf"^cut_{FILE_NAMES[fmt]} is truncated or corrupt"):
        open_backend(broken, task="pose", device="cpu")


def test_truncated_onnx(files, tmp_path):
    broken = write_truncated_copy(files["paths"]["onnx"], tmp_path / "cut.onnx")
    with pytest.raises(CheckpointError, match=r"^cut\.onnx") as info:
        open_backend(broken, task="pose", device="cpu")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "name, content",
    [
        ("empty.pth", b""),
        ("random.pth", b"\x00" + np.random.default_rng(0).bytes(4096)),
        ("config.pth", json.dumps({"state_dict": {"a": 1}}).encode()),
        ("random.onnx", b"\xff" + np.random.default_rng(1).bytes(512)),
    ],
)
def test_junk_files_fail_with_the_file_name(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=rf"^{name.replace('.', '[.]')} ") as info:
        open_backend(path, task="pose")
    assert "\n" not in str(info.value)


def test_missing_file_and_foreign_zip(tmp_path):
    with pytest.raises(CheckpointError, match="nope.pt2 does not exist"):
        open_backend(tmp_path / "nope.pt2")
    with zipfile.ZipFile(tmp_path / "photos.pt2", "w") as archive:
        archive.writestr("photos/a.txt", "hello")
    with pytest.raises(CheckpointError, match="photos.pt2 is a zip archive but not a PyTorch model"):
        open_backend(tmp_path / "photos.pt2")


def test_unloadable_exported_program_explains_version_lock(tmp_path, capfd):
    path = tmp_path / "old_bfloat16.pt2"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("old/archive_format", "pt2")
        archive.writestr("old/models/model.json", "{}")
    with pytest.raises(CheckpointError, match=rf"old_bfloat16.pt2 .*torch {re.escape(torch.__version__)}.*version"):
        open_backend(path, task="pose", device="cpu")
    assert "torch.export" not in capfd.readouterr().err  # torch's logged traceback is folded into the message


def test_seg_checkpoint_opened_as_pose(tmp_path):
    path = save_checkpoint(
        build_tiny_model("seg", embed_dim=64, layers=1, heads=1, head_channels=8), tmp_path / "s.pth", "pth"
    )
    with pytest.raises(CheckpointError, match=r"^s\.pth is a seg checkpoint, not pose$"):
        open_backend(path, task="pose", device="cpu")


class _Broken(nn.Module):
    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(1) if self.mode == "rank" else x * float("nan")


@pytest.mark.parametrize("mode, message", [("rank", r"returned shape \(1, 64, 48\)"), ("nan", "NaN or infinite")])
def test_bad_outputs_raise_instead_of_returning_garbage(tmp_path, mode, message):
    path = tmp_path / f"{mode}.pt"
    torch.jit.save(torch.jit.trace(_Broken(mode), torch.zeros(1, 3, 64, 48)), str(path))
    backend = open_backend(path, task="seg", device="cpu")
    with pytest.raises(BackendError, match=message):
        backend.infer(np.zeros((1, 3, 64, 48), np.float32))


def test_onnx_with_wrong_output_rank_is_refused(tmp_path):
    path = tmp_path / "rank3.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter announces its deprecation
        torch.onnx.export(_Broken("rank"), (torch.zeros(1, 3, 64, 48),), str(path), dynamo=False)
    with pytest.raises(CheckpointError, match="rank-3 output"):
        open_backend(path, task="seg", device="cpu")


def test_input_is_validated(files):
    backend = open_backend(files["paths"]["torchscript"], task="pose", device="cpu")
    with pytest.raises(ValueError, match="B, 3, H, W"):
        backend.infer(np.zeros((3, 1024, 768), np.float32))


def test_device_resolution():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if TORCH_CUDA else "cpu")
    with pytest.raises(BackendError, match="unknown device 'gpu'"):
        resolve_device("gpu")


@pytest.mark.skipif(TORCH_CUDA, reason="CUDA is usable here")
@pytest.mark.parametrize("fmt", ["torchscript", "pth", "exported"])
def test_cuda_request_without_cuda_explains_why_for_torch(files, fmt):
    with pytest.raises(BackendError, match="cannot run on CUDA: .*(no CUDA support|sees no GPU|could not)") as info:
        open_backend(files["paths"][fmt], task="pose", device="cuda")
    assert "\n" not in str(info.value)


@pytest.mark.skipif(nvidia_driver_loadable(), reason="an NVIDIA driver is present")
def test_cuda_request_without_cuda_explains_why_for_onnx(files):
    with pytest.raises(BackendError, match=r"cannot run tiny_pose\.onnx on CUDA: .*(driver|CUDA provider)"):
        open_backend(files["paths"]["onnx"], task="pose", device="cuda")


def test_auto_device_falls_back_to_cpu_quietly_for_onnx(files, capfd):
    backend = open_backend(files["paths"]["onnx"], task="pose", device="auto")
    if not nvidia_driver_loadable():
        assert backend.device == "cpu" and backend.provider == "onnxruntime CPUExecutionProvider"
    captured = capfd.readouterr()
    assert "CUDAExecutionProvider" not in captured.out + captured.err


def test_unknown_task_is_rejected_before_loading(files):
    with pytest.raises(ValueError, match="unknown task"):
        open_backend(files["paths"]["pth"], task="posee")
