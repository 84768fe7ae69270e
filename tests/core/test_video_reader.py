"""Reading videos in the core: small files written with OpenCV at test time, read back frame by frame."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from sapiens_core.errors import SapiensError
from sapiens_core.video import VideoError, VideoReader, end_of_video_message, is_video_path

FPS, W, H = 10.0, 64, 48


def write_video(path: Path, frames: int, fourcc: str = "mp4v") -> Path:
    """Frame i is a flat grey of 20 * i (so each frame says which one it is, within codec error)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), FPS, (W, H))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((H, W, 3), 20 * i, np.uint8))
    writer.release()
    return path


def which_frame(rgb: np.ndarray) -> int:
    return int(round(float(rgb.mean()) / 20))


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("video") / "clip.mp4", 12)


def test_reads_every_frame_with_index_and_time(clip):
    with VideoReader(str(clip)) as reader:
        assert (reader.info.width, reader.info.height, reader.fps, reader.frame_count) == (W, H, FPS, 12)
        frames = list(reader)
    assert [f.index for f in frames] == list(range(12))
    assert [f.time_s for f in frames] == pytest.approx([i / FPS for i in range(12)])
    assert [which_frame(f.rgb) for f in frames] == list(range(12))
    assert frames[0].rgb.shape == (H, W, 3) and frames[0].rgb.dtype == np.uint8
    assert reader.end_message == "end of video"


@pytest.mark.parametrize("every, expected", [(5, [0, 5, 10]), (4, [0, 4, 8]), (12, [0]), (100, [0])])
def test_every_nth_frame(clip, every, expected):
    with VideoReader(str(clip), every=every) as reader:
        frames = list(reader)
        assert reader.expected_frames() == len(expected)
    assert [f.index for f in frames] == expected
    assert [which_frame(f.rgb) for f in frames] == expected  # the right pictures, not only the right numbers
    assert [f.time_s for f in frames] == pytest.approx([i / FPS for i in expected])


def test_an_unreadable_file_is_a_clear_one_line_error(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises(VideoError, match=r"^Cannot open junk\.mp4: not a video file OpenCV can read$"):
        VideoReader(str(junk))
    with pytest.raises(VideoError, match=r"^Cannot open gone\.mp4: no such file$"):
        VideoReader(str(tmp_path / "gone.mp4"))
    assert issubclass(VideoError, SapiensError)  # the CLI prints it as one line and exits 2


def test_a_truncated_file_fails_at_open_or_says_it_ended_early(tmp_path):
    whole = write_video(tmp_path / "whole.avi", 12, "MJPG").read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole[: len(whole) // 2])
    try:
        reader = VideoReader(str(cut))
    except VideoError as exc:
        assert str(exc).startswith("Cannot open cut.avi: ")
        return
    with reader:
        frames = list(reader)
    assert len(frames) < 12
    if reader.frame_count == 12:
        assert "truncated" in reader.end_message


def test_end_message_tells_a_truncated_file():
    assert end_of_video_message(12, 12) == "end of video"
    assert end_of_video_message(11, 12) == "end of video"
    assert "may be truncated" in end_of_video_message(5, 12)
    assert end_of_video_message(5, 0) == "end of video"  # an unknown length cannot be short


def test_bad_every_is_refused(clip):
    with pytest.raises(ValueError, match="every"):
        VideoReader(str(clip), every=0)


def test_video_paths_by_suffix():
    assert is_video_path("a/clip.MP4") and is_video_path("x.mkv")
    assert not is_video_path("photo.jpg")
