"""``coco-goliath308``: COCO keypoints with the 308-point Goliath category — the finetuning trainer's input.

Every Goliath point in model order, the 1-based Goliath skeleton, the person mask as RLE ``segmentation``,
and per image the part map, foreground, depth and normal side files (``sapiens_layers``) with the part map's
``class_schema``. mmpose's COCO-style datasets read it with the Goliath metainfo. Field list: ``coco.py``.
"""

from __future__ import annotations

from ..schema import keypoint_schema
from .coco import CocoLayout
from .coco_read import register_coco_format

_GOLIATH = keypoint_schema("goliath_308")
LAYOUT = CocoLayout(
    name="coco-goliath308",
    title="Goliath 308",
    schema=_GOLIATH,
    category=_GOLIATH,
    import_schema=_GOLIATH,
    doc_schemas=(_GOLIATH.name,),
    layers=True,
)


FORMAT = register_coco_format(
    LAYOUT,
    "COCO keypoints, Goliath 308 (JSON)",
    "COCO keypoints with all 308 Goliath points, person masks as RLE and the part map, depth and "
    "normal files named per image: what the finetuning trainer and mmpose read.",
    needs_layers=True,
)
