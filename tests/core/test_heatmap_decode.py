"""Heatmap decoding: sub-pixel accuracy on UDP Gaussians, fast == reference, heatmap -> image mapping."""

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sapiens_core.tasks import crop_to_image, decode_heatmaps, decode_heatmaps_reference, keypoints_to_image
from sapiens_core.tasks import heatmap as H

HM_W, HM_H = 192, 256


def udp_gaussian_heatmaps(points, size=(HM_W, HM_H), sigma=6.0, amplitude=1.0) -> np.ndarray:
    """mmpose's UDP target: exp(-d^2 / 2 sigma^2) around a sub-pixel point, cut to a 3-sigma window. (K, h, w)."""
    w, h = size
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    amp = np.broadcast_to(np.asarray(amplitude, dtype=np.float64), (len(pts),))
    out = np.zeros((len(pts), h, w), np.float32)
    r = int(3 * sigma)
    xs, ys = np.arange(w), np.arange(h)
    for k, (x, y) in enumerate(pts):
        cx, cy = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
        x0, x1, y0, y1 = max(cx - r, 0), min(cx + r + 1, w), max(cy - r, 0), min(cy + r + 1, h)
        if x0 >= x1 or y0 >= y1:
            continue
        gx = np.exp(-((xs[x0:x1] - x) ** 2) / (2 * sigma**2))
        gy = np.exp(-((ys[y0:y1] - y) ** 2) / (2 * sigma**2))
        out[k, y0:y1, x0:x1] = amp[k] * gy[:, None] * gx[None, :]
    return out


def test_known_subpixel_peak_is_recovered():
    hm = udp_gaussian_heatmaps([(73.37, 140.81)])[None]
    for decode in (decode_heatmaps, decode_heatmaps_reference):
        coords, scores = decode(hm)
        assert coords.shape == (1, 1, 2) and coords.dtype == np.float32
        # Measured: ~5e-6 px (float32 rounding); the argmax alone would be 0.37 px off.
        assert np.abs(coords[0, 0] - (73.37, 140.81)).max() < 1e-4
        assert scores[0, 0] == pytest.approx(hm.max())


def test_random_subpixel_peaks_away_from_border():
    rng = np.random.default_rng(3)
    pts = rng.uniform([6, 6], [HM_W - 7, HM_H - 7], size=(300, 2))
    coords, _ = decode_heatmaps(udp_gaussian_heatmaps(pts)[None])
    # Measured max 1.0e-5 px over 1000 points >= 6 px from the border. Closer than ~5 px, mmpose's zero-padded
    # blur pulls the estimate inward by up to ~0.9 px: that is the algorithm, reproduced, not tested for here.
    assert np.abs(coords[0] - pts).max() < 1e-4


def rotated_gaussian(center, sigmas, theta, size=(48, 64)) -> np.ndarray:
    """An elongated peak: sigmas along axes turned by theta, around a sub-pixel centre. (h, w) float32."""
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    dx, dy = xs - center[0], ys - center[1]
    u = np.cos(theta) * dx + np.sin(theta) * dy
    v = -np.sin(theta) * dx + np.cos(theta) * dy
    return np.exp(-0.5 * (u**2 / sigmas[0] ** 2 + v**2 / sigmas[1] ** 2)).astype(np.float32)


@pytest.mark.parametrize("sigmas", [(2.0, 1.0), (4.0, 1.5), (6.0, 2.0)])
def test_elongated_rotated_peaks_use_the_hessian_cross_term(sigmas):
    # Ground truth without the code under test: a Gaussian blurred by a Gaussian stays a Gaussian around the same
    # centre, so its log is a quadratic whose Newton step lands on the centre exactly. A round, axis-aligned peak
    # has d2L/dxdy = 0 and cannot tell a wrong cross term; a tilted elongated one can: halving it moves these
    # points by 0.007-0.3 px (measured), while the correct step stays within 1e-3 px.
    rng = np.random.default_rng(17)
    centers = rng.uniform(15, 33, size=(24, 2))
    thetas = np.linspace(0.2, np.pi - 0.2, 24)  # every tilt except the axis-aligned ones
    hm = np.stack([rotated_gaussian(c, sigmas, t) for c, t in zip(centers, thetas)])[None]
    for decode in (decode_heatmaps, decode_heatmaps_reference):
        coords, _ = decode(hm)
        assert np.abs(coords[0] - centers).max() < 2e-3, decode.__name__


