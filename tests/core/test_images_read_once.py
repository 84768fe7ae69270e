"""Every input file is opened once: by ``read_image``, by ``read_image_size``, and per image by a ``predict`` run.

The opens are counted by the kernel (Linux inotify, ``IN_OPEN`` on the images' folder), not by our code: it sees
the opens of OpenCV, libjpeg and Pillow alike, in the test process and in the loader workers of a ``predict``
subprocess. At dataset scale on network storage each open and each re-read is a round trip.
"""

from __future__ import annotations

import ctypes
import os
import struct
import subprocess
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from sapiens_core.io.images import read_image, read_image_size
from tests.core.trivial_models import save_trivial_models

ROOT = Path(__file__).resolve().parents[2]
_IN_ACCESS, _IN_CLOSE_NOWRITE, _IN_OPEN = 0x01, 0x10, 0x20
_IN_ISDIR = 0x40000000
_AS_STORED = cv2.IMREAD_IGNORE_ORIENTATION

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="opens counted with Linux inotify")


class OpenCounter:
    """Opens of the files directly in ``folder`` since the counter started, by file name."""

    def __init__(self, folder: Path) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self._fd < 0:
            pytest.skip(f"inotify unavailable ({os.strerror(ctypes.get_errno())})")
        # Reads and closes are watched only to separate the opens: the kernel merges identical events that follow
        # each other unread, so two opens in a row would count as one.
        events = _IN_OPEN | _IN_ACCESS | _IN_CLOSE_NOWRITE
        if self._libc.inotify_add_watch(self._fd, os.fsencode(folder), events) < 0:
            pytest.skip(f"cannot watch {folder} ({os.strerror(ctypes.get_errno())})")

    def counts(self) -> Counter:
        found: Counter = Counter()
        while True:
            try:
                data = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                return found
            offset = 0
            while offset < len(data):
                _, mask, _, length = struct.unpack_from("iIII", data, offset)
                name = data[offset + 16 : offset + 16 + length].rstrip(b"\0").decode()
                if mask & _IN_OPEN and not mask & _IN_ISDIR:
                    found[name] += 1
                offset += 16 + length

    def close(self) -> None:
        os.close(self._fd)


def _write_inputs(folder: Path) -> dict[str, np.ndarray]:
    """The kinds of file that take different decoders, and the upright pixels each must give."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (36, 52, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(folder / "plain.png")
    cv2.imwrite(str(folder / "wide.png"), (rgb[..., ::-1].astype(np.uint16) * 257))  # 16-bit, exactly rgb back
    Image.fromarray(rgb).save(folder / "photo.jpg", quality=95)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: turned 90 degrees clockwise on reading
    Image.fromarray(rgb).save(folder / "rotated.jpg", quality=95, exif=exif)
    Image.fromarray(rgb).save(folder / "lossless.webp", lossless=True)
    return {
        "plain.png": rgb,
        "wide.png": rgb,
        "photo.jpg": cv2.imread(str(folder / "photo.jpg"), cv2.IMREAD_COLOR_RGB),
        "rotated.jpg": np.rot90(cv2.imread(str(folder / "rotated.jpg"), cv2.IMREAD_COLOR_RGB | _AS_STORED), k=-1),
        "lossless.webp": rgb,
    }


def test_read_image_and_read_image_size_open_each_file_once(tmp_path):
    expected = _write_inputs(tmp_path / "in")
    counter = OpenCounter(tmp_path / "in")
    try:
        for name, pixels in expected.items():
            np.testing.assert_array_equal(read_image(tmp_path / "in" / name), pixels, err_msg=name)
        assert counter.counts() == Counter(dict.fromkeys(expected, 1))
        for name, pixels in expected.items():
            assert read_image_size(tmp_path / "in" / name) == (pixels.shape[1], pixels.shape[0])
        assert counter.counts() == Counter(dict.fromkeys(expected, 1))
    finally:
        counter.close()


def test_predict_opens_each_input_once(tmp_path):
    expected = _write_inputs(tmp_path / "in")
    models = save_trivial_models(tmp_path / "models")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "sapiens_core", "predict", str(tmp_path / "in"), "--out", str(out)]
    command += ["--device", "cpu", "--pose", str(models["pose"]), "--seg", str(models["seg"]), "--workers", "1"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    counter = OpenCounter(tmp_path / "in")
    try:
        proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert counter.counts() == Counter(dict.fromkeys(expected, 1))
    finally:
        counter.close()
    # Every input went through: one document and overlay each, at the upright size.
    for name, pixels in expected.items():
        stem = Path(name).stem
        assert (out / f"{stem}_overlay.png").is_file()
        assert cv2.imread(str(out / f"{stem}_overlay.png")).shape == pixels.shape


def test_without_memory_files_the_pixels_and_the_single_open_are_the_same(tmp_path, monkeypatch):
    """macOS and Windows have no ``memfd_create``: OpenCV then decodes the bytes with ``imdecode``."""
    from sapiens_core.io import memory_file

    monkeypatch.setattr(memory_file, "has_memory_files", lambda: False)
    expected = _write_inputs(tmp_path / "in")
    counter = OpenCounter(tmp_path / "in")
    try:
        for name, pixels in expected.items():
            np.testing.assert_array_equal(read_image(tmp_path / "in" / name), pixels, err_msg=name)
        assert counter.counts() == Counter(dict.fromkeys(expected, 1))
    finally:
        counter.close()
