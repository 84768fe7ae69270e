"""CSPNeXt, architecture P5, scaled by depth and width factors (spec §1.3): the RTMDet backbone.

Outputs the strides 8, 16 and 32 (stage2, stage3, stage4). Residuals only in stages 1-3; SPP and channel
attention as the official m config builds them.
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ConvModule, CSPLayer, SPPBottleneck

# (in, out, blocks, add_identity, use_spp) per stage before scaling: mmdet's P5 table.
P5_STAGES = (
    (64, 128, 3, True, False),
    (128, 256, 6, True, False),
    (256, 512, 6, True, False),
    (512, 1024, 3, False, True),
)


class CSPNeXt(nn.Module):
    def __init__(self, deepen_factor: float = 0.67, widen_factor: float = 0.75) -> None:
        super().__init__()
        stem = int(64 * widen_factor)
        self.stem = nn.Sequential(
            ConvModule(3, stem // 2, 3, stride=2),
            ConvModule(stem // 2, stem // 2, 3),
            ConvModule(stem // 2, stem, 3),
        )
        self.out_channels: list[int] = []
        for index, (c_in, c_out, blocks, add_identity, use_spp) in enumerate(P5_STAGES, start=1):
            c_in, c_out = int(c_in * widen_factor), int(c_out * widen_factor)
            layers: list[nn.Module] = [ConvModule(c_in, c_out, 3, stride=2)]
            if use_spp:
                layers.append(SPPBottleneck(c_out))
            blocks = max(round(blocks * deepen_factor), 1)  # Python round, as mmdet
            layers.append(CSPLayer(c_out, c_out, blocks, add_identity, channel_attention=True))
            self.add_module(f"stage{index}", nn.Sequential(*layers))
            self.out_channels.append(c_out)
        self.out_channels = self.out_channels[1:]  # stage2..stage4

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.stem(x)
        x = self.stage1(x)
        c3 = self.stage2(x)
        c4 = self.stage3(c3)
        c5 = self.stage4(c4)
        return c3, c4, c5
