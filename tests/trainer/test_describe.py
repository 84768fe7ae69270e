"""describe / inspect: the official key layout per size and task, and checkpoint diffs."""

from __future__ import annotations

import pytest
import torch

from sapiens_core.nn import build_model, model_from_state_dict
from trainer.cli import main
from trainer.describe import meta_model

# Parameter counts of spec §5.2 (0.3b / 0.6b / 1b / 2b), built from the official configs.
SPEC_PARAMS = {
    "pose": (329_682_740, 661_180_980, 1_168_893_236, 2_166_391_220),
    "seg": (339_495_196, 670_993_436, 1_178_705_692, 2_176_203_676),
    "depth": (319_910_017, 649_835_393, 1_155_974_785, 2_151_113_473),
    "normal": (339_475_971, 670_974_211, 1_178_686_467, 2_176_184_451),
}
SIZES = ("0.3b", "0.6b", "1b", "2b")


@pytest.mark.parametrize("task", list(SPEC_PARAMS))
def test_describe_matches_spec_counts_and_keys(task, capsys):
    for size, expected in zip(SIZES, SPEC_PARAMS[task]):
        assert main(["describe", "--arch", f"sapiens_{size}", "--task", task, "--count"]) == 0
        lines = capsys.readouterr().out.splitlines()
        count = int(lines[-1].split("\t")[1])
        assert abs(count - expected) / expected < 0.01
        keys = dict(line.split("\t") for line in lines[:-1])
        head = "head." if task == "pose" else "decode_head."
        d = {"0.3b": 1024, "0.6b": 1280, "1b": 1536, "2b": 1920}[size]
        assert keys["backbone.pos_embed"] == f"1x3072x{d}"
        assert keys["backbone.layers.0.attn.qkv.weight"] == f"{3 * d}x{d}"
        assert keys["backbone.layers.0.ffn.layers.0.0.weight"] == f"{4 * d}x{d}"
        assert "backbone.ln1.weight" in keys and f"{head}deconv_layers.0.weight" in keys


def test_tiny_arch_keeps_official_keys_and_rebuilds_from_its_state_dict():
    official = set(meta_model("seg", "sapiens_0.3b").state_dict())
    tiny = build_model("seg", "sapiens_tiny")
    layer_free = {k for k in official if ".layers." not in k or k.startswith("backbone.layers.0.")}
    assert layer_free <= set(tiny.state_dict())
    assert tiny.task_head.layout.deconv_channels == (32, 32, 32)
    rebuilt = model_from_state_dict(tiny.state_dict())
    assert rebuilt.arch.name == "tiny" and rebuilt.arch.num_heads == 1
    x = torch.randn(1, 3, 64, 48)
    tiny.eval()
    torch.testing.assert_close(rebuilt(x), tiny(x))


def test_inspect_lists_diff(tmp_path, capsys):
    model = build_model("pose", "sapiens_tiny", num_outputs=17)
    path = tmp_path / "own.pth"
    torch.save({"state_dict": model.state_dict(), "meta": {}}, path)
    assert main(["inspect", str(path), "--arch", "sapiens_tiny", "--task", "pose"]) == 1
    out = capsys.readouterr().out
    assert "# wrong_shape\thead.final_layer.weight (17, 32, 1, 1) vs (308, 32, 1, 1)" in out
    assert "# fits sapiens_tiny pose\tno" in out
    assert main(["inspect", str(path), "--arch", "sapiens_tiny", "--task", "seg"]) == 1
    assert "# missing\tdecode_head.conv_seg.weight" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["describe", "inspect"])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "--arch" in capsys.readouterr().out
