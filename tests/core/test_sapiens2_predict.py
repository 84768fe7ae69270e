"""predict --seg with a Sapiens2 safetensors file, end to end: the document records the 29-class schema."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from sapiens_core.annotation import Annotation
from sapiens_core.cli import main
from sapiens_core.pipeline import Frame, Pipeline
from sapiens_core.tasks import normalize
from tests.core.test_cli_predict import synthetic_image
from tests.sapiens2_tiny import build_tiny_sapiens2, save_safetensors


def _seg_file(tmp_path, bias_class: int | None = None):
    model = build_tiny_sapiens2("seg")
    if bias_class is not None:  # a model whose every pixel says this class, to check the ids end to end
        with torch.no_grad():
            model.decode_head.conv_seg.bias[bias_class] = 1e4
    return save_safetensors(model, tmp_path / "sapiens2_0.4b_seg.safetensors")


def test_predict_seg_with_a_sapiens2_file(tmp_path):
    image = synthetic_image(tmp_path / "in" / "person.png", 96, 128, seed=3)
    out = tmp_path / "out"
    rc = main(
        ["predict", str(image), "--seg", str(_seg_file(tmp_path, bias_class=2)), "--out", str(out), "--device", "cpu"]
    )
    assert rc == 0
    doc = Annotation.load(out / "person.json")
    assert doc.class_schema == "sapiens2_29"
    assert doc.part_map.shape == (128, 96) and (doc.part_map == 2).all()  # Eyeglass, the new class at index 2
    assert doc.models["seg"]["card"] == "sapiens2-seg-0.4b" and doc.models["seg"]["licence"] == "Sapiens2 License"


def test_the_pipeline_stretches_with_area_for_sapiens2(tmp_path, monkeypatch):
    """A 2000-px-wide frame reaches a Sapiens2 seg model through the AREA resize, not v1's bilinear one."""
    seen = []
    pipeline = Pipeline.from_paths({"seg": _seg_file(tmp_path)}, device="cpu")
    backend = pipeline.models["seg"].backend
    real = backend.infer
    monkeypatch.setattr(backend, "infer", lambda batch, **kw: seen.append(batch) or real(batch, **kw))
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, size=(1000, 2000, 3), dtype=np.uint8)
    (doc,) = pipeline.run([Frame(frame, "wide.png")])
    pipeline.close()
    area = normalize(cv2.resize(frame, (768, 1024), interpolation=cv2.INTER_AREA))
    assert np.array_equal(seen[0], area) and doc.class_schema == "sapiens2_29"