def test_transposed_map_decodes_to_the_transposed_point():
    # Swapping the image axes swaps x and y of the answer (dxy is symmetric, dx/dy and dxx/dyy trade places).
    peak = rotated_gaussian((20.3, 27.6), (5.0, 1.5), 0.6, size=(48, 48))
    a, _ = decode_heatmaps(peak[None, None])
    b, _ = decode_heatmaps(np.ascontiguousarray(peak.T)[None, None])
    np.testing.assert_allclose(b[0, 0], a[0, 0, ::-1], atol=1e-5)


def test_peak_on_the_border_follows_edge_padding():
    # At x = 0 the edge-padded log-map has L[-1] = L[0], so the step is dx / dxx = 0.5 outward: mmpose's numbers.
    coords, _ = decode_heatmaps_reference(udp_gaussian_heatmaps([(0.0, 0.0), (HM_W - 1, HM_H - 1)])[None])
    np.testing.assert_allclose(coords[0], [[-0.5, -0.5], [HM_W - 0.5, HM_H - 0.5]], atol=1e-5)


def test_invalid_points_keep_score_and_get_minus_one():
    hm = -np.abs(np.random.default_rng(0).normal(size=(2, 3, 20, 16))).astype(np.float32) - 0.01
    hm[1, 2] = 0.0  # max == 0 is invalid too
    for decode in (decode_heatmaps, decode_heatmaps_reference):
        coords, scores = decode(hm)
        assert np.all(coords == -1)
        np.testing.assert_array_equal(scores, hm.reshape(2, 3, -1).max(-1))


# ----------------------------------------------------------------------------------------------- fast == reference
KINDS = ["peak", "multi", "noisy", "negative", "constant", "zero", "spike", "faint", "huge", "neg_background", "ridge"]


def make_map(kind: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """One (h, w) map of a given flavour; peaks may sit on or beyond the border."""

    def peak(amplitude=None, sigma=None):
        x, y = rng.uniform(-2, w + 1), rng.uniform(-2, h + 1)
        a = rng.uniform(0.05, 1.2) if amplitude is None else amplitude
        return udp_gaussian_heatmaps([(x, y)], (w, h), sigma or rng.uniform(1.0, 8.0), a)[0]

    if kind == "peak":
        return peak()
    if kind == "multi":
        return sum(peak() for _ in range(rng.integers(2, 5)))
    if kind == "noisy":
        return peak() + rng.normal(0, rng.uniform(0.005, 0.2), (h, w)).astype(np.float32)
    if kind == "negative":
        return -rng.uniform(0.001, 1.0, (h, w)).astype(np.float32)
    if kind == "constant":
        return np.full((h, w), rng.uniform(-1, 1), np.float32)
    if kind == "zero":
        return np.zeros((h, w), np.float32)
    if kind == "spike":
        m = np.zeros((h, w), np.float32)
        m[rng.integers(h), rng.integers(w)] = rng.uniform(0.001, 3.0)
        return m
    if kind == "faint":  # the clip at 1e-3 reaches the argmax's neighbours: the fast path must fall back
        return peak(amplitude=rng.uniform(1e-4, 5e-3)) + rng.normal(0, 2e-4, (h, w)).astype(np.float32)
    if kind == "huge":  # above the clip at 50
        return peak(amplitude=rng.uniform(40, 500))
    if kind == "neg_background":
        m = np.full((h, w), -rng.uniform(0.1, 2.0), np.float32)
        m[rng.integers(h), rng.integers(w)] = rng.uniform(0.01, 1.0)
        return m
    if kind == "ridge":  # constant along y: exercises dxy == 0 exactly
        return np.repeat(peak()[:1] + 0.1, h, axis=0)
    raise AssertionError(kind)


def assert_same_decode(hm: np.ndarray) -> None:
    fast_c, fast_s = decode_heatmaps(hm)
    ref_c, ref_s = decode_heatmaps_reference(hm)
    np.testing.assert_array_equal(fast_s, ref_s)
    assert np.isfinite(fast_c).all() and np.isfinite(ref_c).all()
    np.testing.assert_allclose(fast_c, ref_c, rtol=0, atol=0.01)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=6),
    h=st.integers(1, 48),
    w=st.integers(1, 48),
    seed=st.integers(0, 2**32 - 1),
)
def test_fast_equals_reference_on_random_maps(kinds, h, w, seed):
    rng = np.random.default_rng(seed)
    hm = np.stack([make_map(k, h, w, rng) for k in kinds]).astype(np.float32)
    assert_same_decode(hm.reshape(1, len(kinds), h, w))


