"""Keypoint and class schemas, loaded from the data files shipped in this package.

A schema belongs to a model card (``ModelCard.schema``), never to the program as a global, so a new
model family with another layout (e.g. Sapiens2's 29 classes) is one more data file.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from .classes import ClassSchema
from .keypoints import DISPLAY_GROUPS, KeypointSchema

__all__ = [
    "ClassSchema",
    "KeypointSchema",
    "DISPLAY_GROUPS",
    "keypoint_schema",
    "class_schema",
    "keypoint_schema_names",
    "class_schema_names",
    "keypoint_schema_for_count",
    "register_keypoint_schema",
]


def _data_names(prefix: str) -> list[str]:
    files = resources.files(__package__) / "data"
    return sorted(
        p.name[len(prefix) : -5] for p in files.iterdir() if p.name.startswith(prefix) and p.name.endswith(".json")
    )


def _load(filename: str) -> dict:
    path = resources.files(__package__) / "data" / filename
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyError(f"no schema data file {filename}") from None


def keypoint_schema_names() -> list[str]:
    return _data_names("keypoints_")


def class_schema_names() -> list[str]:
    return _data_names("classes_")


# Keypoint sets of finetuned models, registered when their model card is read (cards.card_for_path).
_TRAINED: dict[str, KeypointSchema] = {}


def register_keypoint_schema(schema: KeypointSchema) -> KeypointSchema:
    """Make a trained model's own keypoint set known by name; a shipped name must keep its shipped points."""
    if schema.name in keypoint_schema_names():
        if keypoint_schema(schema.name).names != schema.names:
            raise ValueError(f"keypoint set {schema.name!r} differs from the shipped set of that name")
        return keypoint_schema(schema.name)
    _TRAINED[schema.name] = schema
    return schema


def keypoint_schema(name: str) -> KeypointSchema:
    if name in _TRAINED:
        return _TRAINED[name]
    return _shipped_keypoint_schema(name)


@cache
def _shipped_keypoint_schema(name: str) -> KeypointSchema:
    return KeypointSchema.from_dict(_load(f"keypoints_{name}.json"))


@cache
def class_schema(name: str) -> ClassSchema:
    return ClassSchema.from_dict(_load(f"classes_{name}.json"))


def keypoint_schema_for_count(count: int) -> KeypointSchema:
    """The shipped keypoint set with ``count`` points (a model's output channels tell its layout)."""
    for name in keypoint_schema_names():
        schema = keypoint_schema(name)
        if len(schema) == count:
            return schema
    raise KeyError(
        f"no known keypoint set has {count} points "
        f"(known: {', '.join(f'{n} ({len(keypoint_schema(n))})' for n in keypoint_schema_names())})"
    )
