"""``--split train=0.8,val=0.2 --seed N``: which part of a split each image belongs to.

Each image's part follows from a hash of (seed, image key) alone, not from its position in a list: the
same seed gives the same parts on every run and machine, an image is never in two parts, and adding
images to a project never moves the images already assigned.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

__all__ = ["Split", "parse_split"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Split:
    parts: tuple[tuple[str, float], ...]  # (name, fraction), fractions summing to 1
    seed: int = 0

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.parts]

    def part_of(self, key: str) -> str:
        digest = hashlib.sha256(f"{self.seed}\0{key}".encode()).digest()
        u = int.from_bytes(digest[:8], "big") / 2.0**64  # uniform in [0, 1)
        edge = 0.0
        for name, fraction in self.parts:
            edge += fraction
            if u < edge:
                return name
        return self.parts[-1][0]  # u within rounding of 1.0


def parse_split(text: str, seed: int = 0) -> Split:
    """``"train=0.8,val=0.2"`` -> Split; ValueError says what is wrong."""
    parts = []
    for item in text.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep or not _NAME.match(name):
            raise ValueError(f"--split: {item.strip()!r} is not NAME=FRACTION (e.g. train=0.8,val=0.2)")
        try:
            fraction = float(value)
        except ValueError:
            raise ValueError(f"--split: {value!r} is not a number") from None
        if not 0 < fraction <= 1:
            raise ValueError(f"--split: the fraction of {name} must be in (0, 1], not {value}")
        parts.append((name, fraction))
    names = [n for n, _ in parts]
    if len(set(names)) != len(names):
        raise ValueError("--split: a part is named twice")
    total = sum(f for _, f in parts)
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"--split: the fractions add up to {total:g}, not 1")
    return Split(tuple(parts), seed)
