"""Sapiens2 model cards: every repository of the spec's table, its file name, licence, schemas and sizes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sapiens_core.cards import card_for_filename, card_for_path, find_card
from sapiens_core.models_dir import discover
from sapiens_core.sapiens2_cards import SAPIENS2_CARDS

SPEC = Path(__file__).resolve().parents[1] / "data" / "spec" / "sapiens2"


def test_one_card_per_repository_of_the_spec():
    # Spec §2.1: pose/seg/normal/pointmap at 0.4b, 0.8b, 1b, 5b, and matting at 1b only.
    expected = {
        f"facebook/sapiens2-{t}-{s}"
        for t in ("pose", "seg", "normal", "pointmap")
        for s in ("0.4b", "0.8b", "1b", "5b")
    }
    expected.add("facebook/sapiens2-matting-1b")
    assert {c.hf_repo for c in SAPIENS2_CARDS} == expected and len(SAPIENS2_CARDS) == 17


def test_file_names_follow_the_model_zoo():
    assert find_card("sapiens2-pose-0.4b").filenames == ("sapiens2_0.4b_pose.safetensors",)
    assert find_card("sapiens2-matting-1b").filenames == ("sapiens2_1b_matting.safetensors",)
    card = card_for_filename("sapiens2_5b_pointmap.safetensors")
    assert (card.task, card.size, card.family, card.backend_format) == ("pointmap", "5b", "sapiens2", "safetensors")
    assert card_for_filename("sapiens2_0.4b_pose.pth") is None  # v2 is only released as safetensors


def test_licence_and_schemas_are_on_the_card():
    for card in SAPIENS2_CARDS:
        assert card.licence == "Sapiens2 License" and card.describe()["licence"] == "Sapiens2 License"
    assert find_card("sapiens2-seg-1b").class_schema_name == "sapiens2_29"
    assert find_card("sapiens2-pose-1b").keypoint_schema_name == "goliath_308"
    assert find_card("sapiens2-seg-1b").output_shape == (29, 1024, 768)
    assert find_card("sapiens2-pose-0.8b").output_shape == (308, 256, 192)


def test_download_estimates_match_the_spec():
    # Spec §2.2's estimates in fp32: 0.4B + pose 1.7 GB, 1B + pose 6.1 GB, 5B + pose 20.5 GB.
    assert find_card("sapiens2-pose-0.4b").approx_bytes == pytest.approx(1.7e9, rel=0.02)
    assert find_card("sapiens2-pose-1b").approx_bytes == pytest.approx(6.1e9, rel=0.02)
    assert find_card("sapiens2-pose-5b").approx_bytes == pytest.approx(20.5e9, rel=0.02)


def test_the_packaged_table_drives_the_sizes():
    with (SPEC / "sapiens2_models.tsv").open() as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    sizes = {r["arch"].removeprefix("sapiens2_") for r in rows if r["pose_head_params"] != "-"}
    assert {c.size for c in SAPIENS2_CARDS if c.task == "seg"} == sizes


def test_installed_sapiens2_files_are_discovered(tmp_path):
    folder = tmp_path / "sapiens2-seg-0.4b"
    folder.mkdir()
    (folder / "sapiens2_0.4b_seg.safetensors").write_bytes(b"x")
    found = discover(tmp_path)
    assert [m.card.id for m in found] == ["sapiens2-seg-0.4b"]
    assert card_for_path(folder / "sapiens2_0.4b_seg.safetensors").class_schema_name == "sapiens2_29"
