"""The patch-embed padding of a v1 checkpoint, from what the checkpoint's own config says.

The padding is not visible in the weights (a 16x16 stride-16 conv has the same kernel with padding 0 or 2), and it
is not one constant per task: the seg models trained on CIHP and LIP use ``patch_cfg=dict(padding=2)`` while the
Goliath seg models use 0 (``seg/configs/sapiens_seg/{cihp,lip,goliath}`` in the Sapiens repository). A ``.pth``
written by mmengine carries its training config in ``meta["cfg"]`` (the config text, or the config dict), so the
file says which it is; without a config the task's default (spec §0.1) stands, as for the official files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["patch_padding_from_meta"]

_PATCH_CFG = re.compile(r"patch_cfg\s*=\s*dict\(\s*padding\s*=\s*(\d+)")
_PATCH_CFG_DICT = re.compile(r"['\"]patch_cfg['\"]\s*:\s*\{\s*['\"]padding['\"]\s*:\s*(\d+)")


def _lookup(node: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def patch_padding_from_meta(meta: Any) -> int | None:
    """The backbone's patch padding named in a checkpoint's ``meta["cfg"]``; None when it names none."""
    cfg = _lookup(meta, "cfg")
    if isinstance(cfg, Mapping):
        value = _lookup(cfg, "model", "backbone", "patch_cfg", "padding")
        return int(value) if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 16 else None
    if isinstance(cfg, str):
        found = _PATCH_CFG.search(cfg) or _PATCH_CFG_DICT.search(cfg)
        return int(found.group(1)) if found and int(found.group(1)) <= 16 else None
    return None
