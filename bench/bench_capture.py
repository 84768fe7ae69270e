"""Capture-loop overhead: per-frame time of the live loop (read, hand-offs, inference thread, GUI display)
beyond the model's own time. Same run, same frames, same (warmed) pipeline object:

* direct:  ``pipeline.run`` on the decoded frames one by one (once before the loop, once after);
* loop:    the capture panel (offscreen) playing the video in every-frame mode, from models-ready to the last
           frame on screen, divided by the frames shown.

Every-frame mode (``realtime = False``) is used so that both process exactly the same frames; real-time
playback would drop frames and measure the video's fps instead. No timing assertions: numbers only.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

FRAMES, WIDTH, HEIGHT = 24, 320, 240


def _write_video(path: Path) -> list[np.ndarray]:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (WIDTH, HEIGHT))
    for i in range(FRAMES):
        bgr = np.full((HEIGHT, WIDTH, 3), 40, np.uint8)
        bgr[60:200, 20 + i * 10 : 80 + i * 10] = 230
        writer.write(bgr)
    writer.release()
    cap, frames = cv2.VideoCapture(str(path)), []
    while (ok := cap.read())[0]:
        frames.append(cv2.cvtColor(ok[1], cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


def main() -> None:
    try:
        from tests.tiny_models import build_tiny_model, save_checkpoint
    except Exception as e:  # run from the repository root: python -m bench bench_capture
        print(f"capture loop: skipped (tiny models unavailable: {type(e).__name__}: {e})")
        return
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.capture import CapturePanel
    from sapiens_core.pipeline import Frame, Pipeline

    app = QApplication.instance() or QApplication([])  # noqa: F841 - widgets need it alive
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp) / "tiny_pose_torchscript.pt2"
        save_checkpoint(build_tiny_model("pose"), ckpt, "torchscript")
        frames = _write_video(Path(tmp) / "bench.avi")
        pipeline = Pipeline.from_paths({"pose": str(ckpt)}, device="cpu")
        for rgb in frames[:3]:  # warm-up: TorchScript optimises during its first calls
            pipeline.run([Frame(rgb, "warmup")])

        direct: list[float] = []

        def run_direct():
            for i, rgb in enumerate(frames):
                t0 = time.perf_counter()
                pipeline.run([Frame(rgb, f"bench#{i}")])
                direct.append(time.perf_counter() - t0)

        run_direct()  # before and after the loop, so that drift in the machine's load evens out

        panel = CapturePanel()
        panel.realtime = False
        panel.set_pipeline_factory(lambda: pipeline)  # the same warmed pipeline: only the loop differs
        panel.resize(640, 520)
        panel.show()
        shown_at: list[float] = []
        panel.frame_shown.connect(lambda _i: shown_at.append(time.perf_counter()))
        # An event loop that sleeps until the panel is idle again (end of video, or an error with a message):
        # a polling loop here would steal CPU from the very inference being measured.
        loop = QEventLoop()
        panel.state_changed.connect(lambda state: loop.quit() if state == "idle" else None)
        QTimer.singleShot(600_000, loop.quit)
        panel.open_video(str(Path(tmp) / "bench.avi"))
        panel.start()
        session = panel.session
        loop.exec()
        message = panel.message
        run_direct()  # the session reported the end after its last inference: the pipeline is free
        panel.shutdown(timeout=30)  # also closes the pipeline it was given
        panel.close()
        pipeline.close()  # already closed by the panel; harmless, and certain before the folder goes

    if not shown_at or session.ready_at is None:
        print(f"capture loop: no frames shown ({message})")
        return
    n = len(shown_at)
    per_frame = (shown_at[-1] - session.ready_at) / n
    in_loop = statistics.mean(session.infer_times)
    alone = statistics.mean(direct)
    print(f"capture loop (tiny pose, CPU, {WIDTH}x{HEIGHT}, {n}/{len(frames)} frames shown, {message}):")
    print(
        f"  pipeline.run alone:      {alone * 1000:7.1f} ms/frame (mean; median {statistics.median(direct) * 1000:.1f})"
    )
    print(f"  pipeline.run in the loop:{in_loop * 1000:7.1f} ms/frame (mean, inference thread)")
    print(f"  whole loop per frame:    {per_frame * 1000:7.1f} ms/frame (models ready -> last frame on screen)")
    print(
        f"  overhead: {(per_frame - alone) * 1000:+.1f} ms/frame, ratio loop/alone {per_frame / alone:.3f}, "
        f"dropped {panel.frames_dropped}"
    )
    # Less exposed to other load on the machine than the line above: both sides measured in the same seconds.
    print(
        f"  loop beyond its own pipeline.run: {(per_frame - in_loop) * 1000:+.2f} ms/frame "
        f"({(per_frame - in_loop) / in_loop * 100:+.2f} %)"
    )


if __name__ == "__main__":
    main()
