"""Depth -> point cloud geometry, colours, .ply round trips and the Open3D viewer process (all headless)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sapiens_core.geometry import (
    DEFAULT_RELIEF,
    build_point_cloud,
    colors_from_image,
    colors_from_parts,
    default_focal,
    depth_to_points,
    read_ply,
    write_ply,
)

H, W = 48, 64


def plane_depth(normal, distance, focal, h=H, w=W):
    """Camera z of the plane n.P = distance seen through each pixel: P = z * ((x - cx)/f, (y - cy)/f, 1)."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    rays = np.stack([(xs - (w - 1) / 2) / focal, (ys - (h - 1) / 2) / focal, np.ones_like(xs)], axis=-1)
    return distance / (rays @ np.asarray(normal, np.float64))


def fit_plane_normal(points):
    centred = points.astype(np.float64) - points.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    return vt[-1], s[-1] / np.sqrt(len(points))  # unit normal, RMS distance from the plane


def unit(v):
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v)


def test_tilted_plane_in_camera_depth_comes_back_as_that_plane():
    normal = unit([0.3, -0.2, 1.0])  # tilted towards the top-left
    focal = 70.0
    depth = plane_depth(normal, 200.0, focal).astype(np.float32)
    points, pixels = depth_to_points(depth, focal=focal, relative=False)
    assert points.dtype == np.float32 and pixels.dtype == np.int32
    assert points.shape == (H * W, 3) and pixels.shape == (H * W, 2)
    fitted, rms = fit_plane_normal(points)
    assert rms < 1e-3 * np.abs(points).max()
    assert abs(abs(fitted @ normal) - 1) < 1e-6
    # Each point lies on its pixel's ray: projecting it back gives the pixel.
    back = points[:, :2] / points[:, 2:] * focal + [(W - 1) / 2, (H - 1) / 2]
    np.testing.assert_allclose(back, pixels, atol=1e-3)


def test_relative_depth_maps_near_to_focal_and_far_by_relief():
    """A tilted plane rescaled so that its depth range is exactly what relative mode produces comes back as
    the same plane: relative mode is exact geometry, only with a chosen near distance and depth range."""
    normal = unit([0.25, 0.4, 1.0])
    focal = default_focal(H, W)
    z = plane_depth(normal, 1.0, focal)
    z *= focal / z.min()  # nearest point at z = focal (scaling about the camera keeps it a plane)
    relief = (z.max() - z.min()) / max(H, W)
    model_output = (0.37 * z - 5.0).astype(np.float32)  # any affine version of depth: what a model predicts
    points, _ = depth_to_points(model_output, relief=relief)
    assert points[:, 2].min() == pytest.approx(focal, rel=1e-5)
    assert points[:, 2].max() == pytest.approx(focal + relief * max(H, W), rel=1e-5)
    fitted, rms = fit_plane_normal(points)
    assert rms < 1e-3 * focal
    assert abs(abs(fitted @ normal) - 1) < 1e-5


def test_relative_depth_larger_is_farther_and_default_extent():
    depth = np.tile(np.linspace(-0.2, 1.3, W, dtype=np.float32), (H, 1))  # unconstrained model values
    points, pixels = depth_to_points(depth)
    far = np.argmax(points[:, 2])
    near = np.argmin(points[:, 2])
    assert pixels[far, 0] == W - 1 and pixels[near, 0] == 0
    assert np.ptp(points[:, 2]) == pytest.approx(DEFAULT_RELIEF * max(H, W), rel=1e-5)
    # Pixel-scale at the near plane: the front is as wide in 3D as the image in pixels.
    front = points[pixels[:, 0] == 0]
    assert front[:, 0] == pytest.approx(-(W - 1) / 2)


def test_flat_depth_and_single_pixel_sit_at_the_focal_distance():
    points, _ = depth_to_points(np.full((H, W), 3.0, np.float32), focal=100.0)
    assert np.all(points[:, 2] == 100.0)
    one = np.full((H, W), np.nan, np.float32)
    one[10, 20] = 0.5
    points, pixels = depth_to_points(one)
    assert pixels.tolist() == [[20, 10]] and points[0, 2] == default_focal(H, W)


