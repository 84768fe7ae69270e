"""Metric distances on a synthetic plane at a known distance: from a pointmap, from metric depth plus a focal
length (the same points), snapping off the mask's edge, keypoint pairs, and the reasons given when there is none.

The plane: Z = 2 m, focal length 400 px, principal point at the centre of a 64 x 48 image, so pixel (x, y) sees
X = (x - 31.5) * 2 / 400, Y = (y - 23.5) * 2 / 400; n pixels apart on a row are n * 5 mm apart."""

from __future__ import annotations

import numpy as np
import pytest

from sapiens_core.annotation import SOURCE_MODEL, Annotation, Person
from sapiens_core.geometry import pointmap_to_points
from sapiens_core.geometry.measure import NAMED_DISTANCES, keypoint_distance, metric_geometry
from sapiens_core.schema import keypoint_schema

W, H, Z, F = 64, 48, 2.0, 400.0


def plane(background_columns: int = 8) -> np.ndarray:
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    points = np.stack([(xs - 31.5) * Z / F, (ys - 23.5) * Z / F, np.full_like(xs, Z)], axis=2).astype(np.float32)
    points[:, :background_columns] = np.nan
    return points


def test_pointmap_distances_by_hand():
    doc = Annotation("p.png", (W, H), pointmap=plane())
    geometry = metric_geometry(doc)
    assert geometry.source == "pointmap"
    assert geometry.distance((10, 5), (50, 5)) == pytest.approx(40 * 0.005, abs=1e-6)  # 40 px on a row: 20 cm
    assert geometry.distance((20.7, 3.2), (20.1, 43.9)) == pytest.approx(40 * 0.005, abs=1e-6)  # floor: rows 3, 43
    diagonal = geometry.distance((12, 0), (42, 40))
    assert diagonal == pytest.approx(np.hypot(30, 40) * 0.005, abs=1e-6)  # 50 px: 25 cm


def test_metric_depth_with_a_focal_length_gives_the_same_points():
    points = plane()
    doc = Annotation(
        "p.png",
        (W, H),
        depth=np.ascontiguousarray(points[..., 2]),
        models={"depth": {"metric": True, "focal_length_px": F}},
    )
    geometry = metric_geometry(doc)
    assert geometry.source == "depth"
    for x, y in ((9, 0), (31, 23), (63, 47)):
        np.testing.assert_allclose(geometry.point(x, y), points[y, x], atol=1e-6)
    assert geometry.distance((10, 5), (50, 5)) == pytest.approx(0.2, abs=1e-6)


def test_a_pick_just_off_the_mask_snaps_to_the_nearest_person_pixel():
    geometry = metric_geometry(Annotation("p.png", (W, H), pointmap=plane(background_columns=8)))
    np.testing.assert_allclose(geometry.point(6.5, 10), plane()[10, 8], atol=1e-7)  # 2 px off: column 8
    with pytest.raises(ValueError, match=r"no 3-D point at \(2, 10\): it lies off the person"):
        geometry.point(2, 10)
    with pytest.raises(ValueError, match="outside the 64x48 image"):
        geometry.point(64, 0)


def test_documents_without_metric_3d_say_why():
    relative = Annotation("p.png", (W, H), depth=np.ones((H, W), np.float32), models={"depth": {"file": "d.pt2"}})
    with pytest.raises(ValueError, match="run a Sapiens2 pointmap model"):
        metric_geometry(relative)
    relative.models["depth"]["metric"] = True
    with pytest.raises(ValueError, match="no focal length"):
        metric_geometry(relative)


def test_shoulder_width_from_keypoints():
    schema = keypoint_schema("goliath_308")
    keypoints = np.zeros((len(schema), 3), np.float32)
    visibility = np.zeros(len(schema), np.uint8)
    left, right = schema.names.index("left_shoulder"), schema.names.index("right_shoulder")
    keypoints[left, :2], keypoints[right, :2] = (50.4, 20.2), (14.9, 20.8)  # columns 50 and 14: 36 px
    visibility[[left, right]] = 2
    doc = Annotation(
        "p.png",
        (W, H),
        "goliath_308",
        persons=[Person(0, keypoints, visibility, np.full(len(schema), SOURCE_MODEL))],
        pointmap=plane(),
    )
    assert keypoint_distance(doc, 0, *NAMED_DISTANCES["shoulder width"]) == pytest.approx(0.18, abs=1e-6)
    with pytest.raises(ValueError, match="left_hip of person 0 is not labelled"):
        keypoint_distance(doc, 0, *NAMED_DISTANCES["hip width"])


def test_pointmap_points_keep_their_metric_positions():
    points, pixels = pointmap_to_points(plane(), stride=2)
    assert len(points) == (H // 2) * ((W - 8) // 2) and pixels[0].tolist() == [8, 0]
    np.testing.assert_array_equal(points, plane()[pixels[:, 1], pixels[:, 0]])
    mask = np.zeros((H, W), bool)
    mask[10, 20] = True
    points, pixels = pointmap_to_points(plane(), mask=mask)
    assert pixels.tolist() == [[20, 10]] and points[0, 2] == Z
