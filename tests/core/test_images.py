"""read_image / read_image_size / find_images on real files of every kind, written at test time."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from sapiens_core.errors import ImageReadError
from sapiens_core.io import images
from sapiens_core.io.images import IMAGE_SUFFIXES, find_images, read_image, read_image_size

ASTRONAUT = Path(__file__).resolve().parents[2] / "resources" / "astronaut.png"


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def _quadrants(h: int = 40, w: int = 60) -> np.ndarray:
    """Four flat colours, so orientation can be checked through lossy JPEG too."""
    a = np.zeros((h, w, 3), np.uint8)
    a[: h // 2, : w // 2] = (255, 0, 0)
    a[: h // 2, w // 2 :] = (0, 255, 0)
    a[h // 2 :, : w // 2] = (0, 0, 255)
    a[h // 2 :, w // 2 :] = (255, 255, 255)
    return a


def _check_array(a: np.ndarray, shape: tuple[int, int]) -> None:
    assert a.dtype == np.uint8 and a.shape == (*shape, 3)
    assert a.flags.c_contiguous and a.flags.writeable and a.flags.owndata


# ---------------------------------------------------------------------------------------------- pixels


def test_rgb_png_is_read_exactly_into_one_buffer():
    expected = np.asarray(Image.open(ASTRONAUT).convert("RGB"))
    a = read_image(ASTRONAUT)
    _check_array(a, (512, 512))
    np.testing.assert_array_equal(a, expected)


def test_common_formats_do_not_go_through_pillow_decoding(tmp_path, monkeypatch):
    """8-bit JPEG/PNG/WebP take the lean OpenCV path (decoded straight into the returned array)."""
    monkeypatch.setattr(images, "_decode_with_pil", lambda *a: pytest.fail("Pillow decoded the pixels"))
    rgb = _quadrants()
    for name, kwargs in [("a.jpg", {"quality": 95}), ("a.png", {}), ("a.webp", {"lossless": True})]:
        Image.fromarray(rgb).save(tmp_path / name, **kwargs)
        a = read_image(tmp_path / name)
        _check_array(a, (40, 60))
        decoded_by_pillow = np.asarray(Image.open(tmp_path / name).convert("RGB")).astype(int)
        assert np.abs(a.astype(int) - decoded_by_pillow).max() <= 2, name  # both use libjpeg-turbo / libpng


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow_exif_transpose(tmp_path, orientation):
    rng = np.random.default_rng(orientation)
    rgb = rng.integers(0, 256, (7, 11, 3), dtype=np.uint8)
    for name in ("o.png", "o.webp", "o.tif"):
        path = tmp_path / name
        Image.fromarray(rgb).save(
            path, exif=_exif(orientation), **({"lossless": True} if name.endswith("webp") else {})
        )
        expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
        a = read_image(path)
        np.testing.assert_array_equal(a, expected, err_msg=f"{name} orientation {orientation}")
        assert read_image_size(path) == (a.shape[1], a.shape[0])


def test_jpeg_with_orientation_6_is_turned_upright(tmp_path):
    path = tmp_path / "phone.jpg"
    Image.fromarray(_quadrants()).save(path, exif=_exif(6), quality=95)  # stored 60 wide, 40 high
    a = read_image(path)
    assert a.shape == (60, 40, 3)
    assert read_image_size(path) == (40, 60)

    # Rotated 90 degrees clockwise: stored bottom-left (blue) is now top-left, top-left (red) is top-right.
    def near(pixel, color):
        return np.abs(pixel.astype(int) - color).max() <= 10

    assert near(a[5, 5], (0, 0, 255)) and near(a[5, 35], (255, 0, 0))
    assert near(a[55, 5], (255, 255, 255)) and near(a[55, 35], (0, 255, 0))


def test_jpeg_with_data_after_the_end_marker_reads(tmp_path, monkeypatch):
    """Motion photos append a video after the JPEG; the image part is complete and must read on the fast path."""
    path = tmp_path / "motion.jpg"
    Image.fromarray(_quadrants()).save(path, quality=95)
    path.write_bytes(path.read_bytes() + b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    monkeypatch.setattr(images, "_decode_with_pil", lambda *a: pytest.fail("fell back to Pillow"))
    assert read_image(path).shape == (40, 60, 3)


def test_16_bit_images_are_scaled_not_truncated(tmp_path):
    v = np.array([0, 1, 128, 129, 255, 256, 32767, 32896, 65279, 65280, 65407, 65408, 65535], np.uint16)
    expected = np.round(v / 257.0).astype(np.uint8)  # the high byte (v >> 8) would differ in several places
    assert not np.array_equal(expected, (v >> 8).astype(np.uint8))
    rgb16 = np.stack([v, v[::-1], v], axis=-1)[None].repeat(3, axis=0)
    for name in ("rgb16.png", "rgb16.tif"):
        cv2.imwrite(str(tmp_path / name), np.ascontiguousarray(rgb16[..., ::-1]))  # OpenCV writes BGR
        a = read_image(tmp_path / name)
        np.testing.assert_array_equal(a[0, :, 0], expected, err_msg=name)
        np.testing.assert_array_equal(a[0, :, 1], expected[::-1], err_msg=name)
    for name in ("grey16.png", "grey16.tif"):
        Image.fromarray(v[None].repeat(2, axis=0)).save(tmp_path / name)
        assert Image.open(tmp_path / name).mode.startswith("I;16")
        a = read_image(tmp_path / name)
        for c in range(3):
            np.testing.assert_array_equal(a[1, :, c], expected, err_msg=name)


def test_greyscale_and_one_bit(tmp_path):
    grey = np.arange(60, dtype=np.uint8).reshape(6, 10) * 4
    for name in ("g.png", "g.tif", "g.bmp", "g.webp"):
        Image.fromarray(grey).save(tmp_path / name, **({"lossless": True} if name.endswith("webp") else {}))
        a = read_image(tmp_path / name)
        np.testing.assert_array_equal(a, np.repeat(grey[..., None], 3, axis=2), err_msg=name)
    Image.fromarray(grey).save(tmp_path / "g.jpg", quality=100)
    a = read_image(tmp_path / "g.jpg")
    assert (a[..., 0] == a[..., 1]).all() and np.abs(a[..., 0].astype(int) - grey).max() <= 2
    Image.fromarray(grey > 100).save(tmp_path / "bits.png")
    np.testing.assert_array_equal(read_image(tmp_path / "bits.png")[..., 0], np.where(grey > 100, 255, 0))


def test_alpha_is_dropped_not_composited(tmp_path):
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., :3] = (200, 100, 50)
    rgba[..., 3] = np.arange(20).reshape(4, 5) * 13  # from fully transparent to nearly opaque
    for name in ("a.png", "a.tif", "a.webp"):
        Image.fromarray(rgba, "RGBA").save(
            tmp_path / name, **({"lossless": True, "exact": True} if "webp" in name else {})
        )
        a = read_image(tmp_path / name)
        assert (a == (200, 100, 50)).all(), name
    la = np.stack([np.full((4, 5), 77, np.uint8), rgba[..., 3]], axis=-1)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    assert (read_image(tmp_path / "la.png") == 77).all()


def test_palette_images(tmp_path):
    ids = np.array([[0, 1, 2], [2, 1, 0]], np.uint8)
    palette = [10, 20, 30, 200, 0, 0, 0, 250, 5] + [0] * (256 * 3 - 9)
    image = Image.fromarray(ids)
    image.putpalette(palette)
    expected = np.array(palette[:9], np.uint8).reshape(3, 3)[ids]
    for name in ("p.png", "p.bmp", "p.tif"):
        image.save(tmp_path / name, **({"transparency": 0} if name.endswith("png") else {}))
        np.testing.assert_array_equal(read_image(tmp_path / name), expected, err_msg=name)


def test_cmyk_jpeg_and_tiff(tmp_path):
    cmyk = np.zeros((8, 8, 4), np.uint8)
    cmyk[..., 0] = 200  # cyan
    cmyk[..., 3] = 30  # a little black
    cmyk[4:, :, 1] = 100  # magenta in the bottom half
    c, m, k = 200 / 255, 100 / 255, 30 / 255
    top = np.array([(1 - c) * (1 - k), 1 - k, 1 - k]) * 255
    bottom = np.array([(1 - c) * (1 - k), (1 - m) * (1 - k), 1 - k]) * 255
    for name, kwargs in (("c.jpg", {"quality": 100}), ("c.tif", {})):
        Image.fromarray(cmyk, "CMYK").save(tmp_path / name, **kwargs)
        a = read_image(tmp_path / name).astype(float)
        assert np.abs(a[1, 1] - top).max() <= 3, (name, a[1, 1], top)
        assert np.abs(a[6, 6] - bottom).max() <= 3, (name, a[6, 6], bottom)


def test_lossless_formats_are_exact(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (13, 17, 3), dtype=np.uint8)
    for name, kwargs in (
        ("x.bmp", {}),
        ("x.tif", {}),
        ("x.tiff", {"compression": "tiff_lzw"}),
        ("x.webp", {"lossless": True}),
        ("x.png", {}),
    ):
        Image.fromarray(rgb).save(tmp_path / name, **kwargs)
        a = read_image(tmp_path / name)
        _check_array(a, (13, 17))
        np.testing.assert_array_equal(a, rgb, err_msg=name)


def test_large_jpeg_peak_memory_is_about_one_image(tmp_path):
    """A 30 MP photo decodes with the image in memory about once (Pillow's path needs ~2.5x)."""
    h, w = 5000, 6000
    ramp = np.empty((h, w, 3), np.uint8)
    ramp[:] = (np.arange(w, dtype=np.uint32) % 251).astype(np.uint8)[None, :, None]
    path = tmp_path / "big.jpg"
    cv2.imwrite(str(path), ramp, [cv2.IMWRITE_JPEG_QUALITY, 70])
    del ramp
    script = textwrap.dedent(f"""
        import resource, sys
        from sapiens_core.io.images import read_image
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        a = read_image(sys.argv[1])
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert a.shape == ({h}, {w}, 3)
        print((after - before) * 1024 / a.nbytes)
    """)
    resource_ok = sys.platform.startswith("linux")  # ru_maxrss is KiB on Linux, bytes on macOS
    if not resource_ok:
        pytest.skip("peak memory measured with Linux ru_maxrss")
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True)
    ratio = float(out.stdout.strip())
    assert ratio < 1.3, f"peak memory grew by {ratio:.2f}x the image size"


