"""Overfitting one exported image: the loss falls by a large factor and the predictions reach the labels."""

from __future__ import annotations

import json

import numpy as np

from sapiens_core.nn import build_model, model_from_state_dict
from sapiens_core.schema import keypoint_schema
from sapiens_core.tasks import decode_pose
from trainer.checkpoint import FINAL_NAME, load_trainer_checkpoint
from trainer.data import SapiensDataset, read_source
from trainer.loop import METRICS_NAME, finetune

from .conftest import LABELED
from .helpers import tiny_config


def test_pose_overfits_one_image(one_image_export, tmp_path):
    cfg = tiny_config(one_image_export, tmp_path / "run", epochs=60, val=str(one_image_export), eval_every=60)
    summary = finetune(cfg)
    losses = summary["losses"]
    assert len(losses) == 60 and np.mean(losses[-3:]) < losses[0] / 2
    records = [json.loads(line) for line in (tmp_path / "run" / METRICS_NAME).read_text().splitlines()]
    evals = [r["eval"]["AP"] for r in records if "eval" in r]
    assert len(evals) == 2 and evals[-1] > evals[0] and evals[-1] >= 0.4  # before the first step, and at the end
    assert {"step", "loss", "lr", "images_per_s", "memory_bytes"} <= set(records[1])
    # Decode the trained model's heatmaps with the inference decoder: the points land on the labels.
    state, meta = load_trainer_checkpoint(tmp_path / "run" / FINAL_NAME)
    assert meta["step"] == 60 and meta["keypoint_names"][0] == "nose"
    goliath = keypoint_schema("goliath_308")
    data = SapiensDataset(read_source(one_image_export, "pose", goliath), "pose", (96, 128), keypoints=goliath, sigma=2)
    item = data[0]

    def median_error(model) -> float:
        heatmaps = model(item["image"][None]).detach()
        points, _ = decode_pose(heatmaps, item["center"][None].numpy(), item["scale"][None].numpy(), (96, 128))
        return float(np.median(np.linalg.norm(points[0, LABELED] - data.source.samples[0].keypoints[LABELED], axis=1)))

    trained = median_error(model_from_state_dict(state, task="pose"))
    untrained = median_error(build_model("pose", "sapiens_tiny").eval())
    # 60 steps from random weights: a few pixels in a 96x128 image, against tens before training.
    assert trained < 6.0 and trained < untrained / 4


def test_seg_overfits_one_image(one_image_export, tmp_path):
    cfg = tiny_config(
        one_image_export, tmp_path / "seg", task="seg", epochs=30, lr=5e-3, val=str(one_image_export), eval_every=30
    )
    summary = finetune(cfg)
    assert np.mean(summary["losses"][-3:]) < summary["losses"][0] / 3
    records = [json.loads(line) for line in (tmp_path / "seg" / METRICS_NAME).read_text().splitlines()]
    evals = [r["eval"]["mIoU"] for r in records if "eval" in r]
    assert evals[-1] > 0.4 and evals[-1] > evals[0]
