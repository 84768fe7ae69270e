"""Quick backend (MediaPipe Holistic -> Goliath-308) vs a Sapiens-0.3B pose forward, both on the CPU, same run.

The Sapiens model is built with random weights (its cost does not depend on them) and run once at the
official input size 1024x768 with bf16 autocast, as the CPU path would; the quick backend is timed after
one warm-up. No assertions: figures only.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
IMAGE = ROOT / "resources" / "astronaut.png"
QUICK_RUNS = 10


def _load_image() -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(IMAGE).convert("RGB"))


def _time_quick(image: np.ndarray) -> float | None:
    from sapiens_core.quick import QuickModel, install_hint, quick_available

    if not quick_available():
        print(f"quick (mediapipe holistic): skipped - not installed ({install_hint()})")
        return None
    with QuickModel() as model:
        t0 = time.perf_counter()
        result = model.predict(image)  # warm-up: graph start, model loading
        warm = time.perf_counter() - t0
        times = []
        for _ in range(QUICK_RUNS):
            t0 = time.perf_counter()
            model.predict(image)
            times.append(time.perf_counter() - t0)
    labeled = 0 if result is None else int(result.labeled.sum())
    per = statistics.median(times)
    print(
        f"quick (mediapipe holistic, CPU): {per * 1000:.1f} ms/image (median of {QUICK_RUNS}, "
        f"min {min(times) * 1000:.1f}; first call {warm * 1000:.0f} ms), {image.shape[1]}x{image.shape[0]}, "
        f"{labeled}/308 keypoints labeled"
    )
    return per


def _time_sapiens(image: np.ndarray) -> float | None:
    try:
        import torch

        from sapiens_core.nn import build_model
    except Exception as e:  # torch missing or the nn package not there yet
        print(f"sapiens 0.3B pose forward: skipped ({type(e).__name__}: {e})")
        return None
    import cv2

    t0 = time.perf_counter()
    model = build_model("pose", "0.3b").eval()
    built = time.perf_counter() - t0
    params = sum(p.numel() for p in model.parameters())
    # The official preprocessing: resize to 768x1024, ImageNet mean/std (RGB, 0-255).
    x = cv2.resize(image, (768, 1024), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    x = (x - np.array([123.675, 116.28, 103.53], np.float32)) / np.array([58.395, 57.12, 57.375], np.float32)
    x = torch.from_numpy(x.transpose(2, 0, 1)[None].copy())
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        t0 = time.perf_counter()
        out = model(x)
        per = time.perf_counter() - t0
    print(
        f"sapiens 0.3B pose forward (CPU, bf16 autocast, 1x3x1024x768 -> {tuple(out.shape)}): {per:.2f} s/image "
        f"(one run; {params / 1e6:.0f} M params, built in {built:.1f} s, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads)"
    )
    return per


def main() -> None:
    image = _load_image()
    quick = _time_quick(image)
    sapiens = _time_sapiens(image)
    if quick and sapiens:
        print(
            f"ratio: sapiens-0.3B forward / quick = {sapiens / quick:.0f}x "
            f"(the forward alone, without decoding; quick includes its whole pipeline and the mask)"
        )


if __name__ == "__main__":
    main()