def test_background_nan_and_mask_are_excluded():
    depth = np.random.default_rng(0).random((H, W)).astype(np.float32)
    depth[:, :10] = np.nan
    depth[5, 30] = np.inf
    mask = np.ones((H, W), bool)
    mask[20:, :] = False
    points, pixels = depth_to_points(depth, mask=mask)
    assert len(points) == 20 * (W - 10) - 1
    assert pixels[:, 0].min() >= 10 and pixels[:, 1].max() < 20
    assert [30, 5] not in pixels.tolist()
    assert np.isfinite(points).all()
    # Metric mode also drops non-positive depths.
    depth[0, 40] = -1.0
    points, pixels = depth_to_points(depth, mask=mask, relative=False)
    assert [40, 0] not in pixels.tolist() and np.all(points[:, 2] > 0)


def test_nothing_valid_gives_empty_arrays():
    points, pixels = depth_to_points(np.full((H, W), np.nan, np.float32))
    assert points.shape == (0, 3) and pixels.shape == (0, 2)


def test_stride_subsamples_without_moving_points():
    depth = np.random.default_rng(1).random((H, W)).astype(np.float32)
    depth[:8] = np.nan
    full_points, full_pixels = depth_to_points(depth)
    points, pixels = depth_to_points(depth, stride=3)
    assert np.all(pixels % 3 == 0)
    expected = (full_pixels[:, 0] % 3 == 0) & (full_pixels[:, 1] % 3 == 0)
    np.testing.assert_array_equal(pixels, full_pixels[expected])
    np.testing.assert_array_equal(points, full_points[expected])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"stride": 0},
        {"stride": 1.5},
        {"focal": 0},
        {"focal": float("nan")},
        {"relief": -1},
        {"mask": np.ones((H, W), np.uint8)},
        {"mask": np.ones((2, 2), bool)},
    ],
)
def test_bad_arguments_are_reported(kwargs):
    with pytest.raises(ValueError):
        depth_to_points(np.ones((H, W), np.float32), **kwargs)


def test_depth_must_be_a_float_map():
    with pytest.raises(ValueError):
        depth_to_points(np.ones((H, W), np.uint8))
    with pytest.raises(ValueError):
        depth_to_points(np.ones((H, W, 1), np.float32))


