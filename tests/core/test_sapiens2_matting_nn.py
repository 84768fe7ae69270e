"""The Sapiens2 matting head: the original key names (those transformers 5.23.0's conversion maps from), outputs in
[0, 1] split as premultiplied foreground and alpha, and strict loading that names every mismatch."""

from __future__ import annotations

import pytest
import torch

from sapiens_core.backends import open_backend
from sapiens_core.errors import CheckpointError
from sapiens_core.nn.sapiens2_config import table_numbers
from sapiens_core.nn.sapiens2_heads import MATTING_ALPHA_CHANNEL, MATTING_FOREGROUND_CHANNELS
from sapiens_core.nn.sapiens2_model import build_sapiens2, sapiens2_from_state_dict
from tests.sapiens2_tiny import build_tiny_sapiens2, save_safetensors

SMALL = (128, 96)  # an 8 x 6 token grid: the head runs at any size (no scale branch)


def test_the_head_has_the_original_names():
    with torch.device("meta"):
        head = build_sapiens2("matting", "1b").decode_head.state_dict()
    # transformers renames exactly these: input_conv.0, upsample_blocks.N.0, conv_layers.0/3/6 and conv_matting.
    names = {k.rsplit(".", 1)[0] for k in head}
    assert names == {
        "input_conv.0",
        *(f"upsample_blocks.{i}.0" for i in range(4)),
        "conv_layers.0",
        "conv_layers.3",
        "conv_layers.6",
        "conv_matting",
    }
    assert tuple(head["conv_matting.weight"].shape) == (4, 16, 1, 1)
    # The 1B normal widths (768, 512, 256, 128; 64, 32, 16) with a 4-channel final conv: 4 x 16 + 4 parameters
    # where normal has 3 x 16 + 3.
    assert sum(v.numel() for v in head.values()) == table_numbers("1b")["normal"] + 17


def test_matting_is_released_at_1b_only():
    with pytest.raises(ValueError, match="no released matting head"):
        build_sapiens2("matting", "0.4b")


def test_outputs_are_sigmoids_of_the_final_conv_foreground_first():
    model = build_tiny_sapiens2("matting", input_size=SMALL)
    x = torch.randn(2, 3, *SMALL)
    with torch.no_grad():
        out = model(x)
        head = model.decode_head
        logits = head.conv_matting(head.trunk(model.backbone(x)))
    assert out.shape == (2, 4, *SMALL)
    assert torch.equal(out, torch.sigmoid(logits))
    assert out.min() > 0 and out.max() < 1 and out.std() > 0
    assert out[:, MATTING_FOREGROUND_CHANNELS].shape[1] == 3 and MATTING_ALPHA_CHANNEL == 3


def test_a_matting_file_loads_strictly_and_says_its_task(tmp_path):
    model = build_tiny_sapiens2("matting", input_size=SMALL)
    loaded = sapiens2_from_state_dict(model.state_dict())
    assert loaded.task == "matting" and loaded.num_outputs == 4
    x = torch.randn(1, 3, *SMALL)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    path = save_safetensors(model, tmp_path / "sapiens2_1b_matting.safetensors")
    backend = open_backend(path, device="cpu")  # told by its keys: no task given
    assert (backend.task, backend.output_channels, backend.family) == ("matting", 4, "sapiens2")
    with pytest.raises(CheckpointError, match="is a Sapiens2 matting checkpoint, not normal"):
        open_backend(path, task="normal", device="cpu")


def test_every_mismatch_is_named():
    sd = dict(build_tiny_sapiens2("matting").state_dict())
    del sd["decode_head.conv_layers.6.bias"]
    sd["decode_head.conv_matting.bias"] = torch.zeros(3)  # a 3-channel final conv is not a matting head
    with pytest.raises(CheckpointError) as error:
        sapiens2_from_state_dict(sd, source="m.safetensors")
    message = str(error.value)
    assert message.startswith("m.safetensors does not fit a Sapiens2 custom-64x3 matting model")
    assert "1 missing: decode_head.conv_layers.6.bias" in message
    assert "1 wrong shape: decode_head.conv_matting.bias (3,) vs (4,)" in message
