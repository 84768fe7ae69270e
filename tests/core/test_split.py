"""--split: parsing, stability for a seed, no image in two parts, fractions honoured."""

from __future__ import annotations

import pytest

from sapiens_core.export.split import parse_split


def test_parse_and_reject():
    split = parse_split("train=0.8,val=0.2", seed=3)
    assert split.parts == (("train", 0.8), ("val", 0.2)) and split.seed == 3
    for bad, message in [
        ("train=0.8,val=0.3", "add up to 1.1"),
        ("train", "NAME=FRACTION"),
        ("train=x,val=1", "not a number"),
        ("a=0.5,a=0.5", "named twice"),
        ("../x=1", "NAME=FRACTION"),
        ("a=0,b=1", "must be in"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_split(bad)


def test_assignment_is_stable_exclusive_and_close_to_the_fractions():
    keys = [f"folder/img_{i:05d}.jpg" for i in range(5000)]
    split = parse_split("train=0.7,val=0.2,test=0.1", seed=1)
    parts = [split.part_of(k) for k in keys]
    again = [parse_split("train=0.7,val=0.2,test=0.1", seed=1).part_of(k) for k in keys]
    assert parts == again  # a new Split object, same seed: the same parts
    counts = {name: parts.count(name) for name in split.names}
    assert sum(counts.values()) == len(keys)  # each key in exactly one part
    # Binomial standard deviation for n=5000 is at most 35: 5 sigma is 175.
    assert abs(counts["train"] - 3500) < 175 and abs(counts["val"] - 1000) < 175 and abs(counts["test"] - 500) < 175
    other_seed = [parse_split("train=0.7,val=0.2,test=0.1", seed=2).part_of(k) for k in keys]
    assert sum(a != b for a, b in zip(parts, other_seed)) > 1000  # another seed reshuffles


def test_adding_images_never_moves_assigned_ones():
    split = parse_split("train=0.5,val=0.5", seed=0)
    before = {k: split.part_of(k) for k in (f"a{i}" for i in range(100))}
    for i in range(1000):
        split.part_of(f"new{i}")
    assert {k: split.part_of(k) for k in before} == before
