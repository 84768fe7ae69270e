"""Pose heatmap decoding: windowed ``decode_heatmaps`` vs whole-map ``decode_heatmaps_reference``.

One person = (1, 308, 256, 192) heatmaps, the Goliath pose model's output. The maps are realistic: a UDP
Gaussian (sigma 6) per keypoint with peak 0.05-1.0, some near or beyond the crop border, plus N(0, 0.01) noise.
Prints times per person, the speed-up, and the largest coordinate difference. No assertions: this is a report.

    python -m bench.bench_decode
"""

from __future__ import annotations

import time

import numpy as np

from sapiens_core.tasks.heatmap import decode_heatmaps, decode_heatmaps_reference

K, H, W, SIGMA = 308, 256, 192, 6.0


def realistic_heatmaps(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ys, xs = np.arange(H, dtype=np.float32), np.arange(W, dtype=np.float32)
    mu = rng.uniform([-4, -4], [W + 3, H + 3], size=(K, 2)).astype(np.float32)
    amp = rng.uniform(0.05, 1.0, K).astype(np.float32)
    gx = np.exp(-((xs[None, :] - mu[:, :1]) ** 2) / (2 * SIGMA**2))
    gy = np.exp(-((ys[None, :] - mu[:, 1:]) ** 2) / (2 * SIGMA**2))
    hm = amp[:, None, None] * gy[:, :, None] * gx[:, None, :]
    hm += rng.normal(0, 0.01, hm.shape).astype(np.float32)
    return hm.astype(np.float32)[None]


def best_time(fn, repeats: int) -> float:
    """Best of ``repeats`` wall times in seconds (the minimum is the least disturbed by other load)."""
    fn()  # warm caches and lazy imports
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    hm = realistic_heatmaps()
    fast = best_time(lambda: decode_heatmaps(hm), 30)
    ref = best_time(lambda: decode_heatmaps_reference(hm), 5)
    ref32 = best_time(lambda: decode_heatmaps_reference(hm, precision="float32"), 5)
    c_fast, s_fast = decode_heatmaps(hm)
    c_ref, s_ref = decode_heatmaps_reference(hm)
    c_32, _ = decode_heatmaps_reference(hm, precision="float32")
    print(f"decode (1, {K}, {H}, {W}) heatmaps, per person, best of several runs:")
    print(f"  decode_heatmaps (windowed)            {fast * 1e3:8.2f} ms")
    print(f"  decode_heatmaps_reference (float64)   {ref * 1e3:8.2f} ms   speed-up x{ref / fast:.1f}")
    print(f"  reference, mmpose float32 arithmetic  {ref32 * 1e3:8.2f} ms   speed-up x{ref32 / fast:.1f}")
    print(
        f"  max |coord difference| vs reference:       {np.abs(c_fast - c_ref).max():.3g} px"
        f"  (scores identical: {bool(np.array_equal(s_fast, s_ref))})"
    )
    print(f"  max |coord difference| vs mmpose float32:  {np.abs(c_fast - c_32).max():.3g} px")


if __name__ == "__main__":
    main()
