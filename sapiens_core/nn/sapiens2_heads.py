"""The Sapiens2 task heads (spec §4.1, matting §4.7) with the original module names (``decode_head.*`` in task files).

Every stage is Conv -> InstanceNorm2d(affine=False) -> SiLU in one ``nn.Sequential``; norm and activation hold no
weights, so weight keys step by 3 (``conv_layers.0``, ``.3``, ``.6``). Widths come from ``Sapiens2HeadLayout``
(the spec's table per size), so tests build small heads with the official names.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .heads import _conv_stack, _deconv_stack
from .sapiens2_config import Sapiens2HeadLayout

# The pointmap output crosses the one-tensor backend interface as 4 channels: X, Y, Z and the scale s repeated
# over the map (spec §4.5: the head gives a B x 1 scale beside the B x 3 map). Post-processing splits them again.
POINTMAP_SCALE_CHANNEL = 3
# Matting's 4 channels: premultiplied foreground RGB, then alpha. UNVERIFIED against the original repository (the
# spec's snapshot predates matting); the order is the one transformers 5.23.0 splits Sapiens2ForImageMatting's output
# in (first 3 foreground, last 1 alpha). A wrong guess is a change of these two lines.
MATTING_FOREGROUND_CHANNELS = slice(0, 3)
MATTING_ALPHA_CHANNEL = 3


def _stage(conv: nn.Module, width: int, *between: nn.Module) -> list[nn.Module]:
    return [conv, *between, nn.InstanceNorm2d(width), nn.SiLU()]


class Sapiens2PoseHead(nn.Module):
    """2 stride-2 deconvs, 1x1 convs, ``conv_pose``: (B, C, 64, 48) -> (B, K, 256, 192) heatmaps."""

    def __init__(self, in_channels: int, layout: Sapiens2HeadLayout, num_outputs: int = 308) -> None:
        super().__init__()
        self.num_outputs = num_outputs
        self.deconv_layers = _deconv_stack(in_channels, layout.upsample)
        self.conv_layers = _conv_stack(layout.upsample[-1], layout.conv)
        self.conv_pose = nn.Conv2d(layout.conv[-1], num_outputs, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_pose(self.conv_layers(self.deconv_layers(x)))


class Sapiens2SegHead(nn.Module):
    """4 stride-2 deconvs, 1x1 convs, ``conv_seg``: logits at the full input resolution. No dropout (unlike v1)."""

    def __init__(self, in_channels: int, layout: Sapiens2HeadLayout, num_outputs: int = 29) -> None:
        super().__init__()
        self.num_outputs = num_outputs
        self.deconv_layers = _deconv_stack(in_channels, layout.upsample)
        self.conv_layers = _conv_stack(layout.upsample[-1], layout.conv)
        self.conv_seg = nn.Conv2d(layout.conv[-1], num_outputs, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_seg(self.conv_layers(self.deconv_layers(x)))


def _conv3_stack(in_channels: int, widths: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in widths:
        layers += _stage(nn.Conv2d(in_channels, width, 3, padding=1), width)
        in_channels = width
    return nn.Sequential(*layers)


class _ShuffleHead(nn.Module):
    """Normal and pointmap trunk: a 3x3 input conv, pixel-shuffle upsampling blocks, 3x3 convs."""

    def __init__(self, in_channels: int, layout: Sapiens2HeadLayout) -> None:
        super().__init__()
        self.input_conv = nn.Sequential(*_stage(nn.Conv2d(in_channels, in_channels, 3, padding=1), in_channels))
        blocks, width = [], in_channels
        for out in layout.upsample:
            # The conv makes 4x the channels that PixelShuffle(2) trades for a 2x larger map.
            blocks.append(nn.Sequential(*_stage(nn.Conv2d(width, 4 * out, 3, padding=1), out, nn.PixelShuffle(2))))
            width = out
        self.upsample_blocks = nn.Sequential(*blocks)
        self.conv_layers = _conv3_stack(width, layout.conv)
        self.out_in_channels = layout.conv[-1] if layout.conv else width

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_layers(self.upsample_blocks(self.input_conv(x)))


class Sapiens2NormalHead(_ShuffleHead):
    """(B, C, 64, 48) -> (B, 3, 1024, 768) raw normals (not unit length)."""

    num_outputs = 3

    def __init__(self, in_channels: int, layout: Sapiens2HeadLayout) -> None:
        super().__init__(in_channels, layout)
        self.conv_normal = nn.Conv2d(self.out_in_channels, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_normal(self.trunk(x))


class Sapiens2MattingHead(_ShuffleHead):
    """(B, C, 64, 48) -> (B, 4, 1024, 768) in [0, 1]: premultiplied foreground RGB and alpha (see the channels above).

    The trunk is the normal head's (transformers builds both from one head class and maps the same original names),
    the final 1x1 conv is ``conv_matting``. The sigmoid has no weights: transformers applies it after the head, we
    apply it here so every backend hands post-processing values in [0, 1], as the spec documents the outputs.
    """

    num_outputs = 4

    def __init__(self, in_channels: int, layout: Sapiens2HeadLayout) -> None:
        super().__init__(in_channels, layout)
        self.conv_matting = nn.Conv2d(self.out_in_channels, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv_matting(self.trunk(x)))


class Sapiens2PointmapHead(_ShuffleHead):
    """(B, C, 64, 48) -> canonical pointmap (B, 3, 1024, 768) and scale s (B, 1), packed as 4 channels.

    The scale branch reads the backbone's feature map itself (not the trunk): three stride-2 1x1 convs shrink
    64x48 to 8x6, then an MLP on the flattened 128*8*6 = 6144 features. ``scale_in_features`` follows the grid,
    so only the official input size loads the official weights.
    """

    num_outputs = 4

    def __init__(self, in_channels: int, layout: Sapiens2HeadLayout, scale_in_features: int = 6144) -> None:
        super().__init__(in_channels, layout)
        layers: list[nn.Module] = []
        width = in_channels
        for out in layout.scale_conv:
            layers += _stage(nn.Conv2d(width, out, 1, stride=2), out)
            width = out
        self.scale_conv_layers = nn.Sequential(*layers)
        mlp: list[nn.Module] = [nn.Flatten()]
        features = scale_in_features
        for i, out in enumerate(layout.scale_mlp):
            mlp.append(nn.Linear(features, out))
            if i < len(layout.scale_mlp) - 1:
                mlp.append(nn.SiLU())
            features = out
        self.scale_final_layer = nn.Sequential(*mlp)
        self.conv_pointmap = nn.Conv2d(self.out_in_channels, 3, 1)

    def forward_pair(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.conv_pointmap(self.trunk(x)), self.scale_final_layer(self.scale_conv_layers(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        points, scale = self.forward_pair(x)
        b, _, h, w = points.shape
        return torch.cat([points, scale.to(points.dtype).view(b, 1, 1, 1).expand(b, 1, h, w)], dim=1)


def scale_grid(grid_hw: tuple[int, int], stages: int) -> tuple[int, int]:
    """The map size after ``stages`` stride-2 1x1 convs (no padding): ceil-halving per stage."""
    h, w = grid_hw
    for _ in range(stages):
        h, w = (h + 1) // 2, (w + 1) // 2
    return h, w
