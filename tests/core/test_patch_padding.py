"""The patch padding of a ``.pth`` comes from the file's own training config: the CIHP and LIP seg configs use
``patch_cfg=dict(padding=2)``, the Goliath seg configs none (0), and the weights cannot tell them apart."""

from __future__ import annotations

import torch

from sapiens_core.backends import open_backend
from sapiens_core.nn import ArchSpec, build_model
from sapiens_core.nn.patch_padding import patch_padding_from_meta
from tests.tiny_models import example_input

CIHP_CFG = """model = dict(
    type='EncoderDecoder',
    backbone=dict(
        type='mmpretrain.VisionTransformer',
        arch=model_name,
        out_type='featmap',
        patch_cfg=dict(padding=2),
    ),
)"""


def test_padding_is_read_from_config_text_and_dicts():
    assert patch_padding_from_meta({"cfg": CIHP_CFG}) == 2
    assert patch_padding_from_meta({"cfg": "model = dict(backbone=dict(patch_cfg = dict( padding = 0 )))"}) == 0
    assert patch_padding_from_meta({"cfg": {"model": {"backbone": {"patch_cfg": {"padding": 2}}}}}) == 2
    assert patch_padding_from_meta({"cfg": "model = dict(backbone=dict(arch='sapiens_0.3b'))"}) is None  # Goliath
    assert patch_padding_from_meta({}) is None and patch_padding_from_meta(None) is None


def test_a_cihp_seg_pth_runs_with_its_padding(tmp_path):
    torch.manual_seed(0)
    arch = ArchSpec("tiny-64x1", 64, 1, 1)  # the head count the loader infers from the width (64-dim heads)
    model = build_model("seg", arch, num_outputs=20, head_channels=8, patch_padding=2).eval()
    path = tmp_path / "sapiens_0.3b_cihp_best.pth"
    torch.save({"state_dict": model.state_dict(), "meta": {"cfg": CIHP_CFG}}, path)
    backend = open_backend(path, task="seg", device="cpu")
    assert backend.model.backbone.patch_embed.projection.padding == (2, 2)
    x = example_input(1)
    with torch.no_grad():
        expected = model(x).numpy()
    assert abs(backend.infer(x.numpy()) - expected).max() < 1e-4
    # Without the config the task default (0 for seg) is all there is: the same weights give another result.
    torch.save({"state_dict": model.state_dict(), "meta": {}}, tmp_path / "bare.pth")
    bare = open_backend(tmp_path / "bare.pth", task="seg", device="cpu")
    assert bare.model.backbone.patch_embed.projection.padding == (0, 0)
    assert abs(bare.infer(x.numpy()) - expected).mean() > 1e-2
