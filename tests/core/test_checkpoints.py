"""Safe loading of original .pth checkpoints: mmengine ConfigDict meta is accepted, nothing else foreign is."""

from __future__ import annotations

import datetime
import json
import os
import pickle
import sys

import numpy as np
import pytest
import torch

from sapiens_core.errors import CheckpointError, UnsafeCheckpointError
from sapiens_core.io.checkpoints import globals_in_pickle, load_checkpoint
from tests.tiny_models import build_tiny_model, save_checkpoint, write_malicious_pth, write_truncated_copy


@pytest.fixture(scope="module")
def model():
    return build_tiny_model("seg", embed_dim=64, layers=1, heads=1, head_channels=8)


@pytest.fixture(scope="module")
def official_like(model, tmp_path_factory):
    return save_checkpoint(model, tmp_path_factory.mktemp("ckpt") / "sapiens_0.3b_goliath_best.pth", "pth")


def test_plain_weights_only_load_refuses_the_official_layout(official_like):
    # The reason the allow-list exists (spec §0.10): torch alone rejects the ConfigDict in meta.
    with pytest.raises(pickle.UnpicklingError, match="Unsupported global"):
        torch.load(official_like, weights_only=True)
    with open(official_like, "rb") as handle:
        assert "mmengine.config.config.ConfigDict" in torch.serialization.get_unsafe_globals_in_checkpoint(handle)


def test_official_layout_loads_with_meta_as_plain_data(model, official_like):
    state_dict, meta = load_checkpoint(official_like)
    assert list(state_dict) == list(model.state_dict())
    for key, value in model.state_dict().items():
        assert torch.equal(state_dict[key], value), key
    assert type(meta["cfg"]) is dict and type(meta["cfg"]["data_preprocessor"]) is dict
    assert meta["cfg"]["type"] == "EncoderDecoder"
    assert meta["dataset_meta"]["classes"] == ("a", "b")
    np.testing.assert_array_equal(meta["dataset_meta"]["sigmas"], np.linspace(0, 1, 5, dtype=np.float32))
    assert meta["hook_msgs"]["best_score"] == 0.5
    assert "mmengine" not in sys.modules  # the fake class existed only while the file was written


def test_bare_state_dict_and_module_prefix(model, tmp_path):
    bare = tmp_path / "bare.pth"
    torch.save(model.state_dict(), bare)
    state_dict, meta = load_checkpoint(bare)
    assert meta == {} and list(state_dict) == list(model.state_dict())
    wrapped = tmp_path / "ddp.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}, "meta": None}, wrapped)
    state_dict, meta = load_checkpoint(wrapped)
    assert list(state_dict) == list(model.state_dict()) and meta == {}


@pytest.mark.parametrize("zipped", [True, False], ids=["torch-zip", "raw-pickle"])
def test_malicious_pickle_is_refused_before_anything_runs(tmp_path, zipped):
    marker = tmp_path / "pwned"
    evil = write_malicious_pth(tmp_path / "evil.pth", marker, zipped=zipped)
    with pytest.raises(UnsafeCheckpointError, match=r"evil\.pth.*(posix|nt)\.system") as info:
        load_checkpoint(evil)
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_globals_outside_the_allow_list_are_refused_even_if_harmless(tmp_path):
    path = tmp_path / "dated.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "meta": {"time": datetime.date(2024, 8, 1)}}, path)
    with pytest.raises(UnsafeCheckpointError, match=r"dated\.pth.*datetime\.date"):
        load_checkpoint(path)


def test_scanner_sees_protocol_4_globals():
    data = pickle.dumps({"f": os.system, "g": [os.path.join]}, protocol=4)
    assert {"posix.system", "posixpath.join"} <= globals_in_pickle(data) or {"nt.system"} <= globals_in_pickle(data)


def test_truncated_checkpoint(official_like, tmp_path):
    broken = write_truncated_copy(official_like, tmp_path / "half.pth")
    with pytest.raises(CheckpointError, match=r"^half\.pth is truncated or corrupt"):
        load_checkpoint(broken)


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"\x00" + np.random.default_rng(0).bytes(4096), "is not a PyTorch checkpoint"),
    (json.dumps({"state_dict": {}}).encode(), "is not a PyTorch checkpoint"),
    (b"\x80\x02" + np.random.default_rng(1).bytes(100), "(truncated or corrupt|cannot be unpickled safely)"),
])
def test_junk_files(tmp_path, content, message):
    path = tmp_path / "junk.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=rf"^junk\.pth .*{message}"):
        load_checkpoint(path)


def test_missing_file_and_non_state_dict(tmp_path):
    with pytest.raises(CheckpointError, match="nothing.pth does not exist"):
        load_checkpoint(tmp_path / "nothing.pth")
    path = tmp_path / "list.pth"
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match="list.pth holds no state dict"):
        load_checkpoint(path)
    path = tmp_path / "mixed.pth"
    torch.save({"state_dict": {"w": torch.zeros(1), "step": 3}}, path)
    with pytest.raises(CheckpointError, match="'step' is not a named tensor"):
        load_checkpoint(path)