# ---------------------------------------------------------------------------------------------- errors


def _assert_read_error(path: Path, *words: str) -> None:
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message.lower(), message
    assert "\n" not in message


def test_truncated_jpeg_is_an_error_not_a_grey_image(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "cut.jpg"
    Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)).save(path, quality=90)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _assert_read_error(path, "truncated")
    assert read_image_size(path) == (400, 300)  # the header is intact, and no pixels are decoded for the size


def test_truncated_png_and_webp(tmp_path):
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (100, 120, 3), dtype=np.uint8)
    for name in ("cut.png", "cut.webp"):
        path = tmp_path / name
        Image.fromarray(rgb).save(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        _assert_read_error(path, "corrupt")


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is a text file, not a picture\n")
    _assert_read_error(path, "not an image")
    with pytest.raises(ImageReadError, match="not an image"):
        read_image_size(path)


def test_missing_empty_and_folder(tmp_path):
    _assert_read_error(tmp_path / "nothing_here.jpg", "no such file")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    _assert_read_error(empty, "empty")
    folder = tmp_path / "folder.png"
    folder.mkdir()
    _assert_read_error(folder, "folder")


def test_pixel_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 1000)
    path = tmp_path / "wide.png"
    Image.fromarray(np.zeros((20, 60, 3), np.uint8)).save(path)
    _assert_read_error(path, "limit", "60x20")
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 1200)
    assert read_image(path).shape == (20, 60, 3)


