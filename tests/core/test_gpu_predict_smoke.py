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


def test_smoke_mode_compares_the_original_file_with_the_fast_path(capsys):
    from bench import gpu_predict

    paths = ["file-fp32", "file-bf16-autocast", "fast-fp32", "fast-bf16", "fast-bf16-compile"]
    assert gpu_predict.main(["--smoke", "--tasks", "seg", "--batches", "2", "--paths", *paths]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t")[-1] == "vs file"
    rows = {r[3]: r for r in (line.split("\t") for line in lines[1:])}
    assert set(rows) == set(paths) - {"fast-bf16-compile"}  # no compilation in a smoke run
    vs_file = {path: float(row[7]) for path, row in rows.items()}
    assert vs_file["file-fp32"] == 0.0  # the reference itself
    assert vs_file["fast-fp32"] < 1e-4  # our model with the file's weights gives the file's output
    assert 0 < vs_file["fast-bf16"] < 5e-2 and 0 < vs_file["file-bf16-autocast"] < 5e-2
    assert all(float(row[4]) > 0 for row in rows.values())


def test_smoke_mode_runs_a_sapiens2_shape_and_says_why_it_has_no_file_path(capsys):
    from bench import gpu_predict

    argv = ["--smoke", "--tasks", "pointmap", "--archs", "sapiens2_0.4b", "--batches", "1"]
    assert gpu_predict.main([*argv, "--paths", "fp32", "file-fp32"]) == 0
    rows = {r[3]: r for r in (line.split("\t") for line in capsys.readouterr().out.splitlines()[1:])}
    assert rows["file-fp32"][4] == "n/a (safetensors: always our network)"
    fp32 = rows["fp32"]
    assert fp32[:3] == ["pointmap", "sapiens2_0.4b", "1"] and float(fp32[4]) > 0
    # 24 blocks of a 1024-wide transformer over 12x16 + 9 tokens at 256x192: at least 2 * 24 * 201 * 12 * 1024^2
    # multiply-adds (the q/k/v/o and SwiGLU matrices, GQA aside, hold more than 12 d^2 weights per block)
    assert float(fp32[5]) * 1e12 > 2 * 24 * 201 * 8 * 1024**2
