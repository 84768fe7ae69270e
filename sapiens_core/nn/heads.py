"""Task heads of the Sapiens models (spec §5.2): stride-2 deconvs, 1x1 convs, a final 1x1 conv.

Every stage is Conv -> InstanceNorm2d(affine=False) -> SiLU inside one ``nn.Sequential``; the norm and the
activation hold no parameters, so weight keys step by 3 (``deconv_layers.0``, ``.3``, ``.6``), as in the originals.
Widths are parameters so tests can build small heads with the official key names and output sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class HeadLayout:
    deconv_channels: tuple[int, ...]
    conv_channels: tuple[int, ...]


# Official widths per task (spec §5.2 table).
DEFAULT_LAYOUTS: dict[str, HeadLayout] = {
    "pose": HeadLayout((768, 768), (768, 768)),
    "seg": HeadLayout((768, 768, 768), (768, 768, 768)),
    "normal": HeadLayout((768, 768, 768), (768, 768, 768)),
    "depth": HeadLayout((384, 384, 384, 384), (384, 384)),
}


def _deconv_stack(in_channels: int, widths: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in widths:
        # k4 s2 p1 doubles the size exactly; no bias because InstanceNorm would cancel it.
        layers += [
            nn.ConvTranspose2d(in_channels, width, 4, stride=2, padding=1, bias=False),
            nn.InstanceNorm2d(width),
            nn.SiLU(),
        ]
        in_channels = width
    return nn.Sequential(*layers)


def _conv_stack(in_channels: int, widths: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Conv2d(in_channels, width, 1), nn.InstanceNorm2d(width), nn.SiLU()]
        in_channels = width
    return nn.Sequential(*layers)


class _UpsampleHead(nn.Module):
    def __init__(self, in_channels: int, num_outputs: int, layout: HeadLayout) -> None:
        super().__init__()
        self.layout = layout
        self.num_outputs = num_outputs
        self.deconv_layers = _deconv_stack(in_channels, layout.deconv_channels)
        last = layout.deconv_channels[-1] if layout.deconv_channels else in_channels
        self.conv_layers = _conv_stack(last, layout.conv_channels)
        self.out_in_channels = layout.conv_channels[-1] if layout.conv_channels else last

    @property
    def upsample_factor(self) -> int:
        return 2 ** len(self.layout.deconv_channels)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_layers(self.deconv_layers(x))


class HeatmapHead(_UpsampleHead):
    """Pose (mmpose HeatmapHead with SiLU + InstanceNorm): keys ``deconv_layers``, ``conv_layers``, ``final_layer``."""

    def __init__(self, in_channels: int, num_outputs: int, layout: HeadLayout = DEFAULT_LAYOUTS["pose"]) -> None:
        super().__init__(in_channels, num_outputs, layout)
        self.final_layer = nn.Conv2d(self.out_in_channels, num_outputs, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.final_layer(self.features(x))


class VitHead(_UpsampleHead):
    """Seg / normal / depth (mmseg VitHead family): keys ``deconv_layers``, ``conv_layers``, ``conv_seg``."""

    def __init__(
        self, in_channels: int, num_outputs: int, layout: HeadLayout = DEFAULT_LAYOUTS["seg"], dropout: float = 0.1
    ) -> None:
        super().__init__(in_channels, num_outputs, layout)
        # BaseDecodeHead's default dropout_ratio; inactive in eval(), so it never shows in exported graphs.
        self.dropout = nn.Dropout2d(dropout)
        self.conv_seg = nn.Conv2d(self.out_in_channels, num_outputs, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_seg(self.dropout(self.features(x)))


class VitDepthHead(VitHead):
    """Depth: the same module tree with 4 deconvs and 2 convs of width 384 (1024x768 output)."""

    def __init__(
        self,
        in_channels: int,
        num_outputs: int = 1,
        layout: HeadLayout = DEFAULT_LAYOUTS["depth"],
        dropout: float = 0.1,
    ) -> None:
        super().__init__(in_channels, num_outputs, layout, dropout)


HEAD_CLASSES: dict[str, type[_UpsampleHead]] = {
    "pose": HeatmapHead,
    "seg": VitHead,
    "normal": VitHead,
    "depth": VitDepthHead,
}
