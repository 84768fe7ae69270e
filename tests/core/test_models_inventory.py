"""The models folder's inventory by task and importing a file into it, without Qt."""

from __future__ import annotations

import pytest

from sapiens_core.errors import CheckpointError
from sapiens_core.models_dir import Inventory, import_checkpoint, remove_partial_download, task_from_name

OFFICIAL_POSE = "sapiens_1b_goliath_best_goliath_AP_639_torchscript.pt2"


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")  # discovery goes by name and never opens a file
    return path


def test_a_task_word_in_the_name_counts_only_when_it_is_the_only_one():
    assert task_from_name("my-Normals_v2.pt2") == "normal"
    assert task_from_name("body_segmentation.onnx") == "seg"
    assert task_from_name("keypoints.pt") == "pose"
    assert task_from_name("depth_and_normal.pt2") is None  # two tasks: say nothing
    assert task_from_name("posed.pt2") is None  # a whole word, not a substring
    assert task_from_name("finetuned.pt2") is None


def test_files_are_offered_for_their_task_first_then_those_of_unknown_task(tmp_path):
    official = _touch(tmp_path / "pose-1b-torchscript" / OFFICIAL_POSE)
    by_folder = _touch(tmp_path / "imported" / "pose" / "finetuned.pt2")
    inner_folder_wins = _touch(tmp_path / "seg" / "depth" / "x.pt2")
    by_name = _touch(tmp_path / "mine_pose.pt2")
    unknown = _touch(tmp_path / "finetuned.onnx")
    _touch(tmp_path / ".hidden_pose.pt2")  # a partial copy is never offered
    inventory = Inventory.scan(tmp_path)
    pose = inventory.for_task("pose")
    assert {m.path for m, known in pose if known} == {official, by_folder, by_name}
    assert [(m.path, known) for m, known in pose if not known] == [(unknown, False)]
    assert pose[-1][0].path == unknown
    assert [m.path for m, _ in inventory.for_task("depth")] == [inner_folder_wins, unknown]
    assert inventory.label(pose[0][0]) == "pose-1b-torchscript"
    assert inventory.label(next(m for m, _ in pose if m.path == by_folder)) == "imported/pose/finetuned.pt2"


def test_a_foreign_file_is_refused_and_nothing_is_copied(tmp_path):
    source = tmp_path / "notes_pose.pt2"
    source.write_bytes(b"this is not a model")
    models = tmp_path / "models"
    with pytest.raises(CheckpointError):
        import_checkpoint(source, models, "pose", lambda *a: None)
    assert not models.exists() or not any(models.rglob("*"))


def test_a_cancelled_download_leaves_an_earlier_one_in_place(tmp_path):
    card_dir = tmp_path / "pose-1b-torchscript"
    _touch(card_dir / ".incoming" / "part")
    remove_partial_download(card_dir)
    assert not card_dir.exists()
    installed = _touch(card_dir / OFFICIAL_POSE)
    _touch(card_dir / ".incoming" / "part")
    remove_partial_download(card_dir)
    assert installed.is_file() and not (card_dir / ".incoming").exists()
