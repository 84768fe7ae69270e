"""Top-down crop geometry: box -> center/scale, the UDP warp, crop_person and its inverse."""

import math

import numpy as np
import pytest

from sapiens_core.tasks import box_to_center_scale, crop_person, crop_to_image, image_to_crop, udp_warp_matrix

OW, OH = 768, 1024


def test_box_to_center_scale_pads_then_grows_the_short_side():
    center, scale = box_to_center_scale([100, 50, 200, 450])  # tall: 100x400 -> 125x500 -> w := 375
    np.testing.assert_allclose(center, [150, 250])
    np.testing.assert_allclose(scale, [375, 500])
    center, scale = box_to_center_scale([0, 0, 400, 100])  # wide: 500x125 -> h := 500/0.75
    np.testing.assert_allclose(center, [200, 50])
    np.testing.assert_allclose(scale, [500, 500 / 0.75])
    _, scale = box_to_center_scale([0, 0, 300, 400])  # already 0.75: only padded
    np.testing.assert_allclose(scale, [375, 500])


def test_box_to_center_scale_batches_and_ignores_score_column():
    boxes = np.array([[100, 50, 200, 450, 0.9], [0, 0, 400, 100, 0.4]])
    centers, scales = box_to_center_scale(boxes)
    assert centers.shape == scales.shape == (2, 2)
    np.testing.assert_allclose(scales[:, 0] / scales[:, 1], 0.75)
    np.testing.assert_allclose(scales[1], box_to_center_scale(boxes[1, :4])[1])


def test_warp_maps_box_edges_to_crop_pixel_centres():
    center, scale = np.array([321.3, 245.9]), np.array([300.0, 400.0])
    corners = np.array(
        [center - scale / 2, center + scale / 2, center, [center[0] + scale[0] / 2, center[1] - scale[1] / 2]]
    )
    np.testing.assert_allclose(
        image_to_crop(corners, center, scale),
        [[0, 0], [OW - 1, OH - 1], [(OW - 1) / 2, (OH - 1) / 2], [OW - 1, 0]],
        atol=1e-9,
    )


def test_rotated_warp_is_scale_after_rotation_about_the_centre():
    center, scale, theta = np.array([50.0, 80.0]), np.array([120.0, 160.0]), 30.0
    m = udp_warp_matrix(center, scale, (OW, OH), theta)
    t = math.radians(theta)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    s = np.diag([(OW - 1) / scale[0], (OH - 1) / scale[1]])
    p = np.random.default_rng(0).uniform(-100, 300, (20, 2))
    expected = (p - center) @ rot.T @ s.T + [(OW - 1) / 2, (OH - 1) / 2]
    np.testing.assert_allclose(image_to_crop(p, center, scale, rotation_deg=theta), expected, atol=1e-9)
    np.testing.assert_allclose(m[:, :2], s @ rot, atol=1e-12)


@pytest.mark.parametrize("rotation", [0.0, 17.0, -90.0])
def test_crop_to_image_inverts_the_warp(rotation):
    rng = np.random.default_rng(1)
    for _ in range(10):
        center = rng.uniform(-200, 2000, 2)
        scale = rng.uniform(10, 3000, 2)
        p = rng.uniform(-500, 2500, (30, 2))
        back = crop_to_image(
            image_to_crop(p, center, scale, rotation_deg=rotation), center, scale, rotation_deg=rotation
        )
        np.testing.assert_allclose(back, p, atol=1e-7 * np.abs(p).max())


def test_crop_with_unit_scale_is_an_exact_integer_shift():
    # scale = output - 1 makes sx = sy = 1; a centre on .5 makes the shift an integer: the crop is a copy.
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (600, 500, 3), dtype=np.uint8)
    center = np.array([300.5, 250.5])
    crop = crop_person(image, center, [OW - 1, OH - 1])
    dx, dy = int(center[0] - (OW - 1) / 2), int(center[1] - (OH - 1) / 2)  # crop (0,0) = image (dx, dy)
    expected = np.zeros((OH, OW, 3), np.uint8)
    ys, xs = slice(max(0, -dy), min(OH, 600 - dy)), slice(max(0, -dx), min(OW, 500 - dx))
    expected[ys, xs] = image[ys.start + dy : ys.stop + dy, xs.start + dx : xs.stop + dx]
    assert crop.shape == (OH, OW, 3) and crop.dtype == np.uint8
    np.testing.assert_array_equal(crop, expected)  # the box is partly outside the image: zeros there


