"""CSPNeXtPAFPN (spec §1.4, §2.2): top-down then bottom-up fusion of C3..C5 into three 192-channel maps.

The bottom-up path concatenates the *reduced* top-down tensors (R4, R5), not the blocks' outputs nor the inputs;
concatenation is always [resampled path, lateral]. Neck CSP layers have no residual and no channel attention.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import ConvModule, CSPLayer


class CSPNeXtPAFPN(nn.Module):
    def __init__(self, in_channels: tuple[int, int, int] = (192, 384, 768), out_channels: int = 192) -> None:
        super().__init__()
        c3, c4, c5 = in_channels
        blocks = 2  # given directly by the config, not scaled by the depth factor

        def csp(c_in: int, c_out: int) -> CSPLayer:
            return CSPLayer(c_in, c_out, blocks, add_identity=False, channel_attention=False)

        self.reduce_layers = nn.ModuleList([ConvModule(c5, c4, 1), ConvModule(c4, c3, 1)])
        self.top_down_blocks = nn.ModuleList([csp(2 * c4, c4), csp(2 * c3, c3)])
        self.downsamples = nn.ModuleList([ConvModule(c3, c3, 3, stride=2), ConvModule(c4, c4, 3, stride=2)])
        self.bottom_up_blocks = nn.ModuleList([csp(2 * c3, c4), csp(2 * c4, c5)])
        self.out_convs = nn.ModuleList([ConvModule(c, out_channels, 3) for c in in_channels])

    def forward(self, feats: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> list[torch.Tensor]:
        c3, c4, c5 = feats
        r5 = self.reduce_layers[0](c5)
        t4 = self.top_down_blocks[0](torch.cat([F.interpolate(r5, scale_factor=2.0, mode="nearest"), c4], 1))
        r4 = self.reduce_layers[1](t4)
        n3 = self.top_down_blocks[1](torch.cat([F.interpolate(r4, scale_factor=2.0, mode="nearest"), c3], 1))
        n4 = self.bottom_up_blocks[0](torch.cat([self.downsamples[0](n3), r4], 1))
        n5 = self.bottom_up_blocks[1](torch.cat([self.downsamples[1](n4), r5], 1))
        return [conv(x) for conv, x in zip(self.out_convs, (n3, n4, n5))]