def test_fast_equals_reference_at_model_size():
    rng = np.random.default_rng(11)
    hm = np.stack([make_map(KINDS[k % len(KINDS)], HM_H, HM_W, rng) for k in range(2 * 66)])
    assert_same_decode(hm.reshape(2, 66, HM_H, HM_W))


def test_fast_path_blurs_no_whole_map_for_realistic_heatmaps(monkeypatch):
    calls = []
    real = H.blurred_log_map
    monkeypatch.setattr(H, "blurred_log_map", lambda *a: calls.append(1) or real(*a))
    rng = np.random.default_rng(5)
    pts = rng.uniform(0, [HM_W, HM_H], size=(40, 2))
    hm = udp_gaussian_heatmaps(pts, amplitude=rng.uniform(0.1, 1.0, 40)) + rng.normal(0, 0.01, (40, HM_H, HM_W))
    decode_heatmaps(hm.astype(np.float32)[None])
    assert calls == []
    # ...and a faint map (clip reachable) takes the exact fallback, still equal to the reference.
    faint = udp_gaussian_heatmaps([(50.2, 60.7)], amplitude=1.1e-3)[None]  # neighbours ~1e-3
    assert_same_decode(faint)
    assert len(calls) == 2  # once by the fast path, once by the reference


# ----------------------------------------------------------------------------------------------- to image
def test_keypoints_to_image_corners_and_inverse_of_udp():
    center, scale = np.array([400.0, 300.0]), np.array([240.0, 320.0])
    hm = np.array([[0.0, 0.0], [HM_W - 1, HM_H - 1], [(HM_W - 1) / 2, (HM_H - 1) / 2]])
    img = keypoints_to_image(hm, center, scale)
    np.testing.assert_allclose(img, [center - scale / 2, center + scale / 2, center], atol=1e-9)
    # Same as the true UDP crop pixel (kp_hm * (in-1)/(hm-1)) through the exact inverse of the warp.
    pts = np.random.default_rng(0).uniform(0, [HM_W - 1, HM_H - 1], (50, 2))
    crop_px = pts * (np.array([767, 1023]) / np.array([HM_W - 1, HM_H - 1]))
    np.testing.assert_allclose(keypoints_to_image(pts, center, scale), crop_to_image(crop_px, center, scale), atol=1e-9)


def test_keypoints_to_image_broadcasts_per_instance():
    centers = np.array([[10.0, 20.0], [500.0, 600.0]])
    scales = np.array([[75.0, 100.0], [300.0, 400.0]])
    out = keypoints_to_image(np.zeros((2, 3, 2)), centers, scales)
    assert out.shape == (2, 3, 2)
    np.testing.assert_allclose(out[:, 0], centers - scales / 2)


def test_flat_neighbourhood_takes_no_rounding_noise_step():
    # A constant 9x2 map: by symmetry the x-derivatives are exactly 0; mmpose's float32 arithmetic turns their
    # rounding noise into x = -2.2e7 (see heatmap.py). Here x stays on the argmax; y gets the border half-step.
    hm = np.full((1, 1, 9, 2), 0.88142586, np.float32)
    for decode in (decode_heatmaps, decode_heatmaps_reference):
        np.testing.assert_allclose(decode(hm)[0][0, 0], [0.0, -0.5], atol=1e-5)


