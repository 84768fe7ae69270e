"""Inference throughput and MFU of Sapiens and Sapiens2 models on one GPU: images/s and achieved FLOP/s over the
GPU's dense bf16 peak, per (task, arch, batch, path). Random weights at the real shapes (1024x768 input); no files.

Paths, from the faithful default to the fastest:

- ``fp32``: fp32 weights at fp32, what ``predict`` runs for TorchScript and ``.pth`` files by default;
- ``bf16-autocast``: the same weights autocast to bf16 (``predict --precision bf16``);
- ``bf16``: bf16 weights and activations, as the official ``*_bfloat16.pt2`` files run;
- ``bf16-compile``: the bf16 model through ``torch.compile`` (``--compile``; minutes of compilation per shape).

Original file against the fast path (``predict --fast``): the same random model traced to a TorchScript file, as the
official ``*_torchscript.pt2`` files are, then opened by ``open_backend`` either way and timed through the backend's
own forward (device tensors in and out, so only the model's compute is timed):

- ``file-fp32`` / ``file-bf16-autocast``: the TorchScript graph as ``predict`` runs it (``--precision bf16``);
- ``fast-fp32`` / ``fast-bf16`` / ``fast-bf16-compile``: its weights in our own model (``--fast``, ``--compile``).

These rows add ``vs file``: the largest difference from the file's fp32 output over that output's largest magnitude.

FLOPs are counted once per shape by torch's FlopCounterMode on the eager model (0.3B: ~1.24 TFLOP per image; the
attention over 3072 tokens included). The physical limit of an H200 (989 TFLOP/s bf16) for 0.3B is ~800 images/s.

    python bench/gpu_predict.py                                  # pose + seg, 0.3b/0.6b/1b, batch 1..64
    python bench/gpu_predict.py --tasks pose --archs sapiens_0.3b --batches 32 --paths bf16 bf16-compile
    python bench/gpu_predict.py --tasks pose --archs sapiens_0.3b --batches 32 --paths file-fp32 fast-fp32 fast-bf16
    python bench/gpu_predict.py --tasks pose seg pointmap --archs sapiens2_0.4b sapiens2_1b sapiens2_5b --paths bf16
    python bench/gpu_predict.py --smoke                          # sapiens_tiny on the CPU: checks the script runs

Sapiens2 shapes (``sapiens2_0.4b`` ... ``sapiens2_5b``; tasks pose, seg, normal, pointmap) run the model-only paths:
their files are safetensors, always loaded into our own network, so there is no original-file graph to compare.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable as a plain script from anywhere

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from bench.gpu_train import peak_tflops  # noqa: E402
from sapiens_core.backends import open_backend  # noqa: E402
from sapiens_core.nn import build_model  # noqa: E402
from sapiens_core.nn.sapiens2_model import build_sapiens2  # noqa: E402

PATHS = ("fp32", "bf16-autocast", "bf16", "bf16-compile")
# (precision, fast, compile) of open_backend for each original-file / fast path
FILE_PATHS = {
    "file-fp32": ("fp32", False, False),
    "file-bf16-autocast": ("bf16", False, False),
    "fast-fp32": ("fp32", True, False),
    "fast-bf16": ("bf16", True, False),
    "fast-bf16-compile": ("bf16", True, True),
}


def _runner(model: torch.nn.Module, path: str):
    """The callable for one path; the model is converted in place for the bf16 paths."""
    if path in ("bf16", "bf16-compile"):
        model.to(torch.bfloat16)
    fn = torch.compile(model) if path == "bf16-compile" else model
    dtype = torch.bfloat16 if path in ("bf16", "bf16-compile") else torch.float32

    def run(x: torch.Tensor) -> torch.Tensor:
        context = torch.autocast(x.device.type, dtype=torch.bfloat16) if path == "bf16-autocast" else None
        with torch.inference_mode(), context or contextlib.nullcontext():
            return fn(x.to(dtype))

    return run


def _timed(run, x: torch.Tensor, device: torch.device, steps: int, warmup: int) -> float:
    """Seconds per call of ``run(x)``, after ``warmup`` calls (compilation happens there)."""
    for _ in range(warmup):
        run(x)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        run(x)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / steps


def _traced_file(model: torch.nn.Module, example: torch.Tensor, folder: Path, name: str) -> Path:
    """The model traced at batch 1 and saved as TorchScript, as the official files were made."""
    path = folder / f"{name}_torchscript.pt2"
    if not path.exists():
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the tracer's notes on shape-dependent branches
            torch.jit.save(torch.jit.trace(model, example, check_trace=False), str(path))
    return path


def _file_run(task: str, model, x: torch.Tensor, path: str, folder: Path):
    """(the backend's forward for ``path``, the file's fp32 output) on the traced file of ``model``."""
    file = _traced_file(model, x[:1], folder, f"{task}_{sum(p.numel() for p in model.parameters())}")
    with open_backend(file, task=task, device=x.device.type, precision="fp32") as original:
        reference = original._run(x).float()
    precision, fast, compile = FILE_PATHS[path]
    backend = open_backend(file, task=task, device=x.device.type, precision=precision, fast=fast, compile=compile)
    return backend._run, reference


def _build(task: str, arch: str, size: tuple[int, int]) -> torch.nn.Module:
    if arch.startswith("sapiens2_"):  # v2 heads are built for their input size (the pointmap scale branch)
        return build_sapiens2(task, arch.removeprefix("sapiens2_"), input_size=size)
    return build_model(task, arch)


def measure(
    task: str,
    arch: str,
    batch: int,
    path: str,
    device: torch.device,
    size,
    steps: int,
    warmup: int,
    peak,
    folder: Path | None = None,
):
    """images/s, TFLOP per image, MFU (with a peak) and, for the file and fast paths, the difference vs the file."""
    torch.manual_seed(0)
    model = _build(task, arch, size).to(device).eval()
    x = torch.randn(batch, 3, *size, device=device)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(x[:1])
    flops_per_image = counter.get_total_flops()
    reference = None
    if path in FILE_PATHS:
        if folder is None:
            raise ValueError(f"path {path} needs a folder for the traced file")
        run, reference = _file_run(task, model, x, path, folder)
        del model
    else:
        run = _runner(model, path)
    seconds = _timed(run, x, device, steps, warmup)
    result = {"images_per_s": batch / seconds, "tflop_per_image": flops_per_image / 1e12}
    if peak:
        result["mfu"] = batch * flops_per_image / seconds / (peak * 1e12)
    if reference is not None:
        out = run(x).float()
        result["vs_file"] = float((out - reference).abs().max() / reference.abs().max())
    del run
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--tasks", nargs="+", default=["pose", "seg"], choices=["pose", "seg", "depth", "normal", "pointmap"]
    )
    p.add_argument("--archs", nargs="+", help="default: sapiens_0.3b sapiens_0.6b sapiens_1b (--smoke: sapiens_tiny)")
    p.add_argument("--batches", nargs="+", type=int, help="default: 1 4 16 32 64 (--smoke: 1 2)")
    p.add_argument("--paths", nargs="+", default=["fp32", "bf16-autocast", "bf16"], choices=[*PATHS, *FILE_PATHS])
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--peak-tflops", type=float, help="the GPU's dense bf16 peak, if its name is not in the table")
    p.add_argument("--smoke", action="store_true", help="sapiens_tiny on the CPU at 256x192, one step")
    args = p.parse_args(argv)
    size = (1024, 768)
    if args.smoke:
        device = torch.device("cpu")
        args.batches = args.batches or [1, 2]
        args.archs, args.steps, args.warmup, size = args.archs or ["sapiens_tiny"], 1, 1, (256, 192)
        args.paths = [path for path in args.paths if not path.endswith("compile")]
    else:
        if not torch.cuda.is_available():
            print("no CUDA device (use --smoke to check the script on the CPU)", file=sys.stderr)
            return 2
        device = torch.device("cuda")
        args.archs = args.archs or ["sapiens_0.3b", "sapiens_0.6b", "sapiens_1b"]
        args.batches = args.batches or [1, 4, 16, 32, 64]
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32 here: the faithful path's real cost
        print(f"# {torch.cuda.get_device_name(device)}, torch {torch.__version__}", flush=True)
    peak = peak_tflops(device, args.peak_tflops)
    print("task\tarch\tbatch\tpath\timages/s\tTFLOP/image\tMFU\tvs file", flush=True)
    with tempfile.TemporaryDirectory(prefix="gpu_predict_") as folder:
        for task in args.tasks:
            for arch in args.archs:
                for path in args.paths:
                    for batch in args.batches:
                        _row(task, arch, batch, path, device, size, args, peak, Path(folder))
    return 0


def _row(task: str, arch: str, batch: int, path: str, device, size, args, peak, folder: Path) -> None:
    if arch.startswith("sapiens2_") and path in FILE_PATHS:
        print(f"{task}\t{arch}\t{batch}\t{path}\tn/a (safetensors: always our network)", flush=True)
        return
    try:
        r = measure(task, arch, batch, path, device, size, args.steps, args.warmup, peak, folder)
    except torch.OutOfMemoryError:
        print(f"{task}\t{arch}\t{batch}\t{path}\tout of memory", flush=True)
        torch.cuda.empty_cache()
        return
    mfu = f"{100 * r['mfu']:.1f}%" if "mfu" in r else "-"
    vs_file = f"{r['vs_file']:.2e}" if "vs_file" in r else "-"
    print(
        f"{task}\t{arch}\t{batch}\t{path}\t{r['images_per_s']:.2f}\t{r['tflop_per_image']:.3f}\t{mfu}\t{vs_file}",
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
