"""The PyTorch model definition against spec §5: key names, shapes, parameter counts, and state-dict inference."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sapiens_core.errors import CheckpointError
from sapiens_core.nn import (
    ARCHS,
    ArchSpec,
    VitHead,
    arch_from_state_dict,
    build_model,
    inspect_state_dict,
    load_pretrained_backbone,
    model_from_state_dict,
)
from sapiens_core.nn.heads import HeadLayout
from sapiens_core.nn.vit import PatchEmbed
from sapiens_core.task_specs import TASKS
from tests.tiny_models import build_tiny_model, example_input

# Official head layouts from the spec §5.2 table: (deconv widths, conv widths, final layer name, output size).
SPEC_HEADS = {
    "pose": ((768, 768), (768, 768), "final_layer", (256, 192)),
    "seg": ((768,) * 3, (768,) * 3, "conv_seg", (512, 384)),
    "normal": ((768,) * 3, (768,) * 3, "conv_seg", (512, 384)),
    "depth": ((384,) * 4, (384,) * 2, "conv_seg", (1024, 768)),
}


def spec_shapes(task: str, dim: int, layers: int, deconv, conv, outputs: int) -> dict[str, tuple[int, ...]]:
    """Every key and shape the spec's §5.2 scheme prescribes, written out independently of the model code."""
    hidden = 4 * dim
    shapes = {
        "backbone.patch_embed.projection.weight": (dim, 3, 16, 16),
        "backbone.patch_embed.projection.bias": (dim,),
        "backbone.pos_embed": (1, 3072, dim),
        "backbone.ln1.weight": (dim,),
        "backbone.ln1.bias": (dim,),
    }
    for i in range(layers):
        p = f"backbone.layers.{i}."
        shapes.update(
            {
                p + "ln1.weight": (dim,),
                p + "ln1.bias": (dim,),
                p + "ln2.weight": (dim,),
                p + "ln2.bias": (dim,),
                p + "attn.qkv.weight": (3 * dim, dim),
                p + "attn.qkv.bias": (3 * dim,),
                p + "attn.proj.weight": (dim, dim),
                p + "attn.proj.bias": (dim,),
                p + "ffn.layers.0.0.weight": (hidden, dim),
                p + "ffn.layers.0.0.bias": (hidden,),
                p + "ffn.layers.1.weight": (dim, hidden),
                p + "ffn.layers.1.bias": (dim,),
            }
        )
    head = TASKS[task].head_prefix
    width = dim
    for i, out in enumerate(deconv):
        shapes[f"{head}deconv_layers.{3 * i}.weight"] = (width, out, 4, 4)
        width = out
    for i, out in enumerate(conv):
        shapes[f"{head}conv_layers.{3 * i}.weight"] = (out, width, 1, 1)
        shapes[f"{head}conv_layers.{3 * i}.bias"] = (out,)
        width = out
    final = SPEC_HEADS[task][2]
    shapes[f"{head}{final}.weight"] = (outputs, width, 1, 1)
    shapes[f"{head}{final}.bias"] = (outputs,)
    return shapes


