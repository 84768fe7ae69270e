"""The pipeline runs Sapiens2 normal, pointmap and pose with their own pre-processing (Sapiens2 spec §3, §4.2):
what reaches each model is checked against the spec's resize, and what comes back is checked against values
worked out by hand on crafted model outputs (a plane at a known distance, normals that differ in the padding)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sapiens_core.annotation import Annotation
from sapiens_core.cli import main
from sapiens_core.errors import AnnotationFormatError
from sapiens_core.pipeline import Frame, Pipeline
from sapiens_core.tasks import box_to_center_scale, crop_person, normalize
from sapiens_core.tasks.sapiens2 import crop_person_v2, resize_and_pad
from tests.core.test_cli_predict import synthetic_image
from tests.sapiens2_tiny import build_tiny_sapiens2, save_safetensors

# A 200 x 100 (W x H) image: r = min(768/200, 1024/100) = 3.84, resized to exactly 768 x 384, so the padding is
# 320 rows on top and bottom and none left or right, and every step below is a whole number of pixels.
W, H = 200, 100
TOP, ROWS = 320, 384


def _image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(H, W, 3), dtype=np.uint8)


def _pipeline(tmp_path, monkeypatch, outputs: dict, seen: dict | None = None) -> Pipeline:
    """Tiny Sapiens2 files for each task in ``outputs``; each backend returns the crafted output for its task."""
    paths = {
        task: save_safetensors(build_tiny_sapiens2(task), tmp_path / f"sapiens2_0.4b_{task}.safetensors")
        for task in outputs
    }
    pipeline = Pipeline.from_paths(paths, device="cpu")
    for task, raw in outputs.items():

        def infer(batch, task=task, raw=raw, keep_tensor=False):
            if seen is not None:
                seen[task] = batch
            return raw[None].astype(np.float32)

        monkeypatch.setattr(pipeline.models[task].backend, "infer", infer)
    return pipeline


def _seg_right_half() -> np.ndarray:
    """Seg logits: background everywhere, Apparel (10) in network columns >= 384. Stretched back to 200 columns,
    pixel 99's centre samples columns 379/380 (a 0-0 tie: background), pixel 100's samples 383.34 (3.4: Apparel)."""
    logits = np.zeros((29, 1024, 768), np.float32)
    logits[1, :, 384:] = 10.0
    return logits


# ---------------------------------------------------------------------------------------------- pointmap
def _plane_pointmap(z: float, s: float) -> np.ndarray:
    """The canonical output of a pinhole camera looking at a plane at depth ``z``: metric XYZ times s, with
    f_net = 768 / s and the principal point at the centre of the image region; garbage in the padding rows."""
    f_net = 768.0 / s
    u = np.arange(768, dtype=np.float64) + 0.5 - 768 / 2
    v = np.arange(1024, dtype=np.float64) + 0.5 - TOP - ROWS / 2
    raw = np.empty((4, 1024, 768), np.float64)
    raw[0] = s * u[None, :] * z / f_net
    raw[1] = s * v[:, None] * z / f_net
    raw[2] = s * z
    raw[:3, :TOP] = raw[:3, TOP + ROWS :] = 1e3  # must be cut off, never resized into the image
    raw[3] = s
    return raw


def test_pointmap_becomes_metric_points_depth_and_focal_length(tmp_path, monkeypatch):
    seen = {}
    pipeline = _pipeline(tmp_path, monkeypatch, {"seg": _seg_right_half(), "pointmap": _plane_pointmap(2.0, 0.5)}, seen)
    image = _image()
    (doc,) = pipeline.run([Frame(image, str(tmp_path / "plane.png"))])
    pipeline.close()
    assert np.array_equal(seen["pointmap"], normalize([resize_and_pad(image)[0]]))  # aspect kept, centred padding

    # By hand: f_net = 768 / 0.5 = 1536 px at the network input, 1536 / 3.84 = 400 px at the image. Pixel (x, y)
    # sees X = (x + 0.5 - 100) * 2 / 400, Y = (y + 0.5 - 50) * 2 / 400, Z = 2 (meters); left half: background.
    assert doc.models["pointmap"]["focal_length_px"] == pytest.approx(400.0)
    assert doc.models["pointmap"]["focal_length_input_px"] == pytest.approx(1536.0)
    assert doc.models["pointmap"]["scale"] == pytest.approx(0.5) and doc.models["pointmap"]["unit"] == "m"
    assert doc.pointmap.shape == (H, W, 3) and doc.pointmap.dtype == np.float32
    assert np.isnan(doc.pointmap[:, :100]).all() and not np.isnan(doc.pointmap[:, 100:]).any()
    ys, xs = np.mgrid[0:H, 100:W]
    np.testing.assert_allclose(doc.pointmap[:, 100:, 0], (xs + 0.5 - 100) * 2 / 400, atol=1e-5)
    np.testing.assert_allclose(doc.pointmap[:, 100:, 1], (ys + 0.5 - 50) * 2 / 400, atol=1e-5)
    np.testing.assert_allclose(doc.pointmap[:, 100:, 2], 2.0, atol=1e-6)
    # 80 pixels apart on one row, at 2 m with f = 400 px: 80 * 2 / 400 = 0.4 m
    assert np.linalg.norm(doc.pointmap[40, 190] - doc.pointmap[40, 110]) == pytest.approx(0.4, abs=1e-5)
    # The depth is the pointmap's Z, and says it is metric
    assert np.array_equal(doc.depth, doc.pointmap[..., 2], equal_nan=True)
    assert doc.models["depth"] == {
        "source": "pointmap",
        "file": "sapiens2_0.4b_pointmap.safetensors",
        "metric": True,
        "unit": "m",
    }

    # Saved beside the document as STEM_pointmap.npy, as version 3 (an older reader says "newer"), and back exactly
    doc.save(tmp_path / "out" / "plane.json")
    data = json.loads((tmp_path / "out" / "plane.json").read_text())
    assert data["layers"]["pointmap"] == "plane_pointmap.npy" and data["version"] == 3
    assert np.array_equal(np.load(tmp_path / "out" / "plane_pointmap.npy"), doc.pointmap, equal_nan=True)
    back = Annotation.load(tmp_path / "out" / "plane.json")
    assert back == doc and back.models["pointmap"]["focal_length_px"] == pytest.approx(400.0)


def test_a_pointmap_of_the_wrong_size_is_refused_on_load(tmp_path):
    doc = Annotation("a.png", (W, H), pointmap=np.zeros((H, W, 3), np.float32))
    doc.save(tmp_path / "a.json")
    np.save(tmp_path / "a_pointmap.npy", np.zeros((H, W), np.float32))
    with pytest.raises(AnnotationFormatError, match=r"pointmap must be a float32 array of shape \(H, W, 3\)"):
        Annotation.load(tmp_path / "a.json")
    with pytest.raises(ValueError, match="pointmap is 3x2"):
        Annotation("a.png", (W, H), pointmap=np.zeros((2, 3, 3), np.float32)).validate()


# ---------------------------------------------------------------------------------------------- normal
def test_sapiens2_normals_are_unpadded_not_stretched(tmp_path, monkeypatch):
    """(0, 0, 1) inside the image region, (1, 0, 0) in the padding: un-padded, every person pixel is exactly
    (0, 0, 1); v1's stretch would have blended the padding into the top and bottom rows."""
    raw = np.zeros((3, 1024, 768), np.float32)
    raw[2] = 5.0  # not unit length: normalised
    raw[:, :TOP] = raw[:, TOP + ROWS :] = np.array([1.0, 0, 0], np.float32)[:, None, None]
    seen = {}
    pipeline = _pipeline(tmp_path, monkeypatch, {"seg": _seg_right_half(), "normal": raw}, seen)
    image = _image(1)
    (doc,) = pipeline.run([Frame(image, "n.png")])
    pipeline.close()
    assert np.array_equal(seen["normal"], normalize([resize_and_pad(image)[0]]))
    assert np.isnan(doc.normal[:, :100]).all()
    assert (doc.normal[:, 100:, :2] == 0).all()  # nothing of the padding's (1, 0, 0) leaked in
    np.testing.assert_allclose(doc.normal[:, 100:, 2], 1.0, atol=2e-5)  # v1's resize divides by |n| + 1e-5