def test_mmpose_float32_arithmetic_agrees_on_real_peaks():
    rng = np.random.default_rng(8)
    pts = rng.uniform(0, [HM_W, HM_H], size=(60, 2))
    hm = udp_gaussian_heatmaps(pts, amplitude=rng.uniform(0.2, 1.0, 60)) + rng.normal(0, 0.01, (60, HM_H, HM_W))
    hm = hm.astype(np.float32)[None]
    fast, _ = decode_heatmaps(hm)
    mmpose, _ = decode_heatmaps_reference(hm, precision="float32")
    assert np.abs(fast - mmpose).max() < 1e-3  # measured <= 3e-5 px: float32 vs float64 rounding


# ----------------------------------------------------------------------------------------------- the clip to [1e-3, 50]
@pytest.mark.parametrize("amplitude", [1e-4, 500.0], ids=["below-the-floor", "saturated"])
def test_clipped_log_map_gives_the_argmax_pixel(amplitude):
    # mmpose clips the blurred map to [1e-3, 50] before the log (spec §2.1). A peak entirely below 1e-3, or one
    # whose argmax and 8 neighbours all exceed 50, leaves a flat log-map there: no sub-pixel step, the integer
    # argmax (20, 31) is the answer. Without the clip the same peak would refine to (20.3, 30.7).
    hm = udp_gaussian_heatmaps([(20.3, 30.7)], size=(48, 64), sigma=2.0, amplitude=amplitude)[None]
    for decode in (decode_heatmaps, decode_heatmaps_reference):
        coords, scores = decode(hm)
        np.testing.assert_array_equal(coords[0, 0], [20.0, 31.0])
        assert scores[0, 0] == pytest.approx(hm.max())
    unclipped = udp_gaussian_heatmaps([(20.3, 30.7)], size=(48, 64), sigma=2.0, amplitude=1.0)[None]
    np.testing.assert_allclose(decode_heatmaps(unclipped)[0][0, 0], [20.3, 30.7], atol=1e-3)


def test_float32_precision_is_mmpose_arithmetic():
    # The float32 reference exists to reproduce mmpose's own numbers, rounding noise included: on the constant
    # 9x2 map its gradient noise over eps sends x to about -2.2e7 (heatmap.py), where float64 stays put.
    hm = np.full((1, 1, 9, 2), 0.88142586, np.float32)
    assert H.blurred_log_map(hm[0, 0], np.float32).dtype == np.float32
    x32 = decode_heatmaps_reference(hm, precision="float32")[0][0, 0, 0]
    assert abs(x32) > 1e6
    assert decode_heatmaps_reference(hm)[0][0, 0, 0] == pytest.approx(0.0, abs=1e-5)
    with pytest.raises(ValueError, match="precision"):
        decode_heatmaps_reference(hm, precision="float16")


def test_keypoints_to_image_is_float64_even_from_float32_heatmap_pixels():
    # A 12 MP image needs more than float32's 24 bits for sub-pixel positions after the affine: keep float64.
    kp = np.array([[191.0 / 3, 255.0 / 7]], np.float32)
    out = keypoints_to_image(kp, np.array([3001.25, 2000.5], np.float32), np.array([3000.0, 4000.0], np.float32))
    assert out.dtype == np.float64
    expected = kp.astype(np.float64) / [HM_W - 1, HM_H - 1] * [3000.0, 4000.0] + [3001.25, 2000.5] - [1500, 2000]
    np.testing.assert_allclose(out[0], expected[0], rtol=0, atol=1e-9)


def test_output_dtypes_and_shape_errors():
    hm = udp_gaussian_heatmaps([(10.2, 12.7), (30.0, 5.5)], size=(40, 20)).astype(np.float64)[None]
    for decode in (decode_heatmaps, decode_heatmaps_reference):
        coords, scores = decode(hm)
        assert coords.dtype == np.float32 and scores.dtype == np.float32
        assert coords.shape == (1, 2, 2) and scores.shape == (1, 2)
        with pytest.raises(ValueError, match=r"heatmaps must be \(N, K, h, w\), got shape \(2, 20, 40\)"):
            decode(hm[0])


