"""RTMDetSepBNHead (spec §1.5, §2.3): per level, two 3x3 convs per branch then a 1x1 prediction conv.

``share_conv``: the 3x3 convs of levels 1 and 2 are the very modules of level 0, while each level keeps its own
BatchNorms and prediction convs. ``state_dict()`` still lists the shared weights once per level (12 conv keys),
which is what the official file holds; ``parameters()`` counts them once.
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ConvModule

STRIDES = (8, 16, 32)
# The m config inherits exp_on_reg=True from the l config (spec §1.2); the s and tiny configs use False.
EXP_ON_REG = True
# share_conv=True (spec §1.5). The file is expected to hold equal tensors under each level's key (UNVERIFIED
# bitwise); loading refuses unequal ones. Should the released file differ per level, False loads each level's own.
SHARE_CONV = True


class RTMDetSepBNHead(nn.Module):
    def __init__(
        self,
        num_classes: int = 1,
        channels: int = 192,
        stacked_convs: int = 2,
        strides: tuple[int, ...] = STRIDES,
        exp_on_reg: bool = EXP_ON_REG,
        share_conv: bool = SHARE_CONV,
    ) -> None:
        super().__init__()
        self.strides = tuple(strides)
        self.exp_on_reg = exp_on_reg
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        for _ in strides:
            self.cls_convs.append(nn.Sequential(*(ConvModule(channels, channels, 3) for _ in range(stacked_convs))))
            self.reg_convs.append(nn.Sequential(*(ConvModule(channels, channels, 3) for _ in range(stacked_convs))))
        self.rtm_cls = nn.ModuleList(nn.Conv2d(channels, num_classes, 1) for _ in strides)
        self.rtm_reg = nn.ModuleList(nn.Conv2d(channels, 4, 1) for _ in strides)
        self.share_conv = share_conv
        for level in range(1, len(strides) if share_conv else 1):
            for i in range(stacked_convs):
                self.cls_convs[level][i].conv = self.cls_convs[0][i].conv
                self.reg_convs[level][i].conv = self.reg_convs[0][i].conv

    def forward(self, feats: list[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per level (stride 8, 16, 32): class logits (B, C, H, W) and ltrb distances in input pixels (B, 4, H, W)."""
        out = []
        for level, (x, stride) in enumerate(zip(feats, self.strides)):
            logits = self.rtm_cls[level](self.cls_convs[level](x))
            reg = self.rtm_reg[level](self.reg_convs[level](x))
            distances = (reg.exp() if self.exp_on_reg else reg) * stride
            out.append((logits, distances))
        return out

    def shared_conv_keys(self, prefix: str = "bbox_head.") -> list[tuple[str, str]]:
        """(level-0 key, tied key) pairs: the file must hold equal tensors under both names."""
        pairs = []
        if not self.share_conv:
            return pairs
        for branch in ("cls_convs", "reg_convs"):
            for level in range(1, len(self.strides)):
                for i in range(len(self.cls_convs[0])):
                    pairs.append((f"{prefix}{branch}.0.{i}.conv.weight", f"{prefix}{branch}.{level}.{i}.conv.weight"))
        return pairs