def test_point_in_image_lands_at_predicted_crop_pixel():
    h, w = 700, 900
    point = np.array([613.3, 207.8])
    yy, xx = np.mgrid[0:h, 0:w]
    blob = np.exp(-((xx - point[0]) ** 2 + (yy - point[1]) ** 2) / (2 * 4.0**2)).astype(np.float32)
    for box in ([550, 100, 700, 400], [600, -50, 1000, 300]):  # second box leaves the image
        center, scale = box_to_center_scale(box)
        crop = crop_person(blob, center, scale)
        ys, xs = np.mgrid[0:OH, 0:OW]
        centroid = np.array([(crop * xs).sum(), (crop * ys).sum()]) / crop.sum()
        # Measured < 0.001 px (OpenCV's bilinear warp rounds coordinates to 1/32 px; the blob averages that out).
        np.testing.assert_allclose(centroid, image_to_crop(point, center, scale), atol=0.01)


def test_crop_of_mirrored_image_is_the_mirrored_crop():
    # UDP maps box edges to pixel centres, so mirroring commutes with cropping (what the flip test relies on).
    rng = np.random.default_rng(3)
    image = rng.uniform(0, 1, (400, 300)).astype(np.float32)
    center, scale = np.array([140.2, 210.7]), np.array([180.0, 240.0])
    crop = crop_person(image, center, scale)
    mirrored = crop_person(image[:, ::-1].copy(), [300 - 1 - center[0], center[1]], scale)
    np.testing.assert_allclose(mirrored, crop[:, ::-1], atol=1e-4)  # measured 1.5e-5: the warp's rounding


def test_box_width_is_measured_from_the_left_edge_and_batches_keep_their_layout():
    # A wide box that does not start at x = 0: 400x100 -> padded 500x125 -> h := 500 / 0.75.
    center, scale = box_to_center_scale([100, 20, 500, 120])
    np.testing.assert_allclose(center, [300, 70])
    np.testing.assert_allclose(scale, [500, 500 / 0.75])
    # Three boxes give (3, 2) centres and scales, row per box (two boxes would hide a transposed layout).
    boxes = np.array([[100, 20, 500, 120], [100, 50, 200, 450], [0, 0, 300, 400]])
    centers, scales = box_to_center_scale(boxes)
    assert centers.shape == scales.shape == (3, 2)
    np.testing.assert_allclose(scales, [[500, 500 / 0.75], [375, 500], [375, 500]])
    with pytest.raises(ValueError, match=r"boxes must be \(\.\.\., 4\) xyxy, got shape \(3,\)"):
        box_to_center_scale([1, 2, 3])


def test_warp_defaults_to_no_rotation_and_checks_the_scale():
    # Without a rotation the warp is a pure scale + shift: no shear terms, in both directions.
    m = udp_warp_matrix([400.0, 300.0], [240.0, 320.0])
    assert m[0, 1] == 0 and m[1, 0] == 0
    np.testing.assert_allclose(crop_to_image([[0.0, 0.0]], [400.0, 300.0], [240.0, 320.0]), [[280.0, 140.0]])
    # Sub-pixel boxes are still boxes; zero or negative sizes are not.
    assert np.isfinite(udp_warp_matrix([5.0, 5.0], [0.5, 0.5])).all()
    for scale in ([0.0, 1.0], [1.0, 0.0], [-1.0, 1.0]):
        with pytest.raises(ValueError, match=r"box scale must be positive, got \("):
            udp_warp_matrix([5.0, 5.0], scale)


def test_crop_turned_half_a_turn_is_the_crop_upside_down():
    # The UDP warp maps the box centre to the crop centre, so 180 degrees about it reverses both crop axes.
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    center, scale = np.array([80.0, 60.0]), np.array([60.0, 80.0])
    upright = crop_person(image, center, scale, output_size=(48, 64))
    turned = crop_person(image, center, scale, output_size=(48, 64), rotation_deg=180.0)
    assert np.abs(turned.astype(int) - upright[::-1, ::-1].astype(int)).max() <= 1
    assert np.abs(upright.astype(int) - upright[::-1, ::-1].astype(int)).max() > 50  # the check can fail
