"""Seg post-processing (issue 12): a 28x1024x768 logit map to a 4000x3000 class map.

Three ways: the host strip path (numpy in, as the backends hand it over today), the device path run on a CPU
tensor (the same torch code that runs on CUDA, so its cost on the host is known), and the device path on CUDA when
there is one (the logits already on the GPU; the timing includes copying the uint8 map back). Prints seconds and
the ratio to the host path. No assertions: this is a report.

    python -m bench.bench_postprocess
"""

from __future__ import annotations

import time

import numpy as np
import torch

from sapiens_core.tasks.dense import logits_to_classes

C, H, W, OUT = 28, 1024, 768, (4000, 3000)


def best_time(fn, repeats: int) -> float:
    """Best of ``repeats`` wall times in seconds, after one warm-up call."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(repeats: int = 2) -> None:
    logits = torch.randn(C, H, W, generator=torch.Generator().manual_seed(0))
    host_input = logits.numpy()
    print(f"seg logits {C}x{H}x{W} -> class map {OUT[0]}x{OUT[1]}, best of {repeats}", flush=True)
    host = best_time(lambda: logits_to_classes(host_input, OUT, on_device=False), repeats)
    print(f"  host strip path           {host:7.3f} s", flush=True)
    on_cpu = best_time(lambda: logits_to_classes(logits, OUT, on_device=True), repeats)
    print(f"  device path, CPU tensor   {on_cpu:7.3f} s   ratio host/device {host / on_cpu:5.2f}", flush=True)
    if torch.cuda.is_available():
        gpu_logits = logits.cuda()

        def on_gpu():
            logits_to_classes(gpu_logits, OUT)  # the default on CUDA; ends with the host copy, so synchronised

        cuda = best_time(on_gpu, repeats)
        print(f"  device path, CUDA tensor  {cuda:7.3f} s   ratio host/device {host / cuda:5.2f}", flush=True)
        same = np.mean(logits_to_classes(gpu_logits, OUT) == logits_to_classes(host_input, OUT))
        print(f"  CUDA map equal to host map at {same:.6%} of pixels", flush=True)
    else:
        print("  (no CUDA device: GPU figures not measured)", flush=True)


if __name__ == "__main__":
    main()
