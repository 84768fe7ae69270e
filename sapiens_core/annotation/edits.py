"""Edits of an annotation document as Qt-free, undoable steps that store diffs, never document copies.

Every edit knows how to ``apply`` itself to a document, ``revert`` it, and ``merge`` a following edit of the
same gesture into itself (one drag or one brush stroke is one undo step). ``apply``/``revert`` return a
``Change`` saying what they touched, so views repaint that and nothing else. ``nbytes`` is the memory the
edit holds, for the history's budget. Painting per-pixel layers lives in ``tile_edits`` (a brush stroke on a
12 MP map holds the tiles it touched, not two 12 MB maps).

Points a person edits become human-made (``source = SOURCE_HUMAN``), as do pixels a person paints (the
document's ``*_human`` masks); a re-run of a model keeps them (``merge_keep_human``), and ``ApplyLabels`` makes
such a re-run one undoable step of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .document import HUMAN_LAYERS, Annotation
from .merge import merge_keep_human
from .person import SOURCE_HUMAN, Person

__all__ = [
    "Change",
    "Edit",
    "SetKeypoints",
    "AddPerson",
    "RemovePerson",
    "SetBox",
    "RenumberPerson",
    "SetReviewed",
    "ApplyLabels",
    "Macro",
    "move_keypoints",
    "set_visibility",
    "swap_left_right",
]

LAYERS = ("part_map", "foreground", "depth", "normal", "pointmap", "alpha", "fg_rgb")


@dataclass
class Change:
    """What an edit touched: views update these and nothing else."""

    persons: dict[int, np.ndarray | None] = field(default_factory=dict)  # person id -> keypoint indices (None: all)
    structure: bool = False  # persons added, removed or renumbered
    boxes: set[int] = field(default_factory=set)
    layers: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)  # layer -> (y0, x0, y1, x1)
    document: bool = False  # the review flag or other document-level fields

    def update(self, other: Change) -> Change:
        for pid, indices in other.persons.items():
            mine = self.persons.get(pid, np.empty(0, np.int64))
            self.persons[pid] = None if indices is None or mine is None else np.union1d(mine, indices)
        self.structure |= other.structure
        self.boxes |= other.boxes
        for name, (y0, x0, y1, x1) in other.layers.items():
            if name in self.layers:
                a0, b0, a1, b1 = self.layers[name]
                y0, x0, y1, x1 = min(y0, a0), min(x0, b0), max(y1, a1), max(x1, b1)
            self.layers[name] = (y0, x0, y1, x1)
        self.document |= other.document
        return self


class Edit:
    label = "edit"

    def apply(self, doc: Annotation) -> Change:
        raise NotImplementedError

    def revert(self, doc: Annotation) -> Change:
        raise NotImplementedError

    def merge(self, other: Edit) -> bool:
        """Absorb ``other`` (already applied after this one) into this step; False when it is another step."""
        return False

    @property
    def nbytes(self) -> int:
        return 256


def _person(doc: Annotation, person_id: int) -> Person:
    for person in doc.persons:
        if person.id == person_id:
            return person
    raise KeyError(f"no person with id {person_id}")


# ----------------------------------------------------------------------------------------------- keypoints


class SetKeypoints(Edit):
    """New values for some keypoints of one person: (K', 3) x, y, score, visibility and source."""

    def __init__(
        self,
        person_id: int,
        indices,
        keypoints,
        visibility,
        source,
        label: str = "edit keypoints",
        gesture: object = None,
    ):
        self.person_id = int(person_id)
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        self.new = (
            np.asarray(keypoints, np.float32).reshape(-1, 3).copy(),
            np.asarray(visibility, np.uint8).reshape(-1).copy(),
            np.asarray(source, np.uint8).reshape(-1).copy(),
        )
        if not len(self.new[0]) == len(self.new[1]) == len(self.new[2]) == len(self.indices):
            raise ValueError("one value per keypoint index is needed")
        self.old: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.label = label
        self.gesture = gesture  # edits of one drag share a gesture token and merge into one step

    def _write(self, doc: Annotation, values) -> Change:
        person = _person(doc, self.person_id)
        person.keypoints[self.indices] = values[0]
        person.visibility[self.indices] = values[1]
        person.source[self.indices] = values[2]
        return Change(persons={self.person_id: self.indices.copy()})

    def apply(self, doc: Annotation) -> Change:
        person = _person(doc, self.person_id)
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= person.num_keypoints):
            raise IndexError(f"keypoint index outside 0..{person.num_keypoints - 1}")
        if self.old is None:
            self.old = (
                person.keypoints[self.indices].copy(),
                person.visibility[self.indices].copy(),
                person.source[self.indices].copy(),
            )
        return self._write(doc, self.new)

    def revert(self, doc: Annotation) -> Change:
        return self._write(doc, self.old)

    def merge(self, other: Edit) -> bool:
        if (
            not isinstance(other, SetKeypoints)
            or self.gesture is None
            or other.gesture != self.gesture
            or other.person_id != self.person_id
        ):
            return False
        # Union of the touched points: our old values stay the oldest, the other's new values win.
        index = {int(i): n for n, i in enumerate(self.indices)}
        extra = [n for n, i in enumerate(other.indices) if int(i) not in index]
        self.indices = np.concatenate([self.indices, other.indices[extra]])
        self.old = tuple(np.concatenate([a, b[extra]]) for a, b in zip(self.old, other.old))
        new = tuple(np.concatenate([a, b[extra]]) for a, b in zip(self.new, other.new))
        for n, i in enumerate(other.indices):
            if int(i) in index:
                for arr, src in zip(new, other.new):
                    arr[index[int(i)]] = src[n]
        self.new = new
        return True

    @property
    def nbytes(self) -> int:
        return 256 + 2 * self.indices.size * (8 + 12 + 2)