def test_colors_by_image_come_from_the_right_pixels():
    image = np.zeros((H, W, 3), np.uint8)
    image[..., 0] = np.arange(W)[None, :]  # red = x
    image[..., 1] = np.arange(H)[:, None]  # green = y
    image[..., 2] = 7
    depth = np.ones((H, W), np.float32)
    depth[:, ::3] = np.nan
    _, pixels = depth_to_points(depth, stride=2)
    assert len(pixels) == (H // 2) * len([x for x in range(0, W, 2) if x % 3])
    colors = colors_from_image(image, pixels)
    assert colors.dtype == np.float32 and colors.shape == (len(pixels), 3)
    np.testing.assert_allclose(
        colors * 255, np.column_stack([pixels[:, 0], pixels[:, 1], np.full(len(pixels), 7)]), atol=1e-4
    )
    grey = colors_from_image(image[..., 0], pixels)
    np.testing.assert_allclose(grey[:, 1] * 255, pixels[:, 0], atol=1e-4)
    rgba = np.dstack([image, np.full((H, W), 9, np.uint8)])
    np.testing.assert_array_equal(colors_from_image(rgba, pixels), colors)
    with pytest.raises(ValueError):
        colors_from_image(image[:10], pixels)  # pixels outside a smaller image


def test_colors_by_part_class_come_from_the_right_pixels():
    from sapiens_core.schema import class_schema, class_schema_names

    schema = class_schema(class_schema_names()[0])
    part_map = (np.arange(H * W).reshape(H, W) % len(schema)).astype(np.uint8)
    part_map[0, 0] = 255  # "ignore" has no colour
    pixels = np.array([[0, 0], [1, 0], [5, 3], [W - 1, H - 1]], np.int32)
    colors = colors_from_parts(part_map, pixels, schema.colors)
    np.testing.assert_allclose(colors[0], [0.5, 0.5, 0.5])
    for (x, y), color in zip(pixels[1:], colors[1:]):
        np.testing.assert_allclose(color * 255, schema.colors[part_map[y, x]], atol=1e-4)
    float_colors = colors_from_parts(part_map, pixels, schema.colors / 255.0)
    np.testing.assert_allclose(float_colors, colors, atol=1e-6)


def test_ply_round_trip_keeps_points_and_colours(tmp_path):
    rng = np.random.default_rng(2)
    points = (rng.random((500, 3)) * 1000).astype(np.float32)
    colors = (rng.integers(0, 256, (500, 3)) / 255.0).astype(np.float32)  # 8-bit exact: PLY stores uchar
    cloud = build_point_cloud(points, colors)
    path = write_ply(tmp_path / "cloud.ply", cloud)
    back_points, back_colors = read_ply(path)
    np.testing.assert_allclose(back_points, points, rtol=1e-6)
    np.testing.assert_allclose(back_colors, colors, atol=1e-6)
    ascii_path = write_ply(tmp_path / "ascii.ply", build_point_cloud(points), ascii=True)
    back_points, back_colors = read_ply(ascii_path)
    assert back_colors is None and np.allclose(back_points, points, rtol=1e-5)
    assert ascii_path.read_bytes().startswith(b"ply\nformat ascii")


def test_ply_write_is_atomic_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    import open3d as o3d

    path = tmp_path / "cloud.ply"
    write_ply(path, build_point_cloud(np.zeros((3, 3), np.float32)))
    before = path.read_bytes()
    write_ply(path, build_point_cloud(np.ones((4, 3), np.float32)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cloud.ply"]
    assert len(read_ply(path)[0]) == 4

    # A writer that fails half-way: the old file stays, nothing else is left behind.
    def broken_writer(filename, cloud, **kwargs):
        Path(filename).write_bytes(b"ply\nhalf")
        return False

    monkeypatch.setattr(o3d.io, "write_point_cloud", broken_writer)
    path.write_bytes(before)
    with pytest.raises(OSError):
        write_ply(path, build_point_cloud(np.ones((5, 3), np.float32)))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cloud.ply"]


def test_ply_errors(tmp_path):
    with pytest.raises(ValueError):
        write_ply(tmp_path / "cloud.xyz", build_point_cloud(np.zeros((1, 3))))
    with pytest.raises(FileNotFoundError):
        read_ply(tmp_path / "missing.ply")
    (tmp_path / "junk.ply").write_bytes(b"not a ply at all")
    with pytest.raises(ValueError):
        read_ply(tmp_path / "junk.ply")
    with pytest.raises(ValueError):
        build_point_cloud(np.zeros((3, 3)), np.zeros((2, 3)))


def test_importing_the_package_does_not_load_open3d():
    code = "import sys, sapiens_core.geometry; sys.exit('open3d' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def _viewer(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "sapiens_core.geometry.viewer", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_viewer_help_and_errors(tmp_path):
    result = _viewer("--help")
    assert result.returncode == 0 and "FILE.ply" in result.stdout
    result = _viewer(tmp_path / "missing.ply")
    assert result.returncode == 1 and "no such file" in result.stderr
    path = write_ply(tmp_path / "c.ply", build_point_cloud(np.zeros((2, 3))))
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    if sys.platform.startswith("linux"):
        result = _viewer(path, env=env)  # without a display it must say so, not wait on an invisible window
        assert result.returncode == 1 and "no display" in result.stderr


def test_viewer_renders_a_screenshot_headless(tmp_path):
    import cv2

    depth = np.ones((H, W), np.float32)
    points, pixels = depth_to_points(depth)
    image = np.zeros((H, W, 3), np.uint8)
    image[..., 0] = 255
    path = write_ply(tmp_path / "red.ply", build_point_cloud(points, colors_from_image(image, pixels)))
    out = tmp_path / "shot.png"
    result = _viewer(path, "--screenshot", out, "--width", 160, "--height", 120, "--point-size", 4)
    if result.returncode != 0 and "could not open a window" in result.stderr:
        pytest.skip(f"no OpenGL for Open3D here: {result.stderr.strip()[-200:]}")
    assert result.returncode == 0, result.stderr
    shot = cv2.imread(str(out))[..., ::-1]
    assert shot.shape == (120, 160, 3)
    red = (shot[..., 0] > 200) & (shot[..., 1] < 60) & (shot[..., 2] < 60)
    assert red[60 - 10 : 60 + 10, 80 - 10 : 80 + 10].all()  # the cloud fills the middle, seen from the camera
