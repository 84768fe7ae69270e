"""Model cards: official names, repositories, shapes; discovery of installed files; remote file choice."""

import hashlib

import pytest
import torch

from sapiens_core.cards import CARDS, card_for_filename, cards, find_card
from sapiens_core.errors import CheckpointError, SapiensError
from sapiens_core.hub import pick_remote_file, verify_file
from sapiens_core.models_dir import MODELS_DIR_ENV, default_models_dir, discover, installed_for

# Written out from the spec, not from cards.py: output (C, H, W) per task and keypoint set for a 1024x768 input
# (pose heatmaps at 1/4, seg and normal after three stride-2 deconvs at 1/2, depth at full size), and the
# patch-embedding padding (spec §0.1: pose and normal pad by 2, seg and depth by 0).
SPEC_OUTPUT = {
    ("pose", "goliath_308"): (308, 256, 192),
    ("pose", "coco_wholebody_133"): (133, 256, 192),
    ("pose", "coco_17"): (17, 256, 192),
    ("seg", None): (28, 512, 384),
    ("depth", None): (1, 1024, 768),
    ("normal", None): (3, 512, 384),
}
SPEC_PADDING = {"pose": 2, "normal": 2, "seg": 0, "depth": 0}


def test_every_card_has_a_unique_id_and_the_spec_shape():
    ids = [c.id for c in CARDS]
    assert len(ids) == len(set(ids))
    for c in CARDS:
        assert c.output_shape == SPEC_OUTPUT[(c.task, c.keypoint_schema_name)], c.id
        assert c.output_channels == SPEC_OUTPUT[(c.task, c.keypoint_schema_name)][0], c.id
        assert c.patch_padding == SPEC_PADDING[c.task], c.id
    assert {c.task for c in CARDS} == set(SPEC_PADDING)


def test_official_names_and_repositories():
    c = find_card("pose-1b-torchscript")
    assert c.hf_repo == "facebook/sapiens-pose-1b-torchscript"
    assert c.output_shape == (308, 256, 192)
    # Both published names of the 1B pose checkpoint are recognised as the same card.
    assert card_for_filename("sapiens_1b_goliath_best_goliath_AP_639_torchscript.pt2") == c
    assert card_for_filename("sapiens_1b_goliath_best_goliath_AP_640_torchscript.pt2") == c
    bf = card_for_filename("sapiens_0.3b_goliath_best_goliath_mIoU_7673_epoch_194_bfloat16.pt2")
    assert bf.id == "seg-0.3b-bfloat16" and bf.backend_format == "exported" and bf.output_shape == (28, 512, 384)
    pth = card_for_filename("sapiens_2b_render_people_epoch_25.pth")
    assert pth.hf_repo == "facebook/sapiens-depth-2b" and pth.output_shape == (1, 1024, 768)
    coco = card_for_filename("sapiens_0.6b_coco_wholebody_best_coco_wholebody_AP_695_torchscript.pt2")
    assert coco.hf_repo == "noahcao/sapiens-pose-coco" and coco.output_channels == 133
    assert coco.repo_folder == "sapiens_lite_host/torchscript/pose/checkpoints/sapiens_0.6b"
    assert card_for_filename("my_finetune.pt2") is None
    assert len(cards(task="normal", fmt="pth")) == 4


def test_remote_file_prefers_known_names_and_falls_back_to_the_pattern():
    c = find_card("pose-1b-torchscript")
    listing = [
        "README.md",
        "sapiens_1b_goliath_best_goliath_AP_640_torchscript.pt2",
        "sapiens_1b_goliath_best_goliath_AP_639_torchscript.pt2",
    ]
    assert pick_remote_file(c, listing) == "sapiens_1b_goliath_best_goliath_AP_639_torchscript.pt2"
    assert pick_remote_file(c, ["sub/sapiens_1b_goliath_best_goliath_AP_655_torchscript.pt2"]).endswith(
        "AP_655_torchscript.pt2"
    )
    with pytest.raises(SapiensError, match="holds no file"):
        pick_remote_file(c, ["README.md"])


def test_discovery_and_default_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    assert default_models_dir() == tmp_path
    (tmp_path / "pose-0.3b-torchscript").mkdir()
    official = tmp_path / "pose-0.3b-torchscript" / "sapiens_0.3b_goliath_best_goliath_AP_573_torchscript.pt2"
    official.write_bytes(b"x")
    (tmp_path / "mine.onnx").write_bytes(b"y")
    (tmp_path / "notes.txt").write_text("z")
    found = discover()
    assert [m.label for m in found] == ["pose-0.3b-torchscript", "mine.onnx"]
    assert installed_for(find_card("pose-0.3b-torchscript")) == official
    assert installed_for(find_card("pose-0.6b-torchscript")) is None


def test_verify_detects_a_changed_file(tmp_path):
    f = tmp_path / "m.pth"
    torch.save({"state_dict": {"w": torch.arange(100, dtype=torch.float32)}}, f)
    original = f.read_bytes()
    assert "no recorded digest" in verify_file(f)
    (tmp_path / "m.pth.sha256").write_text(hashlib.sha256(original).hexdigest() + "\n")
    assert "matches" in verify_file(f)
    torch.save({"state_dict": {"w": torch.arange(99, dtype=torch.float32)}}, f)
    with pytest.raises(CheckpointError, match="differs"):
        verify_file(f)
