"""Sapiens2 matting through the pipeline and predict: what reaches the model is the stretched image, and a matte
crafted in network pixels comes back at the image pixels worked out by hand (stretched, or padded should the
UNVERIFIED input rule flip), 8-bit, foreground premultiplied and in RGB order."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from sapiens_core.annotation import Annotation
from sapiens_core.cli import main
from sapiens_core.pipeline import Frame, Pipeline
from sapiens_core.tasks import normalize, sapiens2_matting
from sapiens_core.tasks.sapiens2 import resize_and_pad, stretch_for_seg
from sapiens_core.tasks.sapiens2_matting import matting_to_layers
from tests.core.test_cli_predict import synthetic_image
from tests.sapiens2_tiny import build_tiny_sapiens2, save_safetensors

FG = np.array([0.2, 0.4, 0.6], np.float32)  # the person's colour; premultiplied by alpha in the output


def _matte_in_network_pixels(rows: slice, cols: slice) -> np.ndarray:
    """Alpha 1 (and colour FG) on a block of the 1024 x 768 output, 0 elsewhere."""
    raw = np.zeros((4, 1024, 768), np.float32)
    raw[3, rows, cols] = 1.0
    raw[:3, rows, cols] = FG[:, None, None]
    return raw


def _expected(shape_hw, rows: slice, cols: slice) -> tuple[np.ndarray, np.ndarray]:
    alpha = np.zeros(shape_hw, np.uint8)
    alpha[rows, cols] = 255
    fg = np.zeros((*shape_hw, 3), np.uint8)
    fg[rows, cols] = [51, 102, 153]  # round(255 * (0.2, 0.4, 0.6))
    return alpha, fg


def test_a_stretched_matte_comes_back_at_the_right_pixels():
    # A 192 x 256 (W x H) image is stretched by exactly 4 on both axes: image pixel x samples network columns
    # 4x + 1 and 4x + 2 (src = 4 (x + 0.5) - 0.5), so a block on multiples of 4 maps to whole pixels, sharp.
    raw = _matte_in_network_pixels(slice(400, 800), slice(120, 360))
    matte = matting_to_layers(raw, (256, 192))
    alpha, fg = _expected((256, 192), slice(100, 200), slice(30, 90))
    assert matte.alpha.dtype == np.uint8 and np.array_equal(matte.alpha, alpha)
    assert matte.foreground.dtype == np.uint8 and np.array_equal(matte.foreground, fg)


def test_a_padded_matte_is_unpadded_before_it_is_resized(monkeypatch):
    monkeypatch.setattr(sapiens2_matting, "MATTING_INPUT", "pad")  # the one-line change, should matting be padded
    # 384 x 192 (W x H): r = min(768 / 384, 1024 / 192) = 2, resized to 768 x 384, 320 black rows above and below.
    image = np.zeros((192, 384, 3), np.uint8)
    net, padding = sapiens2_matting.matting_input(image)
    assert (padding.top, padding.bottom, padding.left, padding.right) == (320, 320, 0, 0)
    # Person in image rows 50..100, columns 10..300 = network rows 320 + 100..200, columns 20..600; the padding
    # rows say "person" too, and must be cut off rather than resized into the image.
    raw = _matte_in_network_pixels(slice(420, 520), slice(20, 600))
    raw[3, :320] = raw[3, 704:] = 1.0
    matte = matting_to_layers(raw, (192, 384), padding)
    alpha, fg = _expected((192, 384), slice(50, 100), slice(10, 300))
    assert np.array_equal(matte.alpha, alpha) and np.array_equal(matte.foreground, fg)


def test_soft_edges_keep_their_level_and_bad_outputs_are_refused():
    raw = np.full((4, 1024, 768), 0.5, np.float32)
    matte = matting_to_layers(raw, (10, 7))
    assert (matte.alpha == 128).all() and (matte.foreground == 128).all()  # round(127.5) = 128
    with pytest.raises(ValueError, match=r"\(4, H, W\)"):
        matting_to_layers(raw[:3], (10, 7))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        matting_to_layers(raw * 4, (10, 7))


def _pipeline(tmp_path, monkeypatch, raw: np.ndarray, seen: dict) -> Pipeline:
    path = save_safetensors(build_tiny_sapiens2("matting"), tmp_path / "sapiens2_1b_matting.safetensors")
    pipeline = Pipeline.from_paths({"matting": path}, device="cpu")

    def infer(batch, keep_tensor=False):
        seen["batch"] = batch
        return raw[None]

    monkeypatch.setattr(pipeline.models["matting"].backend, "infer", infer)
    return pipeline


def test_the_pipeline_stretches_the_image_and_fills_the_matte_layers(tmp_path, monkeypatch):
    seen = {}
    raw = _matte_in_network_pixels(slice(400, 800), slice(120, 360))
    pipeline = _pipeline(tmp_path, monkeypatch, raw, seen)
    image = np.random.default_rng(3).integers(0, 256, (256, 192, 3), dtype=np.uint8)
    (doc,) = pipeline.run([Frame(image, str(tmp_path / "p.png"))])
    pipeline.close()
    assert np.array_equal(seen["batch"], normalize([stretch_for_seg(image)]))
    assert not np.array_equal(seen["batch"], normalize([resize_and_pad(image)[0]]))
    alpha, fg = _expected((256, 192), slice(100, 200), slice(30, 90))
    assert np.array_equal(doc.alpha, alpha) and np.array_equal(doc.fg_rgb, fg)
    assert doc.foreground is None and doc.part_map is None  # a matte is its own layer, not a seg mask
    record = doc.models["matting"]
    assert record["input"] == "stretch" and record["card"] == "sapiens2-matting-1b"
    assert record["licence"] == "Sapiens2 License"


# ---------------------------------------------------------------------------------------------- CLI
def _constant_matting_file(tmp_path, alpha: float, rgb) -> str:
    """A tiny matting model whose every pixel is (rgb * alpha, alpha): the final conv is a constant bias."""
    model = build_tiny_sapiens2("matting")
    values = torch.tensor([*(c * alpha for c in rgb), alpha])
    with torch.no_grad():
        model.decode_head.conv_matting.weight.zero_()
        model.decode_head.conv_matting.bias.copy_(torch.logit(values))
    return str(save_safetensors(model, tmp_path / "models" / "sapiens2_1b_matting.safetensors"))


def test_predict_matting_writes_the_alpha_and_foreground_pngs(tmp_path):
    (tmp_path / "models").mkdir()
    image = synthetic_image(tmp_path / "in" / "person.png", 96, 128, seed=4)
    out = tmp_path / "out"
    checkpoint = _constant_matting_file(tmp_path, 0.8, (1.0, 0.5, 0.25))
    rc = main(["predict", str(image), "--matting", checkpoint, "--out", str(out), "--device", "cpu", "--no-overlay"])
    assert rc == 0
    alpha = np.asarray(Image.open(out / "person_alpha.png"))
    fg = Image.open(out / "person_fg_rgb.png")
    assert Image.open(out / "person_alpha.png").mode == "L" and fg.mode == "RGB"
    assert alpha.shape == (128, 96) and (alpha == 204).all()  # round(255 * 0.8)
    assert np.array_equal(np.unique(np.asarray(fg).reshape(-1, 3), axis=0), [[204, 102, 51]])  # R, G, B * 0.8
    doc = Annotation.load(out / "person.json")
    assert doc.alpha is not None and doc.models["matting"]["file"] == "sapiens2_1b_matting.safetensors"
