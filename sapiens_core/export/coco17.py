"""``coco17``: standard COCO person keypoints, the 17 points taken from each document by name.

Import maps the 17 points back onto a Goliath-308 document (the other 291 unlabeled), so imported COCO
labels are corrected in the same editor as everything else.
"""

from __future__ import annotations

from ..schema import keypoint_schema
from .coco import CocoLayout
from .coco_read import register_coco_format

_COCO17 = keypoint_schema("coco_17")
LAYOUT = CocoLayout(
    name="coco17", title="COCO 17", schema=_COCO17, category=_COCO17, import_schema=keypoint_schema("goliath_308")
)


FORMAT = register_coco_format(
    LAYOUT,
    "COCO keypoints, 17 body points (JSON)",
    "Standard COCO person keypoints (17 points, taken from the documents by name); imports into Goliath-308 documents.",
)
