"""JPEG decoding is strict and exact: a file whose data ends early is an error even with an end marker appended
(OpenCV and Pillow return a partly grey image for it), pixels equal ``cv2.imread``'s (what the official demos
read), a harmless libjpeg warning still reads, and an unreadable file says so instead of "corrupt"."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from sapiens_core.errors import ImageReadError
from sapiens_core.io.images import read_image

ASTRONAUT = Path(__file__).resolve().parents[2] / "resources" / "astronaut.png"
ROOT = Path(__file__).resolve().parents[2]


def _photo(h: int = 480, w: int = 640) -> np.ndarray:
    return cv2.resize(cv2.imread(str(ASTRONAUT)), (w, h))  # BGR, as OpenCV writes


def test_a_jpeg_cut_short_with_an_end_marker_appended_is_an_error(tmp_path):
    ok, encoded = cv2.imencode(".jpg", _photo(), [cv2.IMWRITE_JPEG_QUALITY, 90])
    data = encoded.tobytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: int(len(data) * 0.6)] + b"\xff\xd9")
    # What the other readers do with it: a whole image, its lower part invented.
    assert cv2.imread(str(path)).shape == (480, 640, 3)
    assert np.asarray(Image.open(path).convert("RGB")).shape == (480, 640, 3)
    with pytest.raises(ImageReadError, match="truncated or corrupt JPEG") as info:
        read_image(path)
    assert str(path) in str(info.value) and "premature end" in str(info.value)


@pytest.mark.parametrize(
    "params",
    [
        [cv2.IMWRITE_JPEG_QUALITY, 90, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420],
        [cv2.IMWRITE_JPEG_QUALITY, 95, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444],
        [cv2.IMWRITE_JPEG_QUALITY, 75, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422],
        [cv2.IMWRITE_JPEG_PROGRESSIVE, 1],
    ],
    ids=["420", "444", "422", "progressive"],
)
def test_jpeg_pixels_equal_opencv(tmp_path, params):
    path = tmp_path / "photo.jpg"
    assert cv2.imwrite(str(path), _photo(), params)
    np.testing.assert_array_equal(read_image(path), cv2.imread(str(path), cv2.IMREAD_COLOR_RGB))


def test_greyscale_jpeg_equals_opencv_as_rgb(tmp_path):
    path = tmp_path / "grey.jpg"
    buffer = io.BytesIO()
    Image.fromarray(_photo()[..., 1]).save(buffer, "JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    np.testing.assert_array_equal(read_image(path), cv2.imread(str(path), cv2.IMREAD_COLOR_RGB))


def test_a_harmless_libjpeg_warning_still_reads(tmp_path):
    ok, encoded = cv2.imencode(".jpg", _photo(), [cv2.IMWRITE_JPEG_QUALITY, 90])
    data = encoded.tobytes()
    scan = data.find(b"\xff\xda")
    path = tmp_path / "padded.jpg"
    path.write_bytes(data[:scan] + b"\x00\x00" + data[scan:])  # two stray bytes before the scan marker
    reference = tmp_path / "clean.jpg"
    reference.write_bytes(data)
    np.testing.assert_array_equal(read_image(path), read_image(reference))


def test_an_unreadable_file_says_so_not_corrupt():
    # A folder every user can enter (pytest's own are private to their owner), holding a file no one may read.
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        path = Path(folder) / "private.png"
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path)
        path.chmod(0)
        _expect_permission_error(path)


def _expect_permission_error(path: Path) -> None:
    script = textwrap.dedent(
        """
        import os, sys
        from sapiens_core.errors import ImageReadError
        from sapiens_core.io.images import read_image
        if os.getuid() == 0:  # root reads any file: drop to an unprivileged user for a real permission error
            os.setgid(65534)
            os.setuid(65534)
        try:
            read_image(sys.argv[1])
        except ImageReadError as exc:
            print(exc)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"{path}: cannot read it (Permission denied)"


def test_scan_names_what_it_leaves_out():
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        os.chmod(root, 0o755)
        (root / "shoot" / "locked").mkdir(parents=True)
        for name in ("shoot/a.jpg", "shoot/locked/b.jpg", "clip.gif", "c.png"):
            (root / name).write_bytes(b"x")
        (root / "shoot" / "locked").chmod(0)
        script = textwrap.dedent(
            """
            import json, os, sys
            from sapiens_core.io.images import scan_images
            if os.getuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            scan = scan_images(sys.argv[1:])
            print(json.dumps({"images": [str(p) for p in scan.images], "problems": scan.problems}))
            """
        )
        inputs = [root / "shoot", root / "clip.gif", root / "c.png", root / "gone.jpg"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        run = subprocess.run([sys.executable, "-c", script, *map(str, inputs)], capture_output=True, text=True, env=env)
        assert run.returncode == 0, run.stderr
        out = json.loads(run.stdout)
    assert out["images"] == [str(root / "c.png"), str(root / "shoot" / "a.jpg")]  # natural order of paths
    assert out["problems"] == [
        f"{root / 'shoot' / 'locked'}: cannot list this folder (Permission denied); its images are left out",
        f"{root / 'clip.gif'}: not an image type we read (expected one of .bmp, .jpeg, .jpg, .png, .tif, .tiff, .webp)",
        f"{root / 'gone.jpg'}: no such file or folder",
    ]