# ---------------------------------------------------------------------------------------------- folders


def test_find_images(tmp_path):
    (tmp_path / "shoot" / "day2").mkdir(parents=True)
    (tmp_path / ".cache").mkdir()
    for rel in (
        "shoot/img10.jpg",
        "shoot/img2.JPG",
        "shoot/img1.png",
        "shoot/day2/a.TIFF",
        "shoot/notes.txt",
        "shoot/._img2.jpg",
        ".cache/x.png",
        "single.webp",
        "other.bmp",
    ):
        (tmp_path / rel).write_bytes(b"x")
    found = find_images(
        [
            tmp_path / "shoot",
            tmp_path / "single.webp",
            tmp_path / "shoot" / "img1.png",
            str(tmp_path / "shoot" / "notes.txt"),
        ]
    )
    names = [p.relative_to(tmp_path).as_posix() for p in found]
    assert names == ["shoot/day2/a.TIFF", "shoot/img1.png", "shoot/img2.JPG", "shoot/img10.jpg", "single.webp"]
    assert all(isinstance(p, Path) for p in found)
    assert find_images([tmp_path / "other.bmp"]) == [tmp_path / "other.bmp"]
    assert find_images([]) == []
    with pytest.raises(ImageReadError, match="no such file"):
        find_images([tmp_path / "missing"])
    assert {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"} <= IMAGE_SUFFIXES
