"""The capture panel driven as a user would: a generated video, the tiny models, pause/step/snapshot,
unreadable files, frame dropping behind a slow model, a camera that disappears."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.capture import CapturePanel
from app.capture import worker as capture_worker
from app.qimage import qimage_to_rgb
from sapiens_core.annotation import Annotation
from sapiens_core.project import annotation_path

W, H = 320, 240


def write_video(path: Path, frames: int = 20, fps: float = 20.0) -> Path:
    """A bright square moving over a dark gradient, MJPG in AVI (H.264 writing is not available here)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (W, H))
    assert writer.isOpened()
    for i in range(frames):
        bgr = np.zeros((H, W, 3), np.uint8)
        bgr[:, :, 0] = np.linspace(20, 90, W, dtype=np.uint8)[None, :]
        x = 10 + i * 12
        bgr[80:160, x : x + 60] = (255, 255, 255)
        writer.write(bgr)
    writer.release()
    return path


def decode_all(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


def shown_rgb(panel: CapturePanel) -> np.ndarray:
    return qimage_to_rgb(panel.scene.image_item.pixmap().toImage())


def test_live_video_pause_step_snapshot(qtbot, panel, tmp_path, tiny_checkpoints, monkeypatch):
    # Which thread runs the models: recorded around the real Pipeline.run, which still does all the work.
    import threading

    from sapiens_core.pipeline import Pipeline

    run_threads: list[str] = []
    real_run = Pipeline.run
    monkeypatch.setattr(
        Pipeline,
        "run",
        lambda self, frames: run_threads.append(threading.current_thread().name) or real_run(self, frames),
    )
    video = write_video(tmp_path / "clip.avi")
    frames = decode_all(video)
    assert len(frames) == 20
    panel.realtime = False  # every frame, as fast as the model allows: deterministic on any machine
    panel.set_models({"pose": tiny_checkpoints["pose"], "seg": tiny_checkpoints["seg"]}, "cpu")

    panel.open_video(str(video))
    qtbot.waitUntil(lambda: panel.state == "paused", timeout=10000)
    np.testing.assert_array_equal(shown_rgb(panel), frames[0])  # the first frame as a preview
    assert "320×240" in panel.message

    # The GUI thread keeps running while frames are read and inferred: the models run on the worker's thread
    # (whatever the machine's load, unlike a bound on the gaps between GUI ticks), and the event loop turns
    # while a frame is being inferred.
    ticks_during_inference: list[int] = []
    from PySide6.QtCore import QTimer

    heartbeat = QTimer(interval=20, timeout=lambda: ticks_during_inference.append(len(run_threads)))
    heartbeat.start()
    panel.start()
    assert panel.state == "playing"
    qtbot.waitUntil(lambda: panel.frames_shown >= 2 and panel.current_annotation is not None, timeout=60000)
    heartbeat.stop()
    assert run_threads and set(run_threads) == {"capture-inference"}
    assert threading.current_thread() is threading.main_thread()
    assert any(n >= 1 for n in ticks_during_inference), "the GUI did not turn once after the first inference began"
    assert "fps" in panel.stats_label.text() and "latency" in panel.stats_label.text()

    panel.pause()
    assert panel.state == "paused"
    paused_at, shown = panel.shown_index, panel.frames_shown
    qtbot.wait(800)  # longer than one inference: results still in flight must not change the display
    assert (panel.shown_index, panel.frames_shown) == (paused_at, shown)
    np.testing.assert_array_equal(shown_rgb(panel), frames[paused_at])

    with qtbot.waitSignal(panel.frame_shown, timeout=30000) as blocker:
        panel.step_frame()
    assert blocker.args == [paused_at + 1]
    assert panel.shown_index == paused_at + 1 and panel.state == "paused"
    np.testing.assert_array_equal(shown_rgb(panel), frames[paused_at + 1])
    doc = panel.current_annotation
    assert doc is not None and doc.persons and doc.part_map is not None and doc.image_size == (W, H)

    with qtbot.waitSignal(panel.snapshot_taken, timeout=10000) as blocker:
        png = panel.snapshot()
    assert blocker.args == [str(png)]
    assert png.parent == tmp_path / "sapiens_studio_snapshots" and png.name == f"clip_frame{paused_at + 1:06d}.png"
    saved = cv2.cvtColor(cv2.imread(str(png), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(saved, frames[paused_at + 1])  # lossless
    json_path = annotation_path(png)
    assert json_path.parent.name == "sapiens_studio" and json_path.is_file()
    loaded = Annotation.load(json_path)
    assert Path(loaded.image_path).resolve() == png.resolve()
    assert loaded.image_size == (W, H) and len(loaded.persons) == len(doc.persons)
    np.testing.assert_array_equal(loaded.part_map, doc.part_map)
    assert not list(png.parent.glob(".*"))  # no temporary files left behind

    panel.stop()
    assert panel.state == "idle" and panel.message == "stopped"
    np.testing.assert_array_equal(shown_rgb(panel), frames[paused_at + 1])  # the last result stays


@pytest.mark.parametrize("name, content", [("notes.avi", b"this is not a video\n"), ("missing.mp4", None)])
def test_unreadable_file_gives_a_message(qtbot, panel, tmp_path, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    panel.open_video(str(path))
    qtbot.waitUntil(lambda: panel.state == "idle" and "Cannot open" in panel.message, timeout=10000)
    assert name in panel.message
    assert panel.current_frame is None and panel.session is None
    assert panel.source_combo.findData(str(path)) < 0  # not kept as a source
    panel.start()
    assert "Choose a camera or a video file" in panel.message


class SlowPipeline:
    """Stands in for a slow model to test scheduling (not the model): sleeps, returns an empty document."""

    def __init__(self, seconds: float = 0.25):
        self.seconds = seconds
        self.closed = False

    def run(self, frames):
        time.sleep(self.seconds)
        return [Annotation(image_path=f.path, image_size=(f.image.shape[1], f.image.shape[0])) for f in frames]

    def close(self):
        self.closed = True


def test_slow_model_drops_frames_and_keeps_the_newest(qtbot, panel, tmp_path):
    video = write_video(tmp_path / "fast.avi", frames=20, fps=20)  # one second of video, ~4 inferences
    frames = decode_all(video)
    panel.set_pipeline_factory(SlowPipeline)
    assert panel.realtime  # the default: a video plays at its own speed, like a camera
    shown: list[int] = []
    panel.frame_shown.connect(shown.append)
    panel.open_video(str(video))
    panel.start()  # while opening: plays as soon as the file is open
    qtbot.waitUntil(lambda: "end of video" in panel.message, timeout=30000)
    assert panel.state == "idle"
    assert panel.frames_dropped > 0
    assert panel.frames_shown + panel.frames_dropped == 20  # every frame read was either shown or dropped
    assert shown == sorted(shown) and shown[-1] == 19  # newest first: the last frame is the one on screen
    np.testing.assert_array_equal(shown_rgb(panel), frames[19])
    assert panel.snapshot_button.isEnabled()


class VanishingCamera:
    """A capture whose reads fail after a few frames, as when a USB camera is pulled out."""

    def __init__(self, good_frames: int = 5):
        self.good_frames, self.reads, self.released = good_frames, 0, False

    def isOpened(self):
        return True

    def read(self):
        self.reads += 1
        if self.reads > self.good_frames:
            return False, None
        time.sleep(0.01)
        return True, np.full((H, W, 3), self.reads * 20, np.uint8)

    def get(self, prop):
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def set(self, prop, value):
        return False

    def release(self):
        self.released = True


def test_camera_disappearing_stops_cleanly(qtbot, panel, tmp_path, monkeypatch):
    camera = VanishingCamera()
    monkeypatch.setattr(capture_worker, "open_capture", lambda source: camera)
    panel.set_models({})  # no models: the live picture alone
    panel.snapshot_folder = tmp_path / "shots"
    panel.open_camera(0)
    assert panel.state == "idle" and "press Start" in panel.message
    panel.start()
    qtbot.waitUntil(lambda: "stopped sending frames" in panel.message, timeout=15000)
    assert panel.state == "idle" and camera.released
    assert panel.frames_shown >= 1 and panel.current_frame is not None
    with qtbot.waitSignal(panel.snapshot_taken, timeout=10000) as blocker:  # what was shown is not lost
        panel.snapshot()
    png = Path(blocker.args[0])
    assert png.parent == tmp_path / "shots" and png.name.startswith("camera0_") and png.is_file()
    assert not annotation_path(png).exists()  # no models, no annotation


def test_source_chooser_opens_a_video_through_the_dialog(qtbot, panel, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    video = write_video(tmp_path / "pick.avi", frames=3)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(video), "")))
    panel.source_combo.activated.emit(panel.source_combo.findData("choose"))
    qtbot.waitUntil(lambda: panel.state == "paused", timeout=10000)
    assert panel.source_combo.currentText() == "pick.avi"
    with qtbot.waitSignal(panel.frame_shown, timeout=10000) as blocker:  # no models: the frame alone
        panel.step_frame()
    assert blocker.args == [0] and panel.current_annotation is None


def test_bad_model_file_gives_a_message(qtbot, panel, tmp_path):
    video = write_video(tmp_path / "clip.avi", frames=3)
    bad = tmp_path / "broken_pose.pt2"
    bad.write_bytes(b"not a checkpoint")
    panel.set_models({"pose": str(bad)}, "cpu")
    panel.open_video(str(video))
    panel.start()
    qtbot.waitUntil(lambda: "Cannot load the models" in panel.message, timeout=20000)
    assert panel.state == "idle"
    assert panel.source_combo.findData(str(video)) >= 0  # the video itself is fine: still a source


class TaggedPipeline:
    """Stands in for a model to test model switching: tags its documents, counts loads and closes."""

    loads: list[str] = []

    def __init__(self, tag: str):
        self.tag, self.closed = tag, False
        TaggedPipeline.loads.append(tag)

    def run(self, frames):
        time.sleep(0.02)
        return [
            Annotation(
                image_path=f.path, image_size=(f.image.shape[1], f.image.shape[0]), models={"fake": {"tag": self.tag}}
            )
            for f in frames
        ]

    def close(self):
        self.closed = True


def test_models_load_once_and_switch_while_playing(qtbot, panel, tmp_path):
    video = write_video(tmp_path / "long.avi", frames=60, fps=20)
    TaggedPipeline.loads = []
    made = {}
    panel.set_pipeline_factory(lambda: made.setdefault("a", TaggedPipeline("a")), key="a")
    panel.open_video(str(video))
    panel.start()
    qtbot.waitUntil(lambda: panel.frames_shown >= 3, timeout=15000)
    assert panel.current_annotation.models["fake"]["tag"] == "a"
    panel.set_pipeline_factory(lambda: made.setdefault("b", TaggedPipeline("b")), key="b")
    qtbot.waitUntil(lambda: panel.current_annotation.models["fake"]["tag"] == "b", timeout=15000)
    assert TaggedPipeline.loads == ["a", "b"] and made["a"].closed and not made["b"].closed
    panel.stop()


def test_snapshot_is_named_after_the_frame_on_screen_after_a_failed_open(qtbot, panel, tmp_path):
    video = write_video(tmp_path / "clip.avi", frames=5)
    panel.realtime = False
    panel.set_models({})
    panel.snapshot_folder = tmp_path / "shots"
    panel.open_video(str(video))
    qtbot.waitUntil(lambda: panel.state == "paused", timeout=10000)
    for expected in (0, 1):
        with qtbot.waitSignal(panel.frame_shown, timeout=10000) as blocker:
            panel.step_frame()
        assert blocker.args == [expected]
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"not a video")
    panel.open_video(str(broken))
    qtbot.waitUntil(lambda: panel.state == "idle" and "Cannot open" in panel.message, timeout=10000)
    # Frame 1 of clip.avi is still on screen: the snapshot says so (not frame 0, nor broken.avi).
    with qtbot.waitSignal(panel.snapshot_taken, timeout=10000) as blocker:
        panel.snapshot()
    assert Path(blocker.args[0]).name == "clip_frame000001.png"


def test_shutdown_reports_a_snapshot_still_being_written(qtbot, panel, tmp_path, monkeypatch):
    from app.capture import snapshot as capture_snapshot

    write = capture_snapshot.write_snapshot
    monkeypatch.setattr(capture_snapshot, "write_snapshot", lambda *a: (time.sleep(1.0), write(*a))[1])
    panel.snapshot_folder = tmp_path
    panel.current_frame = np.zeros((H, W, 3), np.uint8)
    with qtbot.waitSignal(panel.snapshot_taken, timeout=10000):
        png = panel.snapshot()
        assert not panel.shutdown(timeout=0.1)  # the writer thread is still busy
    assert png.is_file()
