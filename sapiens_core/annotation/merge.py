"""Bring new labels (a model's run, an import) into an existing document without losing a person's work.

Rules, per point: a point a person placed or changed (source human) stays as it is; every other point takes
the new value. Persons are matched by id; a person of the old document who has human points but is missing
from the new labels is kept whole (a model that no longer finds someone does not erase a correction). A
*reviewed* document counts as checked in full: all its labelled points stay, and it stays reviewed.

Per pixel, the same: a pixel a person painted (the layer's ``*_human`` mask) keeps its value and its mark; every
other pixel takes the new layer's value. A layer the new labels lack is kept as it is; a reviewed document keeps
its painted layers whole. Depth, normals, the pointmap and the matte are never painted and are replaced.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .document import HUMAN_LAYERS, Annotation
from .person import SOURCE_HUMAN, Person

__all__ = ["merge_keep_human"]


def merge_keep_human(existing: Annotation, incoming: Annotation) -> Annotation:
    """A new document: ``incoming`` with every human-made (or reviewed) label of ``existing`` kept."""
    if existing.persons and incoming.persons and existing.keypoint_schema != incoming.keypoint_schema:
        raise ValueError(
            f"cannot merge labels of {incoming.keypoint_schema} into a document labelled with "
            f"{existing.keypoint_schema}; replace it instead"
        )
    new_by_id = {p.id: p for p in incoming.persons}
    old_by_id = {p.id: p for p in existing.persons}
    persons = []
    for person in incoming.persons:
        old = old_by_id.get(person.id)
        persons.append(person.copy() if old is None else _merge_person(old, person, existing.reviewed))
    for old in existing.persons:
        if old.id not in new_by_id and (existing.reviewed or (old.source == SOURCE_HUMAN).any()):
            persons.append(old.copy())
    layers = {
        name: getattr(incoming, name) if getattr(incoming, name) is not None else getattr(existing, name)
        for name in ("depth", "normal", "pointmap", "alpha", "fg_rgb")
    }
    for name, human in HUMAN_LAYERS.items():
        layers[name], layers[human] = _merge_layer(
            getattr(existing, name), getattr(existing, human), getattr(incoming, name), existing.reviewed
        )
    return dataclasses.replace(
        incoming,
        persons=persons,
        **layers,
        keypoint_schema=incoming.keypoint_schema or existing.keypoint_schema,
        class_schema=incoming.class_schema or existing.class_schema,
        models={**existing.models, **incoming.models},
        revision=existing.revision,
        reviewed=existing.reviewed or incoming.reviewed,
        side_files={},
    )


def _merge_person(old: Person, new: Person, reviewed: bool) -> Person:
    keep = old.source == SOURCE_HUMAN
    if reviewed:
        keep = keep | (old.visibility > 0)
    merged = new.copy()
    merged.keypoints[keep] = old.keypoints[keep]
    merged.visibility[keep] = old.visibility[keep]
    merged.source[keep] = old.source[keep]
    if merged.box is None and old.box is not None:
        merged.box = old.box.copy()
    elif keep.all() and old.box is not None:
        merged.box = old.box.copy()  # every point is the person's own: so is the box around them
    return merged


def _merge_layer(old: np.ndarray | None, old_human: np.ndarray | None, new: np.ndarray | None, reviewed: bool):
    """(layer, human mask) after the merge: the new values outside the painted pixels, the old ones on them."""
    if new is None or (reviewed and old is not None):
        return old, old_human
    if old is None or old_human is None or not old_human.any():
        return new, None
    if new.shape != old.shape:
        new_size, old_size = f"{new.shape[1]}x{new.shape[0]}", f"{old.shape[1]}x{old.shape[0]}"
        raise ValueError(f"the new layer is {new_size}, the painted one {old_size}")
    merged = new.copy()
    merged[old_human] = old[old_human]
    return merged, old_human.copy()
