"""RTMDet-m in plain PyTorch against the spec's numbers, and the official checkpoint layout through the safe loader.

The file is built here: random weights (and BN statistics) in the official key layout, saved as the publish script
saves it (``{"meta", "state_dict"}``, legacy non-zip format, builtins-only meta). Expected counts are the spec's.
"""

from __future__ import annotations

import pickle

import pytest
import torch

from sapiens_core.detect import build_rtmdet, load_rtmdet
from sapiens_core.detect.rtmdet import rtmdet_from_state_dict, unique_parameter_count
from sapiens_core.errors import CheckpointError
from tests.detect_models import OFFICIAL_NAME, official_meta, random_rtmdet, save_official_pth
from tests.tiny_models import write_truncated_copy

SPEC_KEYS = 692
SPEC_NUM_BATCHES_TRACKED = 112
SPEC_PARAMETERS = 24_663_447
SPEC_PARTS = {"backbone": 12_279_432, "neck": 11_049_408, "bbox_head": 1_334_607}
SPEC_KEYS_PER_PART = {"backbone": 350, "neck": 258, "bbox_head": 84}
# A few rows of the spec's module table (§3.3): stride-2 stem, SPP, depthwise, attention, neck, tied head, prediction.
SPEC_SHAPES = {
    "backbone.stem.0.conv.weight": (24, 3, 3, 3),
    "backbone.stem.2.conv.weight": (48, 24, 3, 3),
    "backbone.stage1.1.blocks.1.conv2.depthwise_conv.conv.weight": (48, 1, 5, 5),
    "backbone.stage3.1.attention.fc.weight": (384, 384, 1, 1),
    "backbone.stage3.1.attention.fc.bias": (384,),
    "backbone.stage4.1.conv2.conv.weight": (768, 1536, 1, 1),
    "backbone.stage4.2.blocks.1.conv2.pointwise_conv.bn.running_var": (384,),
    "neck.top_down_blocks.0.main_conv.conv.weight": (192, 768, 1, 1),
    "neck.bottom_up_blocks.1.final_conv.conv.weight": (768, 768, 1, 1),
    "neck.out_convs.2.conv.weight": (192, 768, 3, 3),
    "bbox_head.cls_convs.2.1.conv.weight": (192, 192, 3, 3),
    "bbox_head.reg_convs.1.0.bn.num_batches_tracked": (),
    "bbox_head.rtm_cls.2.weight": (1, 192, 1, 1),
    "bbox_head.rtm_reg.0.bias": (4,),
}


@pytest.fixture(scope="module")
def model():
    return random_rtmdet(seed=3)


@pytest.fixture(scope="module")
def official_file(model, tmp_path_factory):
    return save_official_pth(model.state_dict(), tmp_path_factory.mktemp("rtmdet") / OFFICIAL_NAME)


def test_layout_matches_the_spec(model):
    state = model.state_dict()
    assert len(state) == SPEC_KEYS
    assert sum(k.endswith("num_batches_tracked") for k in state) == SPEC_NUM_BATCHES_TRACKED
    assert unique_parameter_count(model) == SPEC_PARAMETERS
    for part, count in SPEC_PARTS.items():
        assert unique_parameter_count(getattr(model, part)) == count, part
        assert sum(k.startswith(part + ".") for k in state) == SPEC_KEYS_PER_PART[part], part
    for key, shape in SPEC_SHAPES.items():
        assert tuple(state[key].shape) == shape, key
    assert not any(
        k.startswith("bbox_head.scales") or "rtm_obj" in k or k.startswith("data_preprocessor") for k in state
    )


def test_head_convs_are_shared_across_levels_but_norms_are_not(model):
    head = model.bbox_head
    for branch in (head.cls_convs, head.reg_convs):
        for level in (1, 2):
            for i in (0, 1):
                assert branch[level][i].conv is branch[0][i].conv
                assert branch[level][i].bn is not branch[0][i].bn


