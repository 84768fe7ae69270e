"""Class maps converted between class sets, e.g. Sapiens2's 29 body parts and v1's 28 for mixed projects.

Down (29 -> 28) follows the spec's table, shipped in the Sapiens2 schema's ``maps_to``: every v1 class keeps its
name and its index moves back by one; Eyeglass, which v1 lacks, becomes Face_Neck, because v1's training set
eyeglass pixels to "ignore" (it never learned them) and Sapiens2's own 52 -> 28 table folds the eyeglass frame and
lenses into Face_Neck (Sapiens2 spec §4.3). Up (28 -> 29) is the inverse on names, exact for every v1 class. So
28 -> 29 -> 28 is the identity, and 29 -> 28 -> 29 loses only Eyeglass (it comes back as Face_Neck).
Ids the source set does not have (255 = ignore in training labels) become 255.
"""

from __future__ import annotations

import numpy as np

from . import class_schema

IGNORE = 255


def class_lookup(source: str, target: str) -> np.ndarray:
    """(256,) uint8 table: class id in ``source`` -> class id in ``target``."""
    src, dst = class_schema(source), class_schema(target)
    if source == target:
        return np.arange(256, dtype=np.uint8)
    lut = np.full(256, IGNORE, dtype=np.uint8)
    if target in src.maps_to:
        ids = src.maps_to[target]
    elif source in dst.maps_to or set(src.names) <= set(dst.names):
        # The inverse of a down-mapping, or a subset by name: every source class exists in the target.
        missing = [n for n in src.names if n not in dst.names]
        if missing:
            raise KeyError(f"{target} has no class for {', '.join(missing)} of {source}")
        ids = [dst.index(name) for name in src.names]
    else:
        raise KeyError(f"no mapping from class set {source} to {target}")
    lut[: len(ids)] = ids
    return lut


def convert_class_map(class_map: np.ndarray, source: str, target: str) -> np.ndarray:
    """(H, W) uint8 class ids of ``source`` -> the same pixels as ids of ``target``."""
    class_map = np.asarray(class_map)
    if class_map.dtype != np.uint8:
        raise ValueError(f"class maps are uint8, got {class_map.dtype}")
    return class_lookup(source, target)[class_map]
