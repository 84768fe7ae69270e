"""``--batch-size auto``: the memory a forward needs per image, measured on the meta device, agrees with what a real
forward on the CPU keeps alive; the batch chosen from free bytes is the arithmetic the module documents; the CLI
says its choice in one line."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from sapiens_core.backends import open_backend
from sapiens_core.backends.auto_batch import (
    MARGIN,
    RESERVE,
    auto_batch_size,
    bytes_per_element,
    choose_batch_size,
    facts_for_backend,
    plan_batch_size,
)
from sapiens_core.backends.memory_trace import LiveTensors, ModelFacts, facts_for_module
from sapiens_core.cli import main
from sapiens_core.nn import build_model
from sapiens_core.task_specs import TASKS

GiB, MiB = 1 << 30, 1 << 20


def test_live_tensors_counts_what_is_alive_at_once():
    x = torch.ones(1000)  # made before: not counted
    with LiveTensors() as live:
        y = x * 2  # 4000 bytes
        z = y + 1  # 8000 alive
        del y  # 4000
        w = z.view(10, 100)  # a view of z: nothing new
        v = w.add_(1)  # in place: nothing new
        u = torch.cat([z, z])  # 8000 more: 12000 alive
    assert live.peak == 12_000
    del z, w, v, u
    assert live.now == 0


@pytest.mark.parametrize("task", ["pose", "seg"])
def test_meta_trace_agrees_with_a_real_cpu_forward(task):
    torch.manual_seed(0)
    model = build_model(task, "tiny").eval()  # the official layout and head widths / 24, at 1024x768
    peaks = []
    for batch in (1, 2):
        x = torch.randn(batch, 3, 1024, 768)  # the input is not an activation
        with torch.inference_mode(), LiveTensors() as live:
            model(x)
        peaks.append(live.peak)
    facts = facts_for_module(model)
    assert facts.per_image * 4 == pytest.approx(peaks[1] - peaks[0], rel=0.02)
    assert facts.parameters == sum(p.numel() for p in model.parameters())


def test_per_image_activations_of_a_real_size_model_match_a_hand_count():
    with torch.device("meta"):
        model = build_model("seg", "0.3b")
    facts = facts_for_module(model)
    # The head's last 768-channel stage at 512x384: its conv output and the norm's output are alive together.
    largest = 768 * 512 * 384
    # The backbone's peak layer holds the residual, the norm, the MLP's 4x hidden and its activation: ~10 N x D.
    backbone = 10 * 3072 * 1024
    assert 2 * largest <= facts.per_image <= 4 * largest + backbone
    assert facts.parameters > 300_000_000  # "0.3b"


def test_auto_batch_size_is_the_documented_arithmetic():
    facts = ModelFacts(parameters=10 * MiB, per_image=MiB)  # 4 MiB per image at fp32, 2 MiB at bf16
    free = 10 * GiB
    expected_fp32 = int((free * MARGIN - RESERVE) // (4 * MiB))
    assert auto_batch_size(free, facts, "fp32", 10_000) == expected_fp32 == 1792
    assert auto_batch_size(free, facts, "bf16", 10_000) == 2 * expected_fp32
    assert auto_batch_size(free, facts, "bf16", 10_000, autocast=True) == expected_fp32  # fp32 norms
    # Weights not yet on the device come off the free bytes: 40 MiB of fp32 weights = 10 images.
    assert auto_batch_size(free, facts, "fp32", 10_000, loaded=False) == expected_fp32 - 10
    assert auto_batch_size(free, facts, "fp32", 48) == 48  # capped by the task's batch limit
    assert auto_batch_size(RESERVE, facts, "fp32", 48) == 1  # never below one image: OOM then halves nothing


def test_a_real_size_model_on_a_big_gpu_fills_its_batch_limit_and_on_a_small_one_does_not():
    with torch.device("meta"):
        facts = facts_for_module(build_model("depth", "1b"))
    need = facts.per_image * bytes_per_element("bf16")
    assert 1.5 * GiB < need < 2.5 * GiB  # a 1024x768 head of 384 channels, at bf16
    assert auto_batch_size(140 * GiB, facts, "bf16", TASKS["depth"].max_batch) == TASKS["depth"].max_batch
    assert auto_batch_size(24 * GiB, facts, "bf16", TASKS["depth"].max_batch) < 12


def test_facts_of_a_torchscript_graph_are_those_of_its_weights_in_our_model(tiny_checkpoint):
    path = tiny_checkpoint("seg", "torchscript")
    with open_backend(path, task="seg", device="cpu") as original, open_backend(path, "seg", "cpu", fast=True) as fast:
        assert facts_for_backend(original) == facts_for_backend(fast)
    with open_backend(tiny_checkpoint("seg", "onnx"), task="seg", device="cpu") as onnx:
        assert facts_for_backend(onnx) is None  # priced as the largest official model instead


def test_the_plan_names_free_memory_and_the_need_per_image(tiny_checkpoint):
    with open_backend(tiny_checkpoint("pose", "pth"), task="pose", device="cpu") as backend:
        facts = facts_for_backend(backend)
        size, line = plan_batch_size([backend], 2 * GiB)
        expected = auto_batch_size(2 * GiB, facts, "fp32", backend.max_batch)
        assert size == expected
        assert line == f"batch size auto: {expected} (free 2.0 GiB, ~{facts.per_image * 4 / MiB:.0f} MiB per image)"
        assert choose_batch_size([backend]) == (
            backend.max_batch,
            f"batch size auto: {backend.max_batch} (CPU default)",
        )


def test_predict_batch_size_auto_says_its_choice(tiny_checkpoint, tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    for name in ("a", "b"):
        Image.fromarray(np.full((64, 48, 3), 100, np.uint8)).save(images / f"{name}.png")
    pose = str(tiny_checkpoint("pose", "pth"))
    args = ["predict", str(images), "--out", str(tmp_path / "out"), "--pose", pose, "--device", "cpu", "--no-overlay"]
    assert main([*args, "--batch-size", "auto"]) == 0
    assert "batch size auto: 4 (CPU default)" in capsys.readouterr().out
    assert (tmp_path / "out" / "b.json").exists()
    with pytest.raises(SystemExit) as usage:
        main([*args, "--batch-size", "many"])
    assert usage.value.code == 2 and "expected a number or 'auto', not 'many'" in capsys.readouterr().err
