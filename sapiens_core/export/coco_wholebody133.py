"""``coco-wholebody133``: the COCO-WholeBody layout its own tools read (xtcocotools, mmpose ``CocoWholeBodyDataset``).

Not one flat 133-point category: the category lists the 17 COCO body points, and each annotation adds
``foot_kpts`` (6 x 3), ``face_kpts`` (68 x 3), ``lefthand_kpts`` / ``righthand_kpts`` (21 x 3 each), the part
boxes ``face_box`` / ``lefthand_box`` / ``righthand_box`` ([x, y, w, h], [0, 0, 0, 0] when not valid) and the
flags ``face_valid`` / ``lefthand_valid`` / ``righthand_valid`` / ``foot_valid``. As in COCO-WholeBody itself,
``num_keypoints`` counts the body points only; the extension lists ``keypoint_scores`` / ``keypoint_sources``
hold all 133 points in the order body, feet, face, left hand, right hand (mmpose's concatenation order).

From a Goliath document, points with a counterpart by name (or by ``ALIASES``) carry its coordinates; the 68
face landmarks (Goliath has no such contour) and the finger bases stay unlabeled. Import maps back onto a
Goliath-308 document.
"""

from __future__ import annotations

import numpy as np

from ..schema import keypoint_schema
from .coco import CocoLayout, short_floats
from .coco_read import register_coco_format

# COCO-WholeBody point -> document point, where the names differ but the point is the same. The WholeBody hand
# "root" is the wrist (its hand skeleton starts at the root as Goliath's starts at the wrist). Goliath's
# "*_third_joint" (the finger's base, after 4, 3, 2 from the tip) may be WholeBody's "*1"; that is unconfirmed,
# so those stay unlabeled: a missing label costs less than a wrong one. One line here changes it.
ALIASES = {"left_hand_root": "left_wrist", "right_hand_root": "right_wrist"}

PARTS = (("keypoints", 17), ("foot_kpts", 6), ("face_kpts", 68), ("lefthand_kpts", 21), ("righthand_kpts", 21))
_OFFSETS = dict(zip((p for p, _ in PARTS), np.cumsum([0] + [n for _, n in PARTS])[:-1].tolist(), strict=True))
_BOXED = (("face", "face_kpts", 68), ("lefthand", "lefthand_kpts", 21), ("righthand", "righthand_kpts", 21))


def part_fields(xy: np.ndarray, v: np.ndarray) -> dict:
    """Part boxes and valid flags from the written points (file order).

    A part is valid when its labeled points span a box of positive width and height: a zero-size box (one
    labeled point) would give a hand or face crop of no size to the part datasets that read these flags.
    """
    boxes, valid = {}, {}
    for part, field, count in _BOXED:
        lo = _OFFSETS[field]
        pts = xy[lo : lo + count][v[lo : lo + count] > 0].astype(np.float32)
        box, ok = [0.0, 0.0, 0.0, 0.0], False
        if len(pts):
            (x1, y1), (x2, y2) = pts.min(axis=0), pts.max(axis=0)
            w, h = x2 - x1, y2 - y1
            if w > 0 and h > 0:
                box, ok = short_floats(np.array([x1, y1, w, h], np.float32)), True
        boxes[f"{part}_box"], valid[f"{part}_valid"] = box, ok
    lo = _OFFSETS["foot_kpts"]
    return {**boxes, **valid, "foot_valid": bool((v[lo : lo + 6] > 0).any())}


LAYOUT = CocoLayout(
    name="coco-wholebody133",
    title="COCO-WholeBody 133",
    schema=keypoint_schema("coco_wholebody_133"),
    category=keypoint_schema("coco_17"),
    import_schema=keypoint_schema("goliath_308"),
    parts=PARTS,
    aliases=ALIASES,
    extra_fields=part_fields,
)


FORMAT = register_coco_format(
    LAYOUT,
    "COCO-WholeBody 133 (JSON)",
    "COCO-WholeBody as xtcocotools and mmpose read it: body, feet, face and hands in their own "
    "fields, with part boxes and valid flags; imports into Goliath-308 documents.",
)
