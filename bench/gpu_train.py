"""Training throughput, peak memory and MFU of Sapiens pose models on one GPU, bf16 autocast (the trainer's step).

Self-contained: synthetic inputs and targets, the trainer's optimizer and loss; no data files, no checkpoints.
Prints one line per (arch, batch): images/s, peak memory, and MFU = achieved FLOP/s over the GPU's bf16 peak,
with FLOPs counted by torch's FlopCounterMode on one forward + backward (so the figure is exact for this model).

    python bench/gpu_train.py                        # sapiens_0.3b and sapiens_1b at batch 8, 16, 32
    python bench/gpu_train.py --archs sapiens_0.3b --batches 16 --steps 20 --activation-checkpointing
    python bench/gpu_train.py --smoke                # sapiens_tiny on the CPU at 2 steps: checks the script runs
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable as a plain script from anywhere

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from sapiens_core.nn import build_model  # noqa: E402
from trainer.losses import keypoint_mse  # noqa: E402
from trainer.optim import build_optimizer  # noqa: E402
from trainer.wrap import enable_activation_checkpointing  # noqa: E402

# Dense bf16 peak (no sparsity) in TFLOP/s, by a substring of torch.cuda.get_device_name().
PEAK_BF16_TFLOPS = {
    "H200": 989.0,
    "H100": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "A10G": 125.0,
    "L4": 121.0,
    "4090": 165.0,
    "3090": 71.0,
}


def peak_tflops(device: torch.device, override: float | None) -> float | None:
    if override:
        return override
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)


def train_step(model, optimizer, x, target, weights, autocast: bool) -> None:
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=autocast):
        out = model(x)
    loss = keypoint_mse(out.float(), target, weights)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()


def measure(
    arch: str,
    batch: int,
    steps: int,
    warmup: int,
    device: torch.device,
    size: tuple[int, int],
    activation_checkpointing: bool,
    peak: float | None,
    compile_model: bool = False,
    fused: bool | None = None,
) -> dict:
    torch.manual_seed(0)
    model = build_model("pose", arch).to(device).train()
    if activation_checkpointing:
        enable_activation_checkpointing(model)
    optimizer = build_optimizer(model, model.arch.num_layers, lr=5e-5, weight_decay=0.1, layer_decay=0.85, fused=fused)
    x = torch.randn(batch, 3, size[1], size[0], device=device)
    k = model.num_outputs
    target = torch.rand(batch, k, size[1] // 4, size[0] // 4, device=device)
    weights = torch.ones(batch, k, device=device)
    autocast = device.type == "cuda"
    with FlopCounterMode(display=False) as counter:  # counted on the eager model: compiled graphs hide ops
        train_step(model, optimizer, x, target, weights, autocast)
    flops_per_step = counter.get_total_flops()
    if compile_model:
        model = torch.compile(model)
    for _ in range(max(warmup - 1, 0)):
        train_step(model, optimizer, x, target, weights, autocast)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(steps):
        train_step(model, optimizer, x, target, weights, autocast)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = (time.perf_counter() - start) / steps
    result = {
        "arch": arch,
        "batch": batch,
        "images_per_s": batch / seconds,
        "step_s": seconds,
        "tflops_per_step": flops_per_step / 1e12,
    }
    if device.type == "cuda":
        result["peak_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    if peak:
        result["mfu"] = flops_per_step / seconds / (peak * 1e12)
    del model, optimizer
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--archs", nargs="+", default=["sapiens_0.3b", "sapiens_1b"])
    p.add_argument("--batches", nargs="+", type=int, default=[8, 16, 32])
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--activation-checkpointing", action="store_true")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (the trainer's --compile)")
    p.add_argument("--no-fused-adam", action="store_true", help="torch's default AdamW instead of the fused kernel")
    p.add_argument("--peak-tflops", type=float, help="the GPU's dense bf16 peak, if its name is not in the table")
    p.add_argument("--smoke", action="store_true", help="sapiens_tiny, CPU, 192x256 crops, 2 steps")
    args = p.parse_args(argv)
    size = (768, 1024)
    if args.smoke:
        device = torch.device("cpu")
        args.archs, args.batches, args.steps, args.warmup, size = ["sapiens_tiny"], [2], 2, 1, (192, 256)
    else:
        if not torch.cuda.is_available():
            print("no CUDA device (use --smoke to check the script on the CPU)", file=sys.stderr)
            return 2
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.backends.cuda.matmul.allow_tf32 = True
        print(f"# {torch.cuda.get_device_name(device)}, torch {torch.__version__}, bf16 autocast", flush=True)
    peak = peak_tflops(device, args.peak_tflops)
    for arch in args.archs:
        for batch in args.batches:
            try:
                r = measure(
                    arch,
                    batch,
                    args.steps,
                    args.warmup,
                    device,
                    size,
                    args.activation_checkpointing,
                    peak,
                    args.compile,
                    False if args.no_fused_adam else None,
                )
            except torch.OutOfMemoryError:
                print(f"{arch}\tbatch {batch}\tout of memory", flush=True)
                torch.cuda.empty_cache()
                continue
            extra = f"\tpeak {r['peak_gib']:.1f} GiB" if "peak_gib" in r else ""
            extra += f"\tMFU {100 * r['mfu']:.1f}%" if "mfu" in r else ""
            print(
                f"{arch}\tbatch {batch}\t{r['images_per_s']:.2f} img/s\t{r['tflops_per_step']:.2f} TFLOP/step{extra}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
