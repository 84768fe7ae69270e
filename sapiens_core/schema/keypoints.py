"""Keypoint sets (names, colours, flip partners, OKS sigmas, skeleton) loaded from package data."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

DISPLAY_GROUPS = ("body", "feet", "hands", "face")


@dataclass(frozen=True, eq=False)
class KeypointSchema:
    """One keypoint layout. Indices are 0-based in the model's output channel order."""

    name: str
    title: str
    names: tuple[str, ...]
    groups: tuple[str, ...]  # fine group from the spec table (e.g. "eyebrow", "left_hand")
    display_groups: tuple[str, ...]  # one of DISPLAY_GROUPS per point
    colors: np.ndarray  # (K, 3) uint8 RGB
    flip_index: np.ndarray  # (K,) int: channel of the mirrored point
    sigmas: np.ndarray  # (K,) float OKS sigmas
    halves: tuple[str, ...]  # "upper" | "lower" | "-" (for half-body augmentation)
    skeleton: np.ndarray  # (L, 2) int, 0-based point indices
    skeleton_colors: np.ndarray  # (L, 3) uint8 RGB

    def __len__(self) -> int:
        return len(self.names)

    @property
    def num_keypoints(self) -> int:
        return len(self.names)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.names)}

    def index(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"{self.name} has no keypoint named {name!r}") from None

    def group_mask(self, *display_groups: str) -> np.ndarray:
        """Boolean (K,) mask of the points in any of the given display groups."""
        unknown = set(display_groups) - set(DISPLAY_GROUPS)
        if unknown:
            raise ValueError(f"unknown display group(s) {sorted(unknown)}; expected {DISPLAY_GROUPS}")
        return np.isin(np.asarray(self.display_groups), display_groups)

    def coco_skeleton(self) -> list[list[int]]:
        """Skeleton as COCO writes it: 1-based index pairs."""
        return (self.skeleton + 1).tolist()

    @classmethod
    def from_dict(cls, data: dict) -> KeypointSchema:
        pts = data["keypoints"]
        links = data["skeleton"]
        schema = cls(
            name=data["name"],
            title=data["title"],
            names=tuple(p["name"] for p in pts),
            groups=tuple(p["group"] for p in pts),
            display_groups=tuple(p["display_group"] for p in pts),
            colors=np.array([p["color"] for p in pts], dtype=np.uint8).reshape(-1, 3),
            flip_index=np.array([p["flip"] for p in pts], dtype=np.int64),
            sigmas=np.array([p["sigma"] for p in pts], dtype=np.float64),
            halves=tuple(p.get("half", "-") for p in pts),
            skeleton=np.array([[link["from"], link["to"]] for link in links], dtype=np.int64).reshape(-1, 2),
            skeleton_colors=np.array([link["color"] for link in links], dtype=np.uint8).reshape(-1, 3),
        )
        schema.validate()
        return schema

    def to_dict(self) -> dict:
        """The JSON form ``from_dict`` reads: a trained model's card carries its schema this way."""
        points = [
            {
                "name": n,
                "group": g,
                "display_group": d,
                "color": c.tolist(),
                "flip": int(f),
                "sigma": float(s),
                "half": h,
            }
            for n, g, d, c, f, s, h in zip(
                self.names, self.groups, self.display_groups, self.colors, self.flip_index, self.sigmas, self.halves
            )
        ]
        links = [
            {"from": int(a), "to": int(b), "color": c.tolist()}
            for (a, b), c in zip(self.skeleton, self.skeleton_colors)
        ]
        return {"name": self.name, "title": self.title, "keypoints": points, "skeleton": links}

    def validate(self) -> None:
        k = len(self.names)
        if len(set(self.names)) != k:
            raise ValueError(f"{self.name}: duplicate keypoint names")
        if sorted(self.flip_index.tolist()) != list(range(k)) or np.any(
            self.flip_index[self.flip_index] != np.arange(k)
        ):
            raise ValueError(f"{self.name}: flip table is not an involution over 0..{k - 1}")
        if self.skeleton.size and (self.skeleton.min() < 0 or self.skeleton.max() >= k):
            raise ValueError(f"{self.name}: skeleton refers to a point outside 0..{k - 1}")
        if not set(self.display_groups) <= set(DISPLAY_GROUPS):
            raise ValueError(f"{self.name}: unknown display groups {set(self.display_groups) - set(DISPLAY_GROUPS)}")
