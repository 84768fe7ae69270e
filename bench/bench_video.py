"""Tracking and headless video on the CPU: the tracker's cost per frame against the pose model's, and a whole video
through ``predict --track --render-video``: frames/s and resident memory, which must stay flat as the video grows.

1. Tracker: 5 persons of 308 points per frame, walking, for 300 frames; boxes-only association as the baseline.
2. Pose model for the same frame (5 person crops at 1024x768, batched): a Sapiens ViT with random weights;
   ``BENCH_POSE_ARCH`` picks it (default "0.3b"; "tiny" for a quick look). Share = tracker / (tracker + model).
3. Headless run with a tiny pose model on a synthetic 320x240 video of two people (``BENCH_VIDEO_SECONDS``,
   default 60, at 10 fps), against a run on half the video as the baseline: the peak resident memory of both
   (sampled every 50 ms) should be the same if nothing grows with the number of frames.
No assertions: figures only.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

FPS = 10.0


def _walkers(frames: int, people: int = 5, points: int = 308):
    from sapiens_core.annotation import Person

    rng = np.random.default_rng(0)
    template = rng.uniform(0, 1, (points, 2)) * [80, 200]
    for t in range(frames):
        persons = []
        for i in range(people):
            x, y = 40 + 220 * i + 3 * t * (-1) ** i, 100.0
            xy = template + [x, y] + rng.normal(0, 1.5, (points, 2))
            persons.append(Person.from_prediction(i, xy, np.full(points, 0.9), box=[x, y, x + 80, y + 200], score=0.9))
        yield persons


def _tracker_ms(with_keypoints: bool, frames: int = 300) -> float:
    from sapiens_core.track import DocumentTracker, PersonTracker

    persons_per_frame = list(_walkers(frames))
    if with_keypoints:
        tracker = DocumentTracker()
        t0 = time.perf_counter()
        for persons in persons_per_frame:
            tracker.update(persons, "goliath_308")
    else:
        boxes_only = PersonTracker()
        per_frame = [(np.array([p.box for p in ps]), np.array([p.score for p in ps])) for ps in persons_per_frame]
        t0 = time.perf_counter()
        for boxes, scores in per_frame:
            boxes_only.update(boxes, scores)
    return (time.perf_counter() - t0) / frames * 1000


def _model_s(arch: str) -> float:
    import torch

    from sapiens_core.backends.base import TorchBackend
    from sapiens_core.nn import build_model
    from sapiens_core.pipeline import Frame, Pipeline, TaskModel

    class EagerPose(TorchBackend):
        format = "pth"

        def __init__(self) -> None:
            super().__init__(f"random-{arch}-pose.pth", "pose", "cpu")
            with torch.no_grad():
                self._module = build_model("pose", arch, num_outputs=308).eval()
            self.provider = self._describe("fp32")
            self.max_batch = 8

    pipeline = Pipeline({"pose": TaskModel("pose", EagerPose())}, batch_size=5)
    image = np.random.default_rng(0).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    boxes = np.array([[40 + 240 * i, 100, 200 + 240 * i, 600, 0.9] for i in range(5)], np.float32)
    frame = Frame(image, "bench.png", boxes)
    pipeline.run([frame])  # warm-up
    t0 = time.perf_counter()
    pipeline.run([frame])
    return time.perf_counter() - t0


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _write_video(path: Path, frames: int) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (320, 240))
    for t in range(frames):
        image = np.full((240, 320, 3), 40, np.uint8)
        x = 20 + (t * 2) % 120
        cv2.rectangle(image, (x, 40), (x + 50, 220), (60, 170, 220), -1)
        cv2.rectangle(image, (240, 30), (300, 225), (200, 120, 60), -1)
        writer.write(image)
    writer.release()
    return path


def _headless(video: Path, pose: Path, frames: int, out: Path) -> tuple[float, list[tuple[float, int]]]:
    """(frames/s, [(seconds since start, RSS)] sampled every 50 ms) for ``predict VIDEO --track --render-video``."""
    from sapiens_core.cli import main

    boxes = {}
    for t in range(frames):
        x = 20 + (t * 2) % 120
        boxes[f"{video.stem}_f{t:06d}"] = [[x, 40, x + 50, 220, 0.9], [240, 30, 300, 225, 0.9]]
    (out / "boxes.json").write_text(json.dumps(boxes))
    t0 = time.perf_counter()
    samples, done = [(0.0, _rss_bytes())], threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            samples.append((time.perf_counter() - t0, _rss_bytes()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    args = [str(video), "--pose", str(pose), "--boxes", str(out / "boxes.json"), "--out", str(out / "run")]
    rc = main(["predict", *args, "--track", "--render-video", "--device", "cpu"])
    elapsed = time.perf_counter() - t0
    done.set()
    sampler.join()
    if rc != 0:
        raise SystemExit(f"predict exited {rc}")
    return frames / elapsed, samples


def _peak_between(samples: list[tuple[float, int]], start: float, stop: float) -> int:
    end = samples[-1][0]
    return max(rss for t, rss in samples if start * end <= t <= stop * end)


def main() -> None:
    import torch

    from tests.tiny_models import build_tiny_model, save_checkpoint

    arch = os.environ.get("BENCH_POSE_ARCH", "0.3b")
    seconds = float(os.environ.get("BENCH_VIDEO_SECONDS", "60"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    with_kp, boxes_only = _tracker_ms(True), _tracker_ms(False)
    print(f"tracker, 5 persons x 308 points: {with_kp:.2f} ms/frame (boxes only, the baseline: {boxes_only:.2f} ms)")
    model = _model_s(arch)
    print(
        f"pose {arch} (random weights), 5 crops batched: {model:.2f} s/frame; "
        f"tracker share of a frame: {with_kp / 1000 / (model + with_kp / 1000):.3%}"
    )

    frames = int(seconds * FPS)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = build_tiny_model("pose", num_outputs=308, embed_dim=64, layers=1, heads=2, head_channels=16)
        pose = save_checkpoint(model, folder / "tiny_pose_torchscript.pt2", "torchscript")
        video = _write_video(folder / "clip.mp4", frames)
        fps, samples = _headless(video, pose, frames, folder)
    # The second quarter of the run (models loaded, buffers warm) is the baseline for the last quarter.
    early, late = _peak_between(samples, 0.25, 0.5), _peak_between(samples, 0.75, 1.0)
    print(f"headless predict --track --render-video, tiny pose model, {frames} frames of 320x240: {fps:.1f} frames/s")
    print(
        f"peak RSS in the 2nd quarter of the run {early / 2**20:.0f} MB, in the last quarter {late / 2**20:.0f} MB: "
        f"ratio {late / early:.2f} (1.00 = flat)"
    )


if __name__ == "__main__":
    main()
