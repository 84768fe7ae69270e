"""What to check next in a document: the least certain model-made labels, and points the part map contradicts.

A model-made point is one no person has moved or accepted yet (``source == SOURCE_MODEL``). Points a person made
or accepted are never queued or flagged: their decision overrides both the model's score and the part map (which
is a model's output too, and often the wrong one at a wrist or a fingertip). Unlabeled points (visibility 0) are
not queued either: the queue checks labels that exist, not the ones a model left out.

Flags come from ``PART_CLASSES``: a visible point of a group must lie on (or within ``radius`` pixels of) one of its
classes. Occluded points (visibility 1) are never flagged: the pixel at an occluded point belongs to the occluder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation
from .annotation.edits import SetKeypoints
from .schema import ClassSchema, KeypointSchema

__all__ = [
    "PART_CLASSES",
    "ReviewItem",
    "allowed_classes",
    "part_flags",
    "low_score_keypoints",
    "person_queue",
    "review_queue",
    "accept_keypoints",
]

# Keypoint group (the schema's fine ``groups``) -> class names of the part map a correctly placed, visible point of
# that group lies on. "{side}" becomes "Left" or "Right" from the point's name ("left_big_toe" -> "Left"); a point
# whose name has no side gets no check. Groups not listed are never flagged: body joints sit on clothing as often as
# on skin, so the part map says nothing about them. A wrong guess here is a one-line change.
_FACE = ("Face_Neck", "Hair", "Apparel", "Upper_Lip", "Lower_Lip", "Upper_Teeth", "Lower_Teeth", "Tongue")
PART_CLASSES: dict[str, tuple[str, ...]] = {
    # goliath_308
    "left_hand": ("Left_Hand",),
    "right_hand": ("Right_Hand",),
    "left_wrist": ("Left_Hand", "Left_Lower_Arm"),  # the joint lies on the boundary of the two
    "right_wrist": ("Right_Hand", "Right_Lower_Arm"),
    "foot": ("{side}_Foot", "{side}_Shoe", "{side}_Sock"),
    "eyebrow": _FACE,
    "eye_lids_lashes": _FACE,
    "iris": _FACE,
    "pupil": _FACE,
    "nose": _FACE,
    "lips": _FACE,
    "face_midline": _FACE,
    "ear": _FACE,
    # coco_wholebody_133
    "hands": ("{side}_Hand",),
    "feet": ("{side}_Foot", "{side}_Shoe", "{side}_Sock"),
    "face": _FACE,
}


@dataclass(frozen=True)
class ReviewItem:
    person_id: int
    index: int | None  # keypoint index in the schema; None: the person as a whole
    score: float  # the model's score (NaN when it gave none)
    name: str  # keypoint name, or "person N"
    reason: str  # what to check, for the list
    flagged: bool = False  # the part map contradicts the point


def _side(name: str) -> str | None:
    lower = name.lower()
    if lower.startswith("left_"):
        return "Left"
    if lower.startswith("right_"):
        return "Right"
    return None


def allowed_classes(kschema: KeypointSchema, cschema: ClassSchema) -> list[np.ndarray | None]:
    """Per keypoint, the class ids it may lie on (None: not checked)."""
    names = set(cschema.names)
    allowed: list[np.ndarray | None] = []
    for name, group in zip(kschema.names, kschema.groups):
        templates = PART_CLASSES.get(group)
        if templates is None:
            allowed.append(None)
            continue
        side = _side(name)
        if any("{side}" in t for t in templates) and side is None:
            allowed.append(None)
            continue
        classes = [t.format(side=side) for t in templates]
        ids = [cschema.index(c) for c in classes if c in names]
        allowed.append(np.array(ids, np.int64) if ids else None)  # a class set without these names: no check
    return allowed


def part_flags(doc: Annotation, kschema: KeypointSchema, cschema: ClassSchema, radius: int = 2) -> list[ReviewItem]:
    """Visible model-made points lying farther than ``radius`` pixels from every class their group belongs to.
    Empty without a part map; points outside the image or on "ignore" (255) pixels are not judged."""
    part_map = doc.part_map
    if part_map is None:
        return []
    allowed = allowed_classes(kschema, cschema)
    h, w = part_map.shape
    flags = []
    for person in doc.persons:
        if person.num_keypoints != len(kschema):
            continue
        candidates = np.flatnonzero((person.visibility == 2) & (person.source == SOURCE_MODEL))
        for i in candidates:
            ids = allowed[i]
            x, y = person.keypoints[i, :2]
            if ids is None or not (np.isfinite(x) and np.isfinite(y)):
                continue
            cx, cy = int(np.floor(x)), int(np.floor(y))
            if not (0 <= cx < w and 0 <= cy < h) or part_map[cy, cx] == 255:
                continue
            window = part_map[max(cy - radius, 0) : cy + radius + 1, max(cx - radius, 0) : cx + radius + 1]
            if np.isin(window, ids).any():
                continue
            expected = " / ".join(cschema.names[c] for c in ids)
            flags.append(
                ReviewItem(
                    person.id,
                    int(i),
                    float(person.keypoints[i, 2]),
                    kschema.names[i],
                    f"outside {expected} (on {_class_name(cschema, part_map[cy, cx])})",
                    flagged=True,
                )
            )
    return flags


def _class_name(cschema: ClassSchema, class_id) -> str:
    class_id = int(class_id)
    return cschema.names[class_id] if class_id < len(cschema) else f"class {class_id}"


def _order_key(score: float) -> float:
    # A point without a score is the least certain of all.
    return score if np.isfinite(score) else -np.inf


def low_score_keypoints(
    doc: Annotation, kschema: KeypointSchema | None = None, max_score: float | None = None
) -> list[ReviewItem]:
    """Labeled model-made points, lowest score first (ties: person order, then keypoint index); with ``max_score``
    only those scoring below it."""
    items = []
    for person in doc.persons:
        scores = person.keypoints[:, 2]
        picked = (person.visibility > 0) & (person.source == SOURCE_MODEL)
        if max_score is not None:
            picked &= ~(scores >= max_score)  # NaN scores stay in
        for i in np.flatnonzero(picked):
            name = kschema.names[i] if kschema is not None and i < len(kschema) else f"keypoint {i}"
            score = float(scores[i])
            items.append(ReviewItem(person.id, int(i), score, name, f"score {score:.2f}"))
    order = {p.id: n for n, p in enumerate(doc.persons)}
    return sorted(items, key=lambda it: (_order_key(it.score), order[it.person_id], it.index))


def person_queue(doc: Annotation) -> list[ReviewItem]:
    """Persons that still hold labeled model-made points, lowest mean score of those points first."""
    items = []
    for n, person in enumerate(doc.persons):
        picked = (person.visibility > 0) & (person.source == SOURCE_MODEL)
        if not picked.any():
            continue
        scores = person.keypoints[picked, 2]
        finite = scores[np.isfinite(scores)]
        mean = float(finite.mean()) if finite.size else float("nan")
        items.append(
            (
                _order_key(mean),
                n,
                ReviewItem(person.id, None, mean, f"person {person.id}", f"{picked.sum()} unchecked, mean {mean:.2f}"),
            )
        )
    return [item for *_, item in sorted(items, key=lambda t: (t[0], t[1]))]


def review_queue(
    doc: Annotation,
    kschema: KeypointSchema | None,
    cschema: ClassSchema | None = None,
    max_score: float | None = 0.5,
    radius: int = 2,
) -> list[ReviewItem]:
    """What to check next, in order: flagged points (lowest score first), then the other low-score points."""
    flags = part_flags(doc, kschema, cschema, radius) if kschema is not None and cschema is not None else []
    flags.sort(key=lambda it: _order_key(it.score))
    seen = {(it.person_id, it.index) for it in flags}
    rest = [it for it in low_score_keypoints(doc, kschema, max_score) if (it.person_id, it.index) not in seen]
    return flags + rest


def accept_keypoints(doc: Annotation, person_id: int, indices) -> SetKeypoints:
    """A person checked these points and found them right: they become human-made where they are (same place,
    visibility and score), so re-running a model keeps them and the queue forgets them."""
    person = next((p for p in doc.persons if p.id == person_id), None)
    if person is None:
        raise KeyError(f"no person with id {person_id}")
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    return SetKeypoints(
        person_id,
        indices,
        person.keypoints[indices],
        person.visibility[indices],
        np.full(len(indices), SOURCE_HUMAN),
        "accept keypoint" if len(indices) == 1 else f"accept {len(indices)} keypoints",
    )
