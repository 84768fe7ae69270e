"""``bench/gpu_predict.py`` is run on GPUs only now and then; its CPU smoke mode keeps it from rotting: every path
runs, and the FLOP count it divides by is the one a hand count of the patch embedding bounds from below."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def test_smoke_mode_prints_a_row_per_task_path_and_batch(capsys):
    from bench import gpu_predict

    assert gpu_predict.main(["--smoke", "--tasks", "pose"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()[1:]]
    assert {(r[0], r[2], r[3]) for r in rows} == {
        ("pose", b, p) for b in ("1", "2") for p in ("fp32", "bf16-autocast", "bf16")
    }
    assert all(float(r[4]) > 0 for r in rows)


def test_flops_per_image_count_at_least_the_patch_embedding():
    from bench.gpu_predict import measure
    from sapiens_core.nn.arch import get_arch

    result = measure("pose", "sapiens_tiny", 1, "fp32", __import__("torch").device("cpu"), (256, 192), 1, 0, None)
    d = get_arch("sapiens_tiny").embed_dim
    patch_embed = 2 * (256 // 16) * (192 // 16) * d * 3 * 16 * 16  # multiply-adds of the 16x16 stride-16 conv
    assert result["tflop_per_image"] * 1e12 > patch_embed