def test_flat_rows_take_no_step_either():
    # The 9x2 case transposed: y is the flat axis now, x gets the border half-step.
    hm = np.full((1, 1, 2, 9), 0.88142586, np.float32)
    for decode in (decode_heatmaps, decode_heatmaps_reference):
        np.testing.assert_allclose(decode(hm)[0][0, 0], [-0.5, 0.0], atol=1e-5)


# ------------------------------------------------------------------------------------- the fast path's clip bound
def test_a_neighbour_just_under_the_floor_is_clipped_by_the_fast_path_too():
    # A 25x25 plateau from (1, 1): its first pixel is the argmax, the blurred corner (0, 0) outside it is the
    # smallest value read. Choose the height so that corner blurs to 1e-3 * (1 - 1e-6): the reference clips it up
    # to 1e-3, and so must the fast path (through its fallback): a "no clip can happen" bound that let 1e-3 minus
    # a hair through would move the point by ~7e-6 px. The blur is OpenCV's on the zero-padded map, not the
    # decoder's window sums.
    plateau = np.zeros((32, 32))
    plateau[1:26, 1:26] = 1.0
    corner = cv2.GaussianBlur(np.pad(plateau, 5), (11, 11), 0)[5, 5]
    hm = (plateau * np.float32(1e-3 * (1 - 1e-6) / corner)).astype(np.float32)[None, None]
    assert 1e-3 * (1 - 2e-6) < float(hm.max()) * corner < 1e-3  # the setup: just under the floor
    assert np.exp(H.blurred_log_map(hm[0, 0])[0, 0]) == pytest.approx(1e-3, rel=1e-12)  # the reference clips it
    fast, ref = decode_heatmaps(hm)[0], decode_heatmaps_reference(hm)[0]
    np.testing.assert_allclose(fast, ref, rtol=0, atol=5e-7)


# ------------------------------------------------------------------------- the Newton step from the 7 log values
EPS32 = 2.0**-23  # float32 eps, mmpose's regulariser


def test_newton_step_with_a_zero_curvature_axis_is_the_regularised_solve():
    # Log values around the argmax (c = 0) chosen by hand for dx = 1/4, dy = 1/2, dxx = -1, dyy = 0 and
    # dxy = 2^-10 in the spec's 7-point form: dyy + eps is all that keeps the matrix from being indefinite, so
    # the regulariser's sign changes the step by a lot. Expected: numpy's LU solve of (H + eps I) s = g.
    c, xp, xm, yp, ym = 0.0, -0.25, -0.75, 0.5, -0.5
    pp = mm = 2.0**-10 - 0.5
    values = [np.array([v]) for v in (c, xp, xm, yp, ym, pp, mm)]
    hessian = np.array([[-1.0 + EPS32, 2.0**-10], [2.0**-10, 0.0 + EPS32]])
    expected = np.linalg.solve(hessian, [0.25, 0.5])
    np.testing.assert_allclose(H._newton_shift(*values)[0], expected, rtol=1e-9)


def test_singular_regularised_hessian_takes_no_step_and_spares_the_other_points():
    # dxx = dyy = -eps and dxy = 0 make H + eps I the zero matrix: mmpose's inverse would raise, no step is the
    # reading. A second, ordinary point in the same call keeps its own step: only the singular one is zeroed.
    half = EPS32 / 2
    singular = (0.0, -half + 0.125, -half - 0.125, -half, -half, -EPS32 + 0.125, -EPS32 - 0.125)
    ordinary = (0.0, -0.25, -0.75, -0.25, -0.25, 0.0, 0.0)
    values = [np.array([a, b]) for a, b in zip(singular, ordinary, strict=True)]
    shift = H._newton_shift(*values)
    np.testing.assert_array_equal(shift[0], [0.0, 0.0])
    # ordinary: dx = 1/4, dy = 0, dxx = -1, dyy = -1/2, dxy = (0 + 1/4 + 1/4 + 3/4 + 1/4 + 0) / 2 = 3/4
    expected = np.linalg.solve([[-1.0 + EPS32, 0.75], [0.75, -0.5 + EPS32]], [0.25, 0.0])
    np.testing.assert_allclose(shift[1], expected, rtol=1e-9)
