"""The quick backend with MediaPipe Holistic run for real on the astronaut photo (the table: test_quick)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sapiens_core.errors import BackendError
from sapiens_core.schema import keypoint_schema
from tests.core.test_quick import ASTRONAUT, DATA, _mapped_names


@pytest.fixture(scope="module")
def schema():
    return keypoint_schema("goliath_308")


@pytest.fixture(scope="module")
def raw():
    return json.loads(DATA.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def quick():
    pytest.importorskip("mediapipe")
    from sapiens_core.quick import QuickModel, quick_available

    if not quick_available():
        pytest.skip("mediapipe without the legacy Holistic solution")
    from PIL import Image

    image = np.asarray(Image.open(ASTRONAUT).convert("RGB"))
    model = QuickModel()
    result = model.predict(image)
    mirrored = model.predict(np.ascontiguousarray(image[:, ::-1]))
    yield model, image, result, mirrored
    model.close()


def _mapped_face_count(raw, schema) -> int:
    return sum(schema.display_groups[schema.index(n)] == "face" for n in _mapped_names(raw, schema))


def test_real_run_shapes_and_unlabeled(quick, raw, schema):
    model, image, r, _ = quick
    assert model.name == "quick" and "mediapipe" in model.provider
    assert r is not None and {"pose", "face"} <= set(r.found)
    assert r.keypoints.shape == (308, 2) and r.keypoints.dtype == np.float32
    assert r.scores.shape == (308,) and r.scores.dtype == np.float32 and r.labeled.dtype == bool
    h, w = image.shape[:2]
    assert np.all(r.scores[~r.labeled] == 0) and np.all(r.keypoints[~r.labeled] == 0)
    assert np.all((r.scores[r.labeled] > 0) & (r.scores[r.labeled] <= 1))
    kp = r.keypoints[r.labeled]
    assert np.all((kp >= -0.5) & (kp <= [w - 0.5, h - 0.5]))
    mapping = model.mapping
    assert not np.any(r.labeled & ~mapping.mapped_mask())  # never a point the table does not map
    # the whole face is found; the legs are off-frame (upper-body photo) and therefore unlabeled
    face = np.asarray(schema.display_groups) == "face"
    assert r.labeled[face].sum() == _mapped_face_count(raw, schema)
    for name in ("left_knee", "right_ankle", "left_heel", "right_big_toe"):
        assert not r.labeled[schema.index(name)], name


def test_real_run_geometry(quick, schema):
    _, image, r, _ = quick
    P = lambda n: r.keypoints[schema.index(n)]  # noqa: E731
    for n in (
        "nose",
        "left_eye",
        "right_eye",
        "left_shoulder",
        "right_shoulder",
        "left_wrist",
        "right_wrist",
        "tip_of_nose",
        "tip_of_chin",
        "center_of_cupid_bow",
        "l_center_of_iris",
        "r_center_of_iris",
    ):
        assert r.labeled[schema.index(n)], n
    face_idx = [i for i, g in enumerate(schema.display_groups) if g == "face" and r.labeled[i]]
    fx0, fy0 = r.keypoints[face_idx].min(axis=0)
    fx1, fy1 = r.keypoints[face_idx].max(axis=0)
    # the face of the astronaut is around x 180-270, y 60-180 (looked at the picture)
    assert 170 < fx0 < fx1 < 280 and 70 < fy0 < fy1 < 190
    nose = P("nose")
    assert fx0 < nose[0] < fx1 and fy0 < nose[1] < fy1
    assert P("left_eye")[1] < nose[1] and P("right_eye")[1] < nose[1]
    assert P("left_eye")[0] > P("right_eye")[0]  # subject's left is on the image's right
    assert P("l_outer_end_of_upper_lash_line")[0] > P("l_inner_end_of_upper_lash_line")[0]
    assert P("r_outer_end_of_upper_lash_line")[0] < P("r_inner_end_of_upper_lash_line")[0]
    assert P("end_of_l_eyebrow")[0] > P("upper_startpoint_of_l_eyebrow")[0]
    assert P("l_outer_corner_of_mouth")[0] > P("r_outer_corner_of_mouth")[0]
    assert (
        P("center_of_cupid_bow")[1] > P("tip_of_nose")[1]
        and P("center_of_lower_outer_lip")[1] > P("center_of_cupid_bow")[1]
    )
    assert P("tip_of_chin")[1] > P("center_of_lower_outer_lip")[1]
    for eye in ("upper", "lower"):
        assert P(f"r_centerpoint_of_{eye}_lash_line")[1] > P("upper_midpoint_1_of_r_eyebrow")[1]
    # iris inside the eye opening (lash lines' box, 1.5 px slack for the lids covering the iris top/bottom)
    for s in "lr":
        lash = np.array([P(n) for n in schema.names if n.startswith(f"{s}_") and "lash_line" in n])
        iris = np.array([P(n) for n in schema.names if n.startswith(f"{s}_") and "of_iris" in n])
        x0, y0 = lash.min(axis=0) - 1.5
        x1, y1 = lash.max(axis=0) + 1.5
        assert np.all((iris[:, 0] > x0) & (iris[:, 0] < x1)), s
        c = P(f"{s}_center_of_iris")
        assert y0 < c[1] < y1 and np.allclose(P(f"{s}_center_of_pupil"), c)
        # clock positions as seen in the image
        assert P(f"{s}_border_of_iris_3")[0] > c[0] > P(f"{s}_border_of_iris_9")[0]
        assert P(f"{s}_border_of_iris_12")[1] < c[1] < P(f"{s}_border_of_iris_6")[1]
    # shoulders below the face and on the subject's sides; wrists below the shoulders
    assert P("left_shoulder")[1] > fy1 and P("right_shoulder")[1] > fy1
    assert P("left_shoulder")[0] > nose[0] > P("right_shoulder")[0]
    assert P("left_wrist")[1] > P("left_shoulder")[1] and P("right_wrist")[1] > P("right_shoulder")[1]
    assert P("left_wrist")[0] > P("right_wrist")[0]


def test_real_run_person_mask(quick):
    _, image, r, _ = quick
    m = r.person_mask
    assert m is not None and m.dtype == bool and m.shape == image.shape[:2]
    for x, y in ((222, 128), (215, 330), (150, 400), (300, 400)):  # face, chest, both sides of the suit
        assert m[y, x], (x, y)
    for x, y in ((0, 0), (511, 0), (0, 511), (420, 150)):  # corners, the shuttle model
        assert not m[y, x], (x, y)
    assert 0.25 < m.mean() < 0.65


def test_real_run_is_consistent_with_the_flip_table(quick, raw, schema):
    """The mirrored photo shows a (mirrored) person facing the camera: its prediction, flipped back through the
    Goliath flip table, must land on the original one - this checks the mirrored contours and MediaPipe's sides."""
    _, image, a, b = quick
    w = image.shape[1]
    fi = schema.flip_index
    back = b.keypoints[fi].copy()
    back[:, 0] = w - 1 - back[:, 0]
    both = a.labeled & b.labeled[fi]
    face = both & (np.asarray(schema.display_groups) == "face")
    assert face.sum() == _mapped_face_count(raw, schema)
    err = np.linalg.norm(a.keypoints - back, axis=1)
    assert err[face].mean() < 2.0 and err[face].max() < 4.0
    # a wrong flip partner would cost several pixels: swapping the eye ends moves them by the eye width
    i, j = schema.index("l_inner_end_of_upper_lash_line"), schema.index("l_outer_end_of_upper_lash_line")
    assert np.linalg.norm(a.keypoints[i] - back[j]) > 10
    head = [schema.index(n) for n in ("nose", "left_eye", "right_eye")]
    assert err[head].max() < 5.0