def test_batchnorm_eps_is_the_syncbn_default_not_mmyolos():
    norms = [m for m in build_rtmdet().modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and {m.eps for m in norms} == {1e-5}


def test_outputs_per_level(model):
    with torch.inference_mode():
        out = model(torch.zeros(2, 3, 128, 96))
    assert [tuple(t.shape) for t in out] == [
        (2, 1, 16, 12),
        (2, 4, 16, 12),
        (2, 1, 8, 6),
        (2, 4, 8, 6),
        (2, 1, 4, 3),
        (2, 4, 4, 3),
    ]
    for reg in out[1::2]:
        assert (reg > 0).all()  # exp_on_reg: distances are exp(raw) * stride, never negative


def test_the_official_file_needs_no_allow_list(official_file):
    """The publish script keeps builtins only, so torch's own weights_only unpickler reads it as it is."""
    obj = torch.load(official_file, map_location="cpu", weights_only=True)
    assert set(obj) == {"meta", "state_dict"} and obj["meta"] == official_meta()
    assert official_file.read_bytes()[:2] == b"\x80\x02"  # legacy pickle, not a zip: loaded without mmap


def test_official_file_loads_with_every_key_matched(model, official_file):
    loaded, meta = load_rtmdet(official_file)
    assert meta["dataset_meta"]["classes"] == ("person",) and meta["epoch"] == 100
    expected, got = model.state_dict(), loaded.state_dict()
    assert list(got) == list(expected)
    assert all(torch.equal(got[k], expected[k]) for k in expected)
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        for a, b in zip(model(x), loaded(x)):
            assert torch.equal(a, b)


def test_truncated_file_is_a_clear_error(official_file, tmp_path):
    broken = write_truncated_copy(official_file, tmp_path / OFFICIAL_NAME, 0.4)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_rtmdet(broken)


def test_a_sapiens_checkpoint_is_not_a_detector(tiny_checkpoint):
    with pytest.raises(CheckpointError, match=r"not an RTMDet-m detector checkpoint \(none of its 692 keys"):
        load_rtmdet(tiny_checkpoint("pose", "pth"))


def test_mismatched_keys_are_listed(model):
    state = dict(model.state_dict())
    del state["backbone.stem.1.bn.running_var"]
    del state["neck.out_convs.0.conv.weight"]
    state["bbox_head.rtm_obj.0.weight"] = torch.zeros(1, 192, 1, 1)
    state["backbone.stem.0.conv.weight"] = torch.zeros(24, 3, 5, 5)
    with pytest.raises(CheckpointError) as error:
        rtmdet_from_state_dict(state, "odd.pth")
    message = str(error.value)
    assert "\n" not in message and message.startswith("odd.pth does not match RTMDet-m")
    assert "2 missing: backbone.stem.1.bn.running_var, neck.out_convs.0.conv.weight" in message
    assert "1 unexpected: bbox_head.rtm_obj.0.weight" in message
    assert "1 of another shape: backbone.stem.0.conv.weight [24, 3, 5, 5] != [24, 3, 3, 3]" in message


def test_unequal_shared_head_convs_are_refused(model):
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["bbox_head.reg_convs.2.1.conv.weight"] += 1
    with pytest.raises(CheckpointError, match="reg_convs.2.1.conv.weight differs from bbox_head.reg_convs.0.1"):
        rtmdet_from_state_dict(state, "odd.pth")


def test_a_coco_80_class_head_loads_with_its_class_count():
    coco = random_rtmdet(seed=1, num_classes=80)
    loaded = rtmdet_from_state_dict(coco.state_dict(), "coco.pth")
    # 79 more classes per level: a 1x1 conv over 192 channels plus a bias, at 3 levels (the spec's 24.709 M).
    assert loaded.num_classes == 80 and unique_parameter_count(loaded) == SPEC_PARAMETERS + 3 * 79 * (192 + 1)


def test_a_pickle_with_code_is_refused_before_anything_runs(tmp_path):
    marker = tmp_path / "ran"

    class Hostile:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w')",))

    path = tmp_path / OFFICIAL_NAME
    path.write_bytes(pickle.dumps({"state_dict": {}, "meta": Hostile()}, protocol=2))
    with pytest.raises(CheckpointError):
        load_rtmdet(path)
    assert not marker.exists()
