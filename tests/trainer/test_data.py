"""The dataset: crops and targets agree with the labels, flips use the flip tables, samples are reproducible."""

from __future__ import annotations

import numpy as np
import torch

from sapiens_core.schema import class_schema, keypoint_schema
from sapiens_core.tasks import keypoints_to_image
from sapiens_core.tasks.udp_codec import UDPHeatmapCodec
from trainer.augment import AugmentConfig
from trainer.data import SapiensDataset, read_source
from trainer.sampler import ResumableBatchSampler

from .conftest import LABELED

GOLIATH = keypoint_schema("goliath_308")
SIZE = (96, 128)


def test_pose_targets_decode_to_the_labels(one_image_export):
    source = read_source(one_image_export, "pose", GOLIATH)
    assert len(source.samples) == 1
    data = SapiensDataset(source, "pose", SIZE, keypoints=GOLIATH, sigma=2)
    item = data[0]
    assert item["image"].shape == (3, 128, 96) and item["heatmaps"].shape == (308, 32, 24)
    assert sorted(np.flatnonzero(item["weights"].numpy())) == sorted(LABELED)
    codec = UDPHeatmapCodec(SIZE, (24, 32), 2)
    crop_xy, _ = codec.decode(item["heatmaps"][None].numpy())
    hm_xy = crop_xy[0] * (np.array([23, 31]) / np.array([95, 127]))
    image_xy = keypoints_to_image(hm_xy, item["center"].numpy(), item["scale"].numpy(), (24, 32), SIZE)
    np.testing.assert_allclose(image_xy[LABELED], source.samples[0].keypoints[LABELED], atol=0.1)


def test_flip_swaps_left_and_right_by_the_tables(one_image_export):
    pose = SapiensDataset(read_source(one_image_export, "pose", GOLIATH), "pose", SIZE, AugmentConfig.off(), GOLIATH)
    flipped = SapiensDataset(
        read_source(one_image_export, "pose", GOLIATH),
        "pose",
        SIZE,
        AugmentConfig(flip=1.0, half_body=0, shift_prob=0, scale=(1, 1), rotate=0, rotate_prob=0, photometric=False),
        GOLIATH,
    )
    a, b = pose[0], flipped[0]
    left_eye, right_eye = GOLIATH.index("left_eye"), GOLIATH.index("right_eye")
    # The right eye's map of the mirrored crop is the left eye's map of the original, mirrored.
    torch.testing.assert_close(b["heatmaps"][right_eye], a["heatmaps"][left_eye].flip(-1), atol=1e-5, rtol=0)
    seg = read_source(one_image_export, "seg", None)
    classes = class_schema("sapiens_28")
    on = SapiensDataset(seg, "seg", SIZE, AugmentConfig(flip=1.0, scale=(1, 1), rotate_prob=0, photometric=False))
    off = SapiensDataset(seg, "seg", SIZE, AugmentConfig.off())
    assert int(classes.flip_index[4]) in set(on[0]["label"].unique().tolist())
    torch.testing.assert_close(on[0]["label"], torch.from_numpy(classes.flip_index)[off[0]["label"]].flip(-1))


def test_dense_targets(one_image_export):
    depth = SapiensDataset(read_source(one_image_export, "depth", None), "depth", SIZE)[0]["depth"]
    valid = depth > -0.5
    assert depth.shape == (1, 128, 96) and depth[valid].min() == 0 and depth[valid].max() == 1
    normal = SapiensDataset(read_source(one_image_export, "normal", None), "normal", SIZE)[0]["normal"]
    good = normal[0] > -100
    torch.testing.assert_close(normal[:, good].norm(dim=0), torch.ones(int(good.sum())))


def test_augmented_samples_repeat_exactly_per_epoch_and_index(one_image_export):
    data = SapiensDataset(
        read_source(one_image_export, "pose", GOLIATH), "pose", SIZE, AugmentConfig(), GOLIATH, seed=3
    )
    a, b, c = data[(2, 0)], data[(2, 0)], data[(3, 0)]
    torch.testing.assert_close(a["image"], b["image"])
    assert not torch.equal(a["image"], c["image"])


def test_sampler_shards_and_resumes():
    full = list(ResumableBatchSampler(10, 3, seed=1))
    resumed = ResumableBatchSampler(10, 3, seed=1)
    resumed.set_position(0, 2)
    assert list(resumed) == full[2:]
    ranks = [list(ResumableBatchSampler(10, 3, seed=1, rank=r, world_size=2)) for r in range(2)]
    seen = sorted(i for batches in ranks for batch in batches for _, i in batch)
    assert seen == list(range(10)) and len(ranks[0]) == len(ranks[1]) == 2
