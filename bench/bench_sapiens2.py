"""A Sapiens2-0.4B pose forward against a Sapiens-0.3B pose forward on the CPU, in the same run.

Both models are built with random weights (their cost does not depend on them) at the official input size
1024x768 and run in fp32, as the CPU path does for both families (``backends/precision.py``: bf16 autocast is
a CUDA default for Sapiens2 only, and on CPUs without bf16 matrix units it is slower than fp32); each is timed
over ``RUNS`` runs after one warm-up.
The ratio says what choosing the newer family costs per image on a machine without a GPU. No assertions:
figures only. ``BENCH_RUNS`` sets the number of timed runs (default 2: each forward takes seconds on two cores).
"""

from __future__ import annotations

import os
import statistics
import time

RUNS = int(os.environ.get("BENCH_RUNS", "2"))


def _time(name: str, model) -> float:
    import torch

    x = torch.randn(1, 3, 1024, 768)
    params = sum(p.numel() for p in model.parameters())
    with torch.inference_mode():
        model(x)  # warm-up: allocator, kernels
        times = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            out = model(x)
            times.append(time.perf_counter() - t0)
    per = statistics.median(times)
    print(
        f"{name}: {per:.2f} s/image (median of {RUNS}; {params / 1e6:.0f} M params, output {tuple(out.shape)}, "
        f"{torch.get_num_threads()} threads)",
        flush=True,  # each figure as soon as it exists: the whole run takes many minutes on two cores
    )
    return per


def main() -> None:
    from sapiens_core.nn import build_model
    from sapiens_core.nn.sapiens2_model import build_sapiens2

    v1 = _time("sapiens 0.3B pose (v1)", build_model("pose", "0.3b").eval())
    v2 = _time("sapiens2 0.4B pose", build_sapiens2("pose", "0.4b").eval())
    print(f"ratio: sapiens2-0.4B / sapiens-0.3B forward = {v2 / v1:.2f}x", flush=True)


if __name__ == "__main__":
    main()
