"""ONNX person detectors: our RTMDet exported and run by ONNX Runtime gives PyTorch's outputs, and the decoded
layouts other exporters write (mmdeploy's ``dets``/``labels``, YOLOX's raw grid) give the boxes they encode.
"""

from __future__ import annotations

import numpy as np
import pytest

from sapiens_core.detect import OnnxDetector, RTMDetDetector, export_rtmdet_onnx, open_detector
from sapiens_core.detect.decode import decode_levels
from sapiens_core.errors import CheckpointError
from tests.detect_models import dets_onnx, random_rtmdet, yolox_onnx


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = random_rtmdet(seed=5)
    path = export_rtmdet_onnx(model, tmp_path_factory.mktemp("onnx") / "rtmdet_m.onnx")
    return RTMDetDetector(model), OnnxDetector(path, device="cpu")


def _photo(height=480, width=720, seed=0):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    image[100:400, 150:300] = (220, 180, 150)
    return image


def test_onnx_runtime_equals_pytorch_on_the_raw_maps_and_the_boxes(exported):
    torch_detector, onnx_detector = exported
    image = _photo()
    boxed, levels = torch_detector.raw(image)
    session_maps = onnx_detector._session.run(None, {"input": boxed.tensor[None]})
    assert onnx_detector._outputs == ["cls_8", "reg_8", "cls_16", "reg_16", "cls_32", "reg_32"]
    for mine, theirs in zip([m for level in levels for m in level], session_maps):
        np.testing.assert_allclose(theirs[0], mine, rtol=1e-4, atol=1e-4)
    # the decoded candidates, before the NMS whose order could flip on a 1e-6 score tie
    ours = decode_levels(levels, (8, 16, 32), (640, 640), boxed.scale)
    theirs = decode_levels(list(zip(*[iter(m[0] for m in session_maps)] * 2)), (8, 16, 32), (640, 640), boxed.scale)
    np.testing.assert_allclose(np.sort(theirs.scores), np.sort(ours.scores), atol=1e-5)
    top_torch, top_onnx = torch_detector.detect(image), onnx_detector.detect(image)
    assert onnx_detector.layout == "rtmdet-maps"
    np.testing.assert_allclose(top_onnx[0], top_torch[0], rtol=1e-4, atol=1e-2)


def test_decoded_dets_layout(tmp_path):
    # network-input pixels; the image is 1280 x 960, letterboxed at ratio 0.5 -> boxes double
    dets = [[10, 20, 110, 220, 0.9], [300, 20, 400, 220, 0.8], [500, 20, 600, 220, 0.95], [0, 0, 5, 5, 0.2]]
    path = dets_onnx(tmp_path / "end2end.onnx", dets, labels=[0, 0, 2, 0])
    detector = open_detector(path, device="cpu")
    boxes = detector.detect(np.zeros((960, 1280, 3), np.uint8))
    assert detector.layout == "dets" and detector.normalize
    # label 2 is not a person, 0.2 is below the score threshold
    np.testing.assert_allclose(boxes, [[20, 40, 220, 440, 0.9], [600, 40, 800, 440, 0.8]])
    # without labels every box is a person
    unlabeled = OnnxDetector(dets_onnx(tmp_path / "nolabels.onnx", dets[:3]), device="cpu")
    assert len(unlabeled.detect(np.zeros((640, 640, 3), np.uint8))) == 3


def test_yolox_grid_layout(tmp_path):
    rows = np.zeros((8400, 6), np.float32)  # 80x80 + 40x40 + 20x20 grid points, objectness 0
    # stride 16 level starts at row 6400; its point (col 5, row 2) is row 6400 + 2 * 40 + 5
    rows[6400 + 85] = (0.5, 0.25, np.log(4.0), np.log(8.0), 0.9, 0.8)
    path = yolox_onnx(tmp_path / "yolox.onnx", rows)
    detector = OnnxDetector(path, device="cpu")
    boxes = detector.detect(np.zeros((640, 640, 3), np.uint8))
    # centre ((5 + 0.5) * 16, (2 + 0.25) * 16) = (88, 36); size (4 * 16, 8 * 16) = (64, 128); score 0.9 * 0.8
    np.testing.assert_allclose(boxes, [[56, 0, 120, 100, 0.72]], rtol=1e-6)
    assert detector.layout == "yolox-grid" and not detector.normalize  # YOLOX models take raw pixels


def test_unknown_layout_and_non_models_are_clear_errors(tmp_path):
    path = yolox_onnx(tmp_path / "odd.onnx", np.zeros((17, 7), np.float32))
    with pytest.raises(CheckpointError, match="none of the detector layouts"):
        OnnxDetector(path, device="cpu").detect(np.zeros((64, 64, 3), np.uint8))
    text = tmp_path / "notes.onnx"
    text.write_text("not a model")
    with pytest.raises(CheckpointError):
        open_detector(text)
