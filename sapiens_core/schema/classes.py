"""Segmentation class sets (names, palette, flip swaps, training weights) loaded from package data."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class ClassSchema:
    """One label set. Class 0 is the background in every Sapiens set."""

    name: str
    title: str
    names: tuple[str, ...]
    colors: np.ndarray  # (C, 3) uint8 RGB
    flip_index: np.ndarray  # (C,) int: class id after a horizontal flip (Left_* <-> Right_*)
    class_weights: np.ndarray  # (C,) float: per-class cross-entropy weights of the official recipe
    background: int = 0
    # Another set's name -> (C,) class id there for each class here, where the spec gives one (Sapiens2 -> v1).
    maps_to: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"{self.name} has no class named {name!r}") from None

    def palette(self) -> np.ndarray:
        """(256, 3) uint8 lookup table: class id -> RGB; ids beyond the set (e.g. 255 = ignore) are black."""
        lut = np.zeros((256, 3), dtype=np.uint8)
        lut[: len(self.names)] = self.colors
        return lut

    def colorize(self, class_map: np.ndarray) -> np.ndarray:
        """(H, W) class ids -> (H, W, 3) uint8 RGB image."""
        return self.palette()[np.asarray(class_map, dtype=np.uint8)]

    @classmethod
    def from_dict(cls, data: dict) -> ClassSchema:
        items = data["classes"]
        schema = cls(
            name=data["name"],
            title=data["title"],
            names=tuple(c["name"] for c in items),
            colors=np.array([c["color"] for c in items], dtype=np.uint8).reshape(-1, 3),
            flip_index=np.array([c["flip"] for c in items], dtype=np.int64),
            class_weights=np.array([c["weight"] for c in items], dtype=np.float64),
            maps_to={other: tuple(int(i) for i in ids) for other, ids in data.get("maps_to", {}).items()},
        )
        n = len(schema.names)
        if n > 255 or np.any(schema.flip_index[schema.flip_index] != np.arange(n)):
            raise ValueError(f"{schema.name}: flip table is not an involution over 0..{n - 1}")
        return schema