def move_keypoints(doc: Annotation, person_id: int, indices, xy, gesture: object = None) -> SetKeypoints:
    """Move points to ``xy`` (K', 2): they become human-made, and a moved unlabeled point becomes visible."""
    person = _person(doc, person_id)
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    keypoints = person.keypoints[indices].copy()
    keypoints[:, :2] = np.asarray(xy, np.float32).reshape(-1, 2)
    visibility = np.where(person.visibility[indices] == 0, 2, person.visibility[indices]).astype(np.uint8)
    return SetKeypoints(
        person_id,
        indices,
        keypoints,
        visibility,
        np.full(len(indices), SOURCE_HUMAN),
        "move keypoint" if len(indices) == 1 else f"move {len(indices)} keypoints",
        gesture,
    )


def set_visibility(doc: Annotation, person_id: int, indices, visibility: int) -> SetKeypoints:
    """Visibility 0 (unlabeled: delete), 1 (occluded) or 2 (visible), as a person's decision."""
    if visibility not in (0, 1, 2):
        raise ValueError(f"visibility must be 0, 1 or 2, not {visibility!r}")
    person = _person(doc, person_id)
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    names = {0: "delete", 1: "mark occluded", 2: "mark visible"}
    return SetKeypoints(
        person_id,
        indices,
        person.keypoints[indices],
        np.full(len(indices), visibility),
        np.full(len(indices), SOURCE_HUMAN),
        f"{names[visibility]} keypoint",
    )


def swap_left_right(doc: Annotation, person_id: int, flip_index) -> SetKeypoints:
    """Exchange every point with its mirror partner (the schema's flip table): a person labelled back to front."""
    person = _person(doc, person_id)
    flip = np.asarray(flip_index, dtype=np.int64)
    if flip.shape != (person.num_keypoints,):
        raise ValueError(f"the flip table has {flip.size} entries, the person {person.num_keypoints} points")
    indices = np.arange(person.num_keypoints)
    return SetKeypoints(
        person_id,
        indices,
        person.keypoints[flip],
        person.visibility[flip],
        np.full(len(indices), SOURCE_HUMAN),
        "swap left and right",
    )


# ------------------------------------------------------------------------------------------------- persons


class AddPerson(Edit):
    label = "add person"

    def __init__(self, person: Person, index: int | None = None):
        self.person, self.index = person.copy(), index

    def apply(self, doc: Annotation) -> Change:
        if any(p.id == self.person.id for p in doc.persons):
            raise ValueError(f"a person with id {self.person.id} exists already")
        index = len(doc.persons) if self.index is None else self.index
        doc.persons.insert(index, self.person.copy())
        return Change(structure=True, persons={self.person.id: None})

    def revert(self, doc: Annotation) -> Change:
        doc.persons.remove(_person(doc, self.person.id))
        return Change(structure=True, persons={self.person.id: None})

    @property
    def nbytes(self) -> int:
        return 256 + self.person.keypoints.nbytes * 2


class RemovePerson(Edit):
    label = "delete person"

    def __init__(self, person_id: int):
        self.person_id = int(person_id)
        self.removed: Person | None = None
        self.index = -1

    def apply(self, doc: Annotation) -> Change:
        person = _person(doc, self.person_id)
        self.index = doc.persons.index(person)
        self.removed = doc.persons.pop(self.index)
        return Change(structure=True, persons={self.person_id: None})

    def revert(self, doc: Annotation) -> Change:
        doc.persons.insert(self.index, self.removed)
        self.removed = self.removed.copy()  # the document owns the inserted one now
        return Change(structure=True, persons={self.person_id: None})

    @property
    def nbytes(self) -> int:
        return 256 + (self.removed.keypoints.nbytes * 2 if self.removed is not None else 0)


class SetBox(Edit):
    label = "edit box"

    def __init__(self, person_id: int, box, gesture: object = None):
        self.person_id = int(person_id)
        self.new = None if box is None else np.asarray(box, np.float32).reshape(4).copy()
        self.old: np.ndarray | None = None
        self.gesture = gesture
        self._saved = False

    def apply(self, doc: Annotation) -> Change:
        person = _person(doc, self.person_id)
        if not self._saved:
            self.old, self._saved = (None if person.box is None else person.box.copy()), True
        person.box = None if self.new is None else self.new.copy()
        return Change(boxes={self.person_id})

    def revert(self, doc: Annotation) -> Change:
        _person(doc, self.person_id).box = None if self.old is None else self.old.copy()
        return Change(boxes={self.person_id})

    def merge(self, other: Edit) -> bool:
        if (
            isinstance(other, SetBox)
            and self.gesture is not None
            and other.gesture == self.gesture
            and other.person_id == self.person_id
        ):
            self.new = other.new
            return True
        return False


