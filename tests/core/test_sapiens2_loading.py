"""Safetensors files open as a backend; the family comes from the keys, whatever the container or the name."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch

from sapiens_core.backends import detect_format, open_backend
from sapiens_core.errors import CheckpointError
from sapiens_core.io.safetensors_files import read_header
from tests.sapiens2_tiny import build_tiny_sapiens2, save_safetensors
from tests.tiny_models import build_tiny_model

INPUT = (256, 192)  # small, and large enough for the pointmap scale branch (see test_sapiens2_nn)


def _batch(seed: int = 0) -> np.ndarray:
    return torch.randn(2, 3, *INPUT, generator=torch.Generator().manual_seed(seed)).numpy()


def _run(model: torch.nn.Module, batch: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(batch)).numpy()


@pytest.mark.parametrize(("task", "channels"), [("pose", 308), ("seg", 29), ("normal", 3), ("pointmap", 4)])
def test_a_sapiens2_safetensors_file_opens_by_content(tmp_path, task, channels):
    model = build_tiny_sapiens2(task, input_size=INPUT)
    path = save_safetensors(model, tmp_path / "some_name.bin")  # the name says nothing
    assert detect_format(path) == "safetensors"
    with open_backend(path, device="cpu") as backend:
        assert (backend.task, backend.family, backend.output_channels) == (task, "sapiens2", channels)
        out = backend.infer(_batch())
    assert np.array_equal(out, _run(model, _batch()))


def test_bf16_files_load_into_an_fp32_model(tmp_path):
    """Stored dtype is UNVERIFIED (spec §2.2); a bf16 file gives the bf16-rounded weights' output."""
    model = build_tiny_sapiens2("seg", input_size=INPUT)
    path = save_safetensors(model, tmp_path / "sapiens2_0.4b_seg.safetensors", dtype=torch.bfloat16)
    header = read_header(path)
    assert header["backbone.blocks.0.attn.wq.weight"]["dtype"] == "BF16"
    assert header["backbone.rope_embed.periods"]["dtype"] == "BF16"
    with open_backend(path, task="seg", device="cpu") as backend:
        out = backend.infer(_batch())
        assert backend.model.decode_head.conv_seg.weight.dtype == torch.float32
    rounded = _run(model.to(torch.bfloat16).float(), _batch())
    assert np.allclose(out, rounded, atol=1e-4)


def test_a_v1_state_dict_in_safetensors_loads_as_v1(tmp_path):
    model = build_tiny_model("pose", num_outputs=17, embed_dim=64, layers=1, heads=1, head_channels=16)
    path = save_safetensors(model, tmp_path / "sapiens_tiny.safetensors")
    batch = torch.randn(1, 3, 1024, 768, generator=torch.Generator().manual_seed(1)).numpy()
    with open_backend(path, task="pose", device="cpu") as backend:
        assert backend.family == "sapiens" and backend.task == "pose"
        assert np.allclose(backend.infer(batch), _run(model, batch), atol=1e-5)


def test_a_sapiens2_state_dict_saved_by_torch_loads_through_pth(tmp_path):
    model = build_tiny_sapiens2("normal", input_size=INPUT)
    path = tmp_path / "finetuned.pth"
    torch.save({"state_dict": model.state_dict()}, path)
    with open_backend(path, task="normal", device="cpu") as backend:
        assert backend.format == "pth" and backend.family == "sapiens2"
        assert np.array_equal(backend.infer(_batch()), _run(model, _batch()))


def test_the_wrong_task_is_named(tmp_path):
    path = save_safetensors(build_tiny_sapiens2("seg", input_size=INPUT), tmp_path / "m.safetensors")
    with pytest.raises(CheckpointError, match=r"^m.safetensors is a Sapiens2 seg checkpoint, not pose$"):
        open_backend(path, task="pose", device="cpu")


def test_damaged_files_fail_in_one_line(tmp_path):
    good = save_safetensors(build_tiny_sapiens2("pose", input_size=INPUT), tmp_path / "good.safetensors")
    data = good.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"^cut.safetensors is truncated \(\d+ bytes; its header needs \d+\)$"):
        open_backend(cut, device="cpu")
    (length,) = struct.unpack("<Q", data[:8])
    bad_json = tmp_path / "bad.safetensors"
    bad_json.write_bytes(data[:8] + b"{" + b"x" * (length - 1) + data[8 + length :])
    with pytest.raises(CheckpointError, match=r"^bad.safetensors has a corrupt safetensors header \(not JSON\)$"):
        open_backend(bad_json, device="cpu")


def test_a_foreign_safetensors_file_is_refused(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "llm.safetensors"
    save_file({"model.embed_tokens.weight": torch.zeros(4, 2)}, str(path))
    with pytest.raises(CheckpointError, match="not a Sapiens checkpoint"):
        open_backend(path, device="cpu")


def test_the_header_is_read_without_the_tensors(tmp_path):
    path = save_safetensors(build_tiny_sapiens2("pose", input_size=INPUT), tmp_path / "p.safetensors")
    header = read_header(path)
    assert header["decode_head.conv_pose.weight"]["shape"] == [308, 16, 1, 1]
    assert json.dumps(header)  # plain JSON data, nothing else