def shapes_of(model: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def meta_model(task: str, arch: str = "0.3b", **kwargs):
    with torch.device("meta"):
        return build_model(task, arch, **kwargs)


def millions(module: torch.nn.Module) -> float:
    return sum(p.numel() for p in module.parameters()) / 1e6


@pytest.mark.parametrize("task", list(TASKS))
def test_full_size_03b_has_exactly_the_spec_keys_and_shapes(task):
    deconv, conv, _, _ = SPEC_HEADS[task]
    expected = spec_shapes(task, 1024, 24, deconv, conv, TASKS[task].default_channels)
    assert shapes_of(meta_model(task)) == expected


@pytest.mark.parametrize("task", list(TASKS))
def test_tiny_model_keeps_official_key_names(task):
    model = build_tiny_model(task, embed_dim=128, layers=2, heads=2, head_channels=32)
    deconv, conv, _, _ = SPEC_HEADS[task]
    expected = spec_shapes(task, 128, 2, (32,) * len(deconv), (32,) * len(conv), TASKS[task].default_channels)
    assert shapes_of(model) == expected


@pytest.mark.parametrize("task", list(TASKS))
def test_tiny_model_output_shape_matches_the_official_model(task):
    model = build_tiny_model(task, num_outputs=5, head_channels=8)
    with torch.inference_mode():
        out = model(example_input(1))
    assert tuple(out.shape) == (1, 5, *SPEC_HEADS[task][3]) == (1, 5, *TASKS[task].output_size)
    assert torch.isfinite(out).all()


def test_parameter_counts_match_the_spec_figures():
    # Spec §5.1/§5.2 [computed]: backbone 0.306/0.635/1.139/2.132 B; heads per size in millions. The spec's 2B pose
    # head figure 34.5 M is a double rounding of 34.448 M (1920*768*16 + 768*768*16 + 2*(768*768+768) + 308*769).
    assert round(millions(meta_model("pose").backbone) / 1e3, 3) == 0.306
    for arch, backbone, pose, seg, depth in [
        ("0.3b", 306, 23.4, 33.3, 13.7),
        ("0.6b", 635, 26.6, 36.4, 15.2),
        ("1b", 1139, 29.7, 39.5, 16.8),
        ("2b", 2132, 34.4, 44.3, 19.2),
    ]:
        assert round(millions(meta_model("pose", arch).backbone)) == backbone
        assert round(millions(meta_model("pose", arch).head), 1) == pose
        assert round(millions(meta_model("seg", arch).decode_head), 1) == seg
        assert round(millions(meta_model("depth", arch).decode_head), 1) == depth
    # The 1B card figure equals backbone + 308-keypoint head (spec §5.1).
    assert round(millions(meta_model("pose", "1b")) / 1e3, 4) == 1.1689


def test_arch_table():
    assert [(a.embed_dim, a.num_layers, a.num_heads, a.head_dim, a.mlp_hidden) for a in ARCHS.values()] == [
        (1024, 24, 16, 64, 4096),
        (1280, 32, 16, 80, 5120),
        (1536, 40, 24, 64, 6144),
        (1920, 48, 32, 60, 7680),
    ]
    model = meta_model("normal", "2b")
    assert model.backbone.layers[0].attn.head_dim == 60
    assert model.backbone.layers[0].attn.num_heads == 32


@pytest.mark.parametrize("padding", [0, 2])
def test_token_grid_is_64x48_for_both_paddings(padding):
    embed = PatchEmbed(4, padding)
    assert tuple(embed(torch.zeros(1, 3, 1024, 768)).shape[-2:]) == (64, 48)


def test_patch_padding_per_task():
    paddings = {task: meta_model(task).backbone.patch_embed.projection.padding for task in TASKS}
    assert paddings == {"pose": (2, 2), "seg": (0, 0), "depth": (0, 0), "normal": (2, 2)}
    assert meta_model("seg", patch_padding=2).backbone.patch_embed.projection.padding == (2, 2)


def test_pos_embed_is_resized_bicubically_for_another_grid():
    backbone = build_tiny_model("seg").backbone
    x = torch.randn(1, 3, 512, 384)
    with torch.inference_mode():
        out = backbone(x)
        # Reference: the same forward with a hand-resized table.
        grid = backbone.pos_embed.reshape(1, 64, 48, -1).permute(0, 3, 1, 2)
        resized = F.interpolate(grid, size=(32, 24), mode="bicubic", align_corners=False).flatten(2).transpose(1, 2)
        tokens = backbone.patch_embed(x).flatten(2).transpose(1, 2) + resized
        for layer in backbone.layers:
            tokens = layer(tokens)
        expected = backbone.ln1(tokens).transpose(1, 2).reshape(1, -1, 32, 24)
    assert out.shape == (1, 128, 32, 24)
    torch.testing.assert_close(out, expected)


def test_head_dropout_only_in_training():
    head = VitHead(8, 2, HeadLayout((4,), (4,)))
    x = torch.randn(1, 8, 6, 4)
    head.eval()
    torch.testing.assert_close(head(x), head(x))
    head.train()
    torch.manual_seed(0)
    assert not torch.equal(head(x), head(x))


@pytest.mark.parametrize("task", list(TASKS))
def test_model_from_state_dict_infers_everything(task):
    model = build_tiny_model(task, num_outputs=7 if task == "pose" else None)
    rebuilt = model_from_state_dict(model.state_dict())
    assert rebuilt.task == task and not rebuilt.training
    assert (rebuilt.arch.embed_dim, rebuilt.arch.num_layers, rebuilt.arch.num_heads) == (128, 2, 2)
    assert rebuilt.backbone.patch_embed.projection.padding == model.backbone.patch_embed.projection.padding
    assert rebuilt.num_outputs == model.num_outputs
    for key, value in model.state_dict().items():
        assert torch.equal(rebuilt.state_dict()[key], value), key


def test_model_from_state_dict_gives_identical_outputs():
    model = build_tiny_model("pose", num_outputs=17)
    rebuilt = model_from_state_dict(model.state_dict(), task="pose")
    x = example_input(1)
    with torch.inference_mode():
        torch.testing.assert_close(rebuilt(x), model(x), rtol=0, atol=0)


def test_seg_and_normal_share_a_layout():
    three_channel_seg = build_tiny_model("seg", num_outputs=3).state_dict()
    assert inspect_state_dict(three_channel_seg).task == "normal"
    assert set(inspect_state_dict(three_channel_seg).compatible_tasks) == {"seg", "normal"}
    assert model_from_state_dict(three_channel_seg, task="seg").task == "seg"
    with pytest.raises(CheckpointError, match="is a seg checkpoint, not depth"):
        model_from_state_dict(build_tiny_model("seg").state_dict(), task="depth", source="x.pth")


def test_foreign_or_broken_state_dicts_fail_clearly():
    state = build_tiny_model("pose").state_dict()
    with pytest.raises(CheckpointError, match="^w.pth is not a Sapiens checkpoint"):
        model_from_state_dict({"fc.weight": torch.zeros(2, 2)}, source="w.pth")
    pretrain = {k.removeprefix("backbone."): v for k, v in state.items() if k.startswith("backbone.")}
    with pytest.raises(CheckpointError, match="backbone-only"):
        model_from_state_dict(pretrain)
    with pytest.raises(CheckpointError, match="no task head"):
        model_from_state_dict({k: v for k, v in state.items() if k.startswith("backbone.")})
    wrong = dict(state, **{"backbone.layers.1.attn.proj.weight": torch.zeros(128, 64)})
    with pytest.raises(CheckpointError, match=r"wrong shape: backbone.layers.1.attn.proj.weight \(128, 64\)"):
        model_from_state_dict(wrong)
    missing = {k: v for k, v in state.items() if k != "backbone.layers.0.ln2.bias"}
    with pytest.raises(CheckpointError, match="missing: backbone.layers.0.ln2.bias"):
        model_from_state_dict(missing)
    with pytest.raises(CheckpointError, match="unexpected: backbone.extra"):
        model_from_state_dict(dict(state, **{"backbone.extra": torch.zeros(1)}))


def test_arch_is_recognised_from_shapes():
    with torch.device("meta"):
        state = build_model("depth", "1b").state_dict()
    assert arch_from_state_dict(state) is ARCHS["1b"]
    odd = {"backbone.patch_embed.projection.weight": torch.zeros(96, 3, 16, 16), "backbone.layers.0.ln1.weight": 0}
    with pytest.raises(CheckpointError, match="arch hint"):
        arch_from_state_dict(odd)
    assert arch_from_state_dict(odd, hint=ArchSpec("mine", 96, 1, 3)).num_heads == 3


def test_load_pretrained_backbone_drops_cls_and_resizes_the_grid():
    model = build_tiny_model("pose")
    donor = build_tiny_model("pose", seed=5).backbone.state_dict()
    square = torch.randn(1, 64 * 64, 128)
    mae = {k: v for k, v in donor.items() if k != "pos_embed"}
    mae.update(cls_token=torch.randn(1, 1, 128), pos_embed=torch.cat([torch.randn(1, 1, 128), square], dim=1))
    raw = {f"backbone.{k}": v for k, v in mae.items()} | {"neck.decoder_pos_embed": torch.zeros(1)}
    for checkpoint in (mae, raw):
        ignored = load_pretrained_backbone(model, checkpoint)
        assert "cls_token" in ignored
        expected = (
            F.interpolate(
                square.reshape(1, 64, 64, 128).permute(0, 3, 1, 2), size=(64, 48), mode="bicubic", align_corners=False
            )
            .flatten(2)
            .transpose(1, 2)
        )
        torch.testing.assert_close(model.backbone.pos_embed.data, expected)
        torch.testing.assert_close(model.backbone.layers[1].ffn.layers[1].weight, donor["layers.1.ffn.layers.1.weight"])
    assert "neck.decoder_pos_embed" in load_pretrained_backbone(model, raw)
