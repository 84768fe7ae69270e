"""Detector + pose on the CPU for 1, 5 and 20 people per image: time per image and per person, pose crops batched
against one at a time, and the old way (one whole-image crop, no detector) as the baseline, all in one run.

RTMDet-m runs for real (random weights: its cost does not depend on them) and then reports N fixed boxes, so the
number of crops is exactly the number of people. The pose model is a Sapiens ViT with random weights at the real
crop size 1024x768; ``BENCH_POSE_ARCH`` picks it (default "0.3b"; "tiny" for a quick look at the overheads).
No assertions: figures only.
"""

from __future__ import annotations

import os
import time

import numpy as np

PEOPLE = (1, 5, 20)
REPEATS = 2


class _Boxes:
    """The real detector's forward, then N boxes side by side across the image."""

    def __init__(self, rtmdet, count: int) -> None:
        self.rtmdet, self.count, self.name = rtmdet, count, "bench"

    def detect(self, image, foreground=None):
        self.rtmdet.detect(image)
        h, w = image.shape[:2]
        step = w / self.count
        return np.array([[i * step, 0.1 * h, (i + 1) * step, 0.9 * h, 0.9] for i in range(self.count)], np.float32)

    def describe(self):
        return {"detector": "bench"}

    def close(self):
        pass


def _pipeline(arch: str, batch_size: int, detector):
    import torch

    from sapiens_core.backends.base import TorchBackend
    from sapiens_core.nn import build_model
    from sapiens_core.pipeline import Pipeline, TaskModel

    class EagerPose(TorchBackend):
        format = "pth"

        def __init__(self) -> None:
            super().__init__(f"random-{arch}-pose.pth", "pose", "cpu")
            with torch.no_grad():
                self._module = build_model("pose", arch, num_outputs=308).eval()
            self.provider = self._describe("fp32")
            self.max_batch = 64  # let --batch-size decide, to compare batched and one-by-one crops

    return Pipeline({"pose": TaskModel("pose", EagerPose())}, batch_size=batch_size, detector=detector)


def _seconds(pipeline, frame) -> float:
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        pipeline.run([frame])
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    import torch

    from sapiens_core.detect import RTMDetDetector, build_rtmdet
    from sapiens_core.pipeline import Frame

    arch = os.environ.get("BENCH_POSE_ARCH", "0.3b")
    image = np.random.default_rng(0).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    frame = Frame(image, "bench.png")
    rtmdet = RTMDetDetector(build_rtmdet("m"))
    rtmdet.detect(image)  # warm-up
    det_times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        rtmdet.detect(image)
        det_times.append(time.perf_counter() - t0)
    detector_s = min(det_times)
    print(
        f"pose arch {arch} (random weights), 1280x720 image, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print(f"RTMDet-m alone: {detector_s * 1000:.0f} ms/image")
    baseline = _pipeline(arch, 1, None)
    baseline.run([frame])  # warm-up
    base_s = _seconds(baseline, frame)
    print(f"baseline, no detector, one whole-image crop: {base_s:.2f} s/image")
    for people in PEOPLE:
        detector = _Boxes(rtmdet, people)
        one = _seconds(_pipeline(arch, 1, detector), frame)
        batched = _seconds(_pipeline(arch, min(people, 8), detector), frame)
        print(
            f"{people:2d} people: batched crops {batched:.2f} s/image ({(batched - detector_s) / people:.3f} s/person "
            f"after the detector), one by one {one:.2f} s/image; one-by-one / batched = {one / batched:.2f}; "
            f"image / baseline = {batched / base_s:.1f}x"
        )
    print(f"RTMDet-m costs {detector_s / base_s:.0%} of one whole-image pose run")


if __name__ == "__main__":
    main()
