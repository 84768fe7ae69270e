"""New points: a plain COCO file in a custom schema labels points Goliath lacks (a racket tip) and trains them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from sapiens_core.errors import SapiensError
from sapiens_core.tasks import keypoints_to_image
from sapiens_core.tasks.udp_codec import UDPHeatmapCodec
from trainer.checkpoint import FINAL_NAME, load_trainer_checkpoint
from trainer.data import SapiensDataset, read_source
from trainer.loop import finetune
from trainer.schemas import load_training_schema

from .helpers import tiny_config

THREE = ["left_wrist", "right_wrist", "racket_tip"]  # racket_tip is not a Goliath point
SIZE = (96, 128)
# Per image: the person's box (x, y, w, h) and the three points (x, y) in image pixels.
LABELS = [
    ((20.0, 16.0, 72.0, 120.0), [(40.0, 70.0), (70.0, 72.0), (83.5, 30.25)]),
    ((10.0, 30.0, 90.0, 110.0), [(30.0, 90.0), (75.0, 95.0), (22.0, 44.5)]),
]


def three_point_schema(path):
    color = [255, 0, 0]
    points = [
        {"name": n, "group": "body", "display_group": "body", "color": color, "flip": f, "sigma": 0.05}
        for n, f in zip(THREE, [1, 0, 2])
    ]
    links = [{"from": 1, "to": 2, "color": color}]
    path.write_text(json.dumps({"name": "racket_3", "title": "Racket 3", "keypoints": points, "skeleton": links}))
    return path


def coco_file(folder, names=THREE):
    """A hand-written COCO keypoints file whose category lists ``names``, with two small noise images."""
    rng = np.random.default_rng(0)
    images, annotations = [], []
    for i, (box, points) in enumerate(LABELS):
        name = f"img{i}.png"
        Image.fromarray(rng.integers(0, 256, (160, 120, 3), dtype=np.uint8)).save(folder / name)
        images.append({"id": i + 1, "file_name": name, "width": 120, "height": 160})
        flat = [v for x, y in points for v in (x, y, 2)]
        annotations.append(
            {"id": i + 1, "image_id": i + 1, "category_id": 1, "keypoints": flat, "num_keypoints": 3, "bbox": box}
        )
    category = {"id": 1, "name": "person", "keypoints": names, "skeleton": [[2, 3]]}
    path = folder / "racket.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": [category]}))
    return path


def test_new_point_gets_labels_and_trains(tmp_path):
    schema_file = three_point_schema(tmp_path / "racket_3.json")
    schema = load_training_schema(str(schema_file))
    data = coco_file(tmp_path)
    source = read_source(data, "pose", schema)
    assert len(source.samples) == 2
    dataset = SapiensDataset(source, "pose", SIZE, keypoints=schema, sigma=2)
    codec = UDPHeatmapCodec(SIZE, (24, 32), 2)
    for index, (_, points) in enumerate(LABELS):
        item = dataset[index]
        assert item["heatmaps"].shape == (3, 32, 24)
        assert (item["weights"].numpy() > 0).all()  # racket_tip (row 2) is labeled, not weight 0
        # The heatmap peak of every point, racket_tip included, maps back to where it was labeled.
        crop_xy, _ = codec.decode(item["heatmaps"][None].numpy())
        hm_xy = crop_xy[0] * (np.array([23, 31]) / np.array([95, 127]))
        image_xy = keypoints_to_image(hm_xy, item["center"].numpy(), item["scale"].numpy(), (24, 32), SIZE)
        np.testing.assert_allclose(image_xy, np.array(points), atol=0.5)
    run = tmp_path / "run"
    finetune(tiny_config(data, run, epochs=2, keypoints=str(schema_file)))
    state, meta = load_trainer_checkpoint(run / FINAL_NAME)
    assert state["head.final_layer.weight"].shape[0] == 3 and meta["keypoint_names"] == THREE


def test_file_with_other_names_is_refused(tmp_path):
    schema = load_training_schema(str(three_point_schema(tmp_path / "racket_3.json")))
    data = coco_file(tmp_path, ["left_wrist", "right_wrist", "tool_handle"])
    with pytest.raises(SapiensError, match=r"racket\.json: .*expected the 3 racket_3 names .*racket_tip") as error:
        read_source(data, "pose", schema)
    assert "\n" not in str(error.value)
