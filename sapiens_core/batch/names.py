"""One output stem per input image: documents and side files of two inputs never share a name.

The plain stem where it is unique, so ``photos/a.jpg`` still gives ``a.json``. Inputs that share a stem
(``a/x.png``, ``b/x.png``) get ``x``, ``x_2``, ``x_3``... in input order, skipping every number that is some other
input's own stem (a real ``x_2.png``), so three inputs always give three output sets. Names are compared
case-insensitively: ``X.png`` and ``x.png`` would be one file on macOS and Windows. The files of one stem
(``.json``, ``_seg.png``, ``_fg.png``, ``_depth.npy``, ``_normal.npy``, ``_pointmap.npy``, ``_alpha.png``,
``_fg_rgb.png``, ``_seg_color.png``, ``_overlay.png``) cannot collide with another stem's: no suffix ends another.

Deterministic for a given sorted input list, so every rank of a distributed run, and a resumed run over the same
inputs, computes the same names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

__all__ = ["unique_stems"]


def unique_stems(paths: Sequence[str | os.PathLike]) -> list[str]:
    """The output stem of each path, in the same order."""
    stems = [os.path.splitext(os.path.basename(os.fspath(p)))[0] for p in paths]
    taken = {s.casefold() for s in stems}  # every input's own stem is reserved for its first holder
    given: set[str] = set()
    out = []
    for stem in stems:
        key = stem.casefold()
        if key not in given:
            given.add(key)
            out.append(stem)
            continue
        n = 2
        while f"{key}_{n}" in taken or f"{key}_{n}" in given:
            n += 1
        given.add(f"{key}_{n}")
        out.append(f"{stem}_{n}")
    return out
