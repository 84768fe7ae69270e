"""Export: predict loads the result like an official model; a custom keypoint set keeps its names."""

from __future__ import annotations

import json

import numpy as np
import torch

from sapiens_core.backends import open_backend
from sapiens_core.cli import main as core_main
from sapiens_core.nn import model_from_state_dict
from trainer.checkpoint import FINAL_NAME, load_trainer_checkpoint
from trainer.cli import main
from trainer.loop import finetune

from .helpers import tiny_config

FIVE = ["nose", "left_wrist", "right_wrist", "racket_tip", "neck"]


def five_point_schema(path):
    color = [255, 0, 0]
    points = [
        {"name": n, "group": "body", "display_group": "body", "color": color, "flip": f, "sigma": 0.05}
        for n, f in zip(FIVE, [0, 2, 1, 3, 4])
    ]
    links = [{"from": 4, "to": 0, "color": color}, {"from": 1, "to": 3, "color": color}]
    path.write_text(json.dumps({"name": "racket_5", "title": "Racket 5", "keypoints": points, "skeleton": links}))
    return path


def test_custom_schema_trains_exports_and_predicts_named_points(one_image_export, tmp_path):
    schema = five_point_schema(tmp_path / "racket_5.json")
    run = tmp_path / "run"
    finetune(tiny_config(one_image_export, run, epochs=3, keypoints=str(schema)))
    state, meta = load_trainer_checkpoint(run / FINAL_NAME)
    assert state["head.final_layer.weight"].shape[0] == 5 and meta["keypoint_names"] == FIVE
    assert main(["export", str(run), "--format", "torchscript", "--out", str(tmp_path / "models")]) == 0
    model_file = next((tmp_path / "models").glob("*_torchscript.pt2"))
    card = json.loads(model_file.with_name(model_file.name + ".card.json").read_text())
    assert card["task"] == "pose" and card["arch"] == "tiny" and card["keypoint_schema"]["name"] == "racket_5"
    # The exported model gives the trainer's heatmaps (same I/O contract as an official file).
    trained = model_from_state_dict(state, task="pose")
    x = torch.randn(1, 3, 1024, 768, generator=torch.Generator().manual_seed(0))
    backend = open_backend(model_file, task="pose", device="cpu")
    np.testing.assert_allclose(backend.infer(x.numpy()), trained(x).detach().numpy(), atol=1e-5)
    backend.close()
    image = one_image_export.parent / "images" / "img0.png"
    out = tmp_path / "pred"
    assert (
        core_main(
            ["predict", str(image), "--out", str(out), "--pose", str(model_file), "--device", "cpu", "--no-overlay"]
        )
        == 0
    )
    doc = json.loads((out / "img0.json").read_text())
    assert doc["keypoint_schema"] == "racket_5"
    assert len(doc["persons"][0]["keypoints"]) == 5
    coco = json.loads((out / "coco.json").read_text())
    assert coco["categories"][0]["keypoints"] == FIVE
