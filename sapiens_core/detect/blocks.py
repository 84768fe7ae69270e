"""The building blocks of RTMDet, with the attribute names OpenMMLab gives them (spec §2.1).

Every name here ends up in a state-dict key of the official checkpoint (``....conv.weight``, ``....bn.running_mean``,
``....depthwise_conv.conv.weight``, ``....attention.fc.bias``), so renaming an attribute breaks loading. Norms are
plain BatchNorm with eps 1e-5: the config's ``SyncBN`` dict replaces the class default of 1e-3 (spec §1.3), and
inference reverts SyncBN to BatchNorm.
"""

from __future__ import annotations

import torch
from torch import nn

BN_EPS = 1e-5  # not mmyolo's 1e-3: see the module docstring


class ConvModule(nn.Module):
    """conv (no bias: a norm follows) -> bn -> SiLU; padding k // 2 as every caller in RTMDet passes."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS)
        self.activate = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activate(self.bn(self.conv(x)))


class DepthwiseSeparableConvModule(nn.Module):
    """A k x k depthwise ConvModule then a 1x1 pointwise one, each with its own norm and activation."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int) -> None:
        super().__init__()
        self.depthwise_conv = ConvModule(in_channels, in_channels, kernel, groups=in_channels)
        self.pointwise_conv = ConvModule(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise_conv(self.depthwise_conv(x))


class ChannelAttention(nn.Module):
    """Global average pool -> 1x1 conv with bias -> hard sigmoid, as a per-channel gain on the input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Conv2d(channels, channels, 1, bias=True)
        self.act = nn.Hardsigmoid(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.act(self.fc(self.global_avgpool(x)))


class CSPNeXtBlock(nn.Module):
    """3x3 conv then a 5x5 depthwise-separable conv, plus the input where the stage asks for a residual."""

    def __init__(self, channels: int, add_identity: bool) -> None:
        super().__init__()
        self.conv1 = ConvModule(channels, channels, 3)
        self.conv2 = DepthwiseSeparableConvModule(channels, channels, 5)
        self.add_identity = add_identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        return out + x if self.add_identity else out


class CSPLayer(nn.Module):
    """Two 1x1 branches of half width; the main one runs the blocks; concat [main, short] -> (attention) -> 1x1."""

    def __init__(
        self, in_channels: int, out_channels: int, num_blocks: int, add_identity: bool, channel_attention: bool
    ) -> None:
        super().__init__()
        mid = int(out_channels * 0.5)
        self.main_conv = ConvModule(in_channels, mid, 1)
        self.short_conv = ConvModule(in_channels, mid, 1)
        self.final_conv = ConvModule(2 * mid, out_channels, 1)
        self.blocks = nn.Sequential(*(CSPNeXtBlock(mid, add_identity) for _ in range(num_blocks)))
        # Registered last so the state dict lists its keys after the blocks, as the official file does.
        self.attention = ChannelAttention(2 * mid) if channel_attention else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        joined = torch.cat([self.blocks(self.main_conv(x)), self.short_conv(x)], dim=1)
        if self.attention is not None:
            joined = self.attention(joined)
        return self.final_conv(joined)


class SPPBottleneck(nn.Module):
    """Classic parallel SPP (not SPPF): three max pools of the same reduced tensor, concatenated with it."""

    def __init__(self, channels: int, kernel_sizes: tuple[int, ...] = (5, 9, 13)) -> None:
        super().__init__()
        mid = channels // 2
        self.conv1 = ConvModule(channels, mid, 1)
        self.poolings = nn.ModuleList(nn.MaxPool2d(k, stride=1, padding=k // 2) for k in kernel_sizes)
        self.conv2 = ConvModule(mid * (len(kernel_sizes) + 1), channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        return self.conv2(torch.cat([x, *(pool(x) for pool in self.poolings)], dim=1))