# ---------------------------------------------------------------------------------------------- pose
def test_sapiens2_pose_crops_with_cubic_when_enlarging_and_area_when_shrinking(tmp_path, monkeypatch):
    """A box smaller than the 768 x 1024 crop is warped with INTER_CUBIC (Sapiens2), not v1's bilinear; a larger one
    with INTER_AREA, which OpenCV's warpAffine runs as bilinear (the spec left that open: here it is checked)."""
    model = build_tiny_sapiens2("pose")
    with torch.no_grad():  # a peak for every point, so each decodes to a person's keypoint
        model.decode_head.conv_pose.bias.fill_(1.0)
    path = save_safetensors(model, tmp_path / "sapiens2_0.4b_pose.safetensors")
    pipeline = Pipeline.from_paths({"pose": path}, device="cpu")
    seen = []
    backend = pipeline.models["pose"].backend
    real = backend.infer
    monkeypatch.setattr(backend, "infer", lambda batch, **kw: seen.append(batch) or real(batch, **kw))
    image = np.random.default_rng(2).integers(0, 256, size=(1500, 2000, 3), dtype=np.uint8)
    small = np.array([[300, 200, 500, 600, 0.9]], np.float32)  # 250 x 500 padded: scale 767 / 375 > 1
    large = np.array([[100, 50, 1900, 1450, 0.8]], np.float32)  # 2250 wide padded: scale 767 / 2250 < 1
    docs = pipeline.run([Frame(image, "small.png", small), Frame(image, "large.png", large)])
    pipeline.close()
    crops = []
    for box in (small, large):
        center, scale = box_to_center_scale(box[0, :4])
        crops.append((crop_person_v2(image, center, scale), crop_person(image, center, scale)))
    assert np.array_equal(np.concatenate(seen), normalize([crops[0][0], crops[1][0]]))
    assert not np.array_equal(crops[0][0], crops[0][1])  # cubic, not bilinear
    assert np.array_equal(crops[1][0], crops[1][1])  # warpAffine: INTER_AREA is bilinear
    assert [len(d.persons) for d in docs] == [1, 1] and docs[0].keypoint_schema == "goliath_308"
    assert docs[0].models["pose"]["crop_interpolation"] == "area/cubic"