def test_real_run_misc(quick):  # its speed is measured in bench/, not asserted on a shared CI machine
    model, image, _, _ = quick
    blank = np.full((256, 256, 3), 127, np.uint8)
    assert model.predict(blank) is None
    with pytest.raises(ValueError):
        model.predict(np.zeros((10, 10, 2), np.uint8))


def test_closed_model_raises():
    pytest.importorskip("mediapipe")
    from sapiens_core.quick import QuickModel, quick_available

    if not quick_available():
        pytest.skip("mediapipe without the legacy Holistic solution")
    m = QuickModel()
    m.close()
    m.close()
    with pytest.raises(BackendError):
        m.predict(np.zeros((64, 64, 3), np.uint8))


def test_a_side_of_32767_px_or_more_does_not_abort_the_process():
    """MediaPipe's own OpenCV asserts (exit 134, the whole run gone) on such an image: it must see a smaller one."""
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    pytest.importorskip("mediapipe")
    script = textwrap.dedent(
        """
        import numpy as np
        from sapiens_core.quick import QuickModel
        model = QuickModel()
        print("found" if model.predict(np.full((64, 33000, 3), 127, np.uint8)) is not None else "nobody")
        model.close()
        """
    )
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=root, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "nobody"


def test_a_large_photo_is_scaled_down_for_mediapipe_and_points_come_back_in_its_pixels(quick, schema):
    import cv2

    model, image, result, _ = quick
    big = np.full((5000, 5000, 3), 255, np.uint8)
    big[400:4496, 500:4596] = cv2.resize(image, (4096, 4096), interpolation=cv2.INTER_CUBIC)  # 8x, offset
    found = model.predict(big)
    assert found is not None
    both = result.labeled & found.labeled
    expected = result.keypoints[both] * 8 + np.array([500, 400])
    # A 512-px photo seen at 8x and scaled by 0.82: the same landmarks within a few percent of the figure's size.
    assert np.median(np.linalg.norm(found.keypoints[both] - expected, axis=1)) < 0.02 * 4096
    assert found.person_mask.shape == (5000, 5000)