class RenumberPerson(Edit):
    label = "renumber person"

    def __init__(self, old_id: int, new_id: int):
        self.old_id, self.new_id = int(old_id), int(new_id)

    def _rename(self, doc: Annotation, a: int, b: int) -> Change:
        if any(p.id == b for p in doc.persons):
            raise ValueError(f"a person with id {b} exists already")
        _person(doc, a).id = b
        return Change(structure=True, persons={a: None, b: None})

    def apply(self, doc: Annotation) -> Change:
        return self._rename(doc, self.old_id, self.new_id)

    def revert(self, doc: Annotation) -> Change:
        return self._rename(doc, self.new_id, self.old_id)


# --------------------------------------------------------------------------------------------------- document


class SetReviewed(Edit):
    def __init__(self, reviewed: bool):
        self.new = bool(reviewed)
        self.old: bool | None = None
        self.label = "mark reviewed" if reviewed else "mark not reviewed"

    def apply(self, doc: Annotation) -> Change:
        if self.old is None:
            self.old = doc.reviewed
        doc.reviewed = self.new
        return Change(document=True)

    def revert(self, doc: Annotation) -> Change:
        doc.reviewed = self.old
        return Change(document=True)


class ApplyLabels(Edit):
    """A model's output (or an import) brought into the document as one step; by default every human-made
    point is kept (``merge_keep_human``), ``replace=True`` takes the new labels as they are."""

    def __init__(self, incoming: Annotation, replace: bool = False, label: str = "apply model output"):
        self.incoming, self.replace, self.label = incoming, replace, label
        self.before: dict | None = None
        self.after: dict | None = None

    _FIELDS = ("persons", *LAYERS, *HUMAN_LAYERS.values(), "keypoint_schema", "class_schema", "models", "reviewed")

    def apply(self, doc: Annotation) -> Change:
        if self.after is None:
            self.before = {name: getattr(doc, name) for name in self._FIELDS}
            merged = self.incoming if self.replace else merge_keep_human(doc, self.incoming)
            self.after = {name: getattr(merged, name) for name in self._FIELDS}
            self.before["persons"] = [p.copy() for p in doc.persons]
            self.after["persons"] = [p.copy() for p in self.after["persons"]]
            self.incoming = None  # the step holds before/after only
        self._set(doc, self.after)
        return self._change(doc)

    def revert(self, doc: Annotation) -> Change:
        self._set(doc, self.before)
        return self._change(doc)

    @staticmethod
    def _set(doc: Annotation, values: dict) -> None:
        for name, value in values.items():
            setattr(doc, name, [p.copy() for p in value] if name == "persons" else value)

    @staticmethod
    def _change(doc: Annotation) -> Change:
        full = {name: (0, 0, doc.height, doc.width) for name in LAYERS}
        return Change(structure=True, persons={p.id: None for p in doc.persons}, layers=full, document=True)

    @property
    def nbytes(self) -> int:
        total = 256
        for values in (self.before or {}, self.after or {}):
            for name, value in values.items():
                if name == "persons":
                    total += sum(p.keypoints.nbytes * 2 for p in value)
                elif isinstance(value, np.ndarray):
                    total += value.nbytes
        return total


class Macro(Edit):
    """Several edits as one step (e.g. move a selection of points of several persons)."""

    def __init__(self, edits: list[Edit], label: str = "edit", gesture: object = None):
        self.edits, self.label = list(edits), label
        self.gesture = gesture  # a drag of points of several persons: each move merges into one step

    def merge(self, other: Edit) -> bool:
        # Only the same parts in the same order (one keypoint or box edit per person, as a multi-person drag
        # makes): checked first, so a refused merge leaves every part untouched.
        if not (
            isinstance(other, Macro)
            and self.gesture is not None
            and other.gesture == self.gesture
            and len(other.edits) == len(self.edits)
            and all(
                isinstance(a, (SetKeypoints, SetBox))
                and type(a) is type(b)
                and a.person_id == b.person_id
                and a.gesture == self.gesture
                and b.gesture == self.gesture
                for a, b in zip(self.edits, other.edits)
            )
        ):
            return False
        return all([a.merge(b) for a, b in zip(self.edits, other.edits)])

    def apply(self, doc: Annotation) -> Change:
        change = Change()
        for edit in self.edits:
            change.update(edit.apply(doc))
        return change

    def revert(self, doc: Annotation) -> Change:
        change = Change()
        for edit in reversed(self.edits):
            change.update(edit.revert(doc))
        return change

    @property
    def nbytes(self) -> int:
        return 256 + sum(e.nbytes for e in self.edits)