# ---------------------------------------------------------------------------------------------- CLI
def _constant_pointmap_file(tmp_path, z: float, s: float):
    """A tiny pointmap model that says "every pixel is on the optical axis at depth z, scale s"."""
    model = build_tiny_sapiens2("pointmap")
    head = model.decode_head
    with torch.no_grad():
        head.conv_pointmap.weight.zero_()
        head.conv_pointmap.bias.copy_(torch.tensor([0.0, 0.0, s * z]))
        last = head.scale_final_layer[-1]
        last.weight.zero_()
        last.bias.fill_(s)
    return save_safetensors(model, tmp_path / "sapiens2_0.4b_pointmap.safetensors")


def test_predict_pointmap_writes_metric_layers(tmp_path):
    image = synthetic_image(tmp_path / "in" / "person.png", 96, 128, seed=4)
    out = tmp_path / "out"
    rc = main(
        ["predict", str(image), "--pointmap", str(_constant_pointmap_file(tmp_path, 3.0, 0.25)), "--out", str(out)]
        + ["--device", "cpu", "--no-overlay"]
    )
    assert rc == 0
    doc = Annotation.load(out / "person.json")
    assert (out / "person_pointmap.npy").is_file() and (out / "person_depth.npy").is_file()
    np.testing.assert_allclose(doc.pointmap, np.broadcast_to([0, 0, 3.0], (128, 96, 3)), atol=1e-5)
    np.testing.assert_allclose(doc.depth, 3.0, atol=1e-5)
    # 96 x 128 image: r = min(768/96, 1024/128) = 8; f = 768 / 0.25 / 8 = 384 px
    assert doc.models["pointmap"]["focal_length_px"] == pytest.approx(384.0, rel=1e-5)
    assert doc.models["pointmap"]["card"] == "sapiens2-pointmap-0.4b"
    assert doc.models["pointmap"]["licence"] == "Sapiens2 License"
    assert doc.models["depth"]["metric"] is True
