"""Regenerate the schema data files from the Sapiens spec tables.

The tables (TSV) are the source of truth; the package ships JSON derived from them once, so the
installed program never needs the spec folder. Run:

    python -m sapiens_core.schema.generate SPEC_DIR

``tests/core/test_schema.py`` checks the shipped JSON against the tables whenever they are present.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

DATA_DIR = Path(__file__).with_name("data")

# Where each keypoint set's tables live and how its points fall into the four display groups
# (body / feet / hands / face) the app toggles. Goliath carries a fine "group" column; the COCO
# sets are laid out in contiguous index ranges (spec §3.2).
KEYPOINT_SETS = {
    "goliath_308": dict(
        title="Goliath 308 (Sapiens whole body)", points="goliath_308_keypoints.tsv", links="goliath_skeleton.tsv"
    ),
    "coco_wholebody_133": dict(
        title="COCO-WholeBody 133",
        points="coco_wholebody_133_keypoints.tsv",
        links="coco_wholebody_133_skeleton.tsv",
        ranges=[(0, 17, "body"), (17, 23, "feet"), (23, 91, "face"), (91, 133, "hands")],
    ),
    "coco_17": dict(
        title="COCO 17", points="coco_17_keypoints.tsv", links="coco_17_skeleton.tsv", ranges=[(0, 17, "body")]
    ),
}
GOLIATH_DISPLAY_GROUP = {
    "body": "body",
    "body_head": "body",
    "arm_extra": "body",
    "neck": "body",
    "left_wrist": "body",
    "right_wrist": "body",
    "foot": "feet",
    "left_hand": "hands",
    "right_hand": "hands",
}
CLASS_SETS = {
    "sapiens_28": dict(title="Sapiens body parts (28)", table="sapiens_seg_28_classes.tsv"),
    # Sapiens2's table names its columns differently and adds the down-mapping to v1 (its spec §4.3).
    "sapiens2_29": dict(
        title="Sapiens2 body parts (29)",
        table="sapiens2/sapiens2_seg_classes.tsv",
        columns=dict(name="v2_name", flip_index="flip_partner_v2_index", train_class_weight="ce_class_weight"),
        maps_to={"sapiens_28": "v1_index_for_downmap"},
    ),
}


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _range_group(index: int, ranges) -> str:
    return next(group for lo, hi, group in ranges if lo <= index < hi)


def keypoint_set(spec_dir: Path, key: str) -> dict:
    info = KEYPOINT_SETS[key]
    rows = read_tsv(spec_dir / info["points"])
    points = []
    for i, row in enumerate(rows):
        if int(row["index"]) != i:
            raise ValueError(f"{info['points']}: row {i} has index {row['index']}")
        fine = row.get("group") or _range_group(i, info["ranges"])
        display = GOLIATH_DISPLAY_GROUP.get(fine, "face") if "group" in row else fine
        points.append(
            {
                "name": row["name"],
                "group": fine,
                "display_group": display,
                "color": [int(row["r"]), int(row["g"]), int(row["b"])],
                "flip": int(row["flip_index"]),
                "sigma": float(row["sigma_oks"]),
                "half": row.get("upper_lower", "-"),
            }
        )
    links = [
        {"from": int(r["from_index"]), "to": int(r["to_index"]), "color": [int(r["r"]), int(r["g"]), int(r["b"])]}
        for r in read_tsv(spec_dir / info["links"])
    ]
    return {"name": key, "title": info["title"], "keypoints": points, "skeleton": links}


def class_set(spec_dir: Path, key: str) -> dict:
    info = CLASS_SETS[key]
    rows = read_tsv(spec_dir / info["table"])
    col = {"name": "name", "flip_index": "flip_index", "train_class_weight": "train_class_weight"}
    col.update(info.get("columns", {}))
    classes = [
        {
            "name": r[col["name"]],
            "color": [int(r["r"]), int(r["g"]), int(r["b"])],
            "flip": int(r[col["flip_index"]]),
            "weight": float(r[col["train_class_weight"]]),
        }
        for r in rows
    ]
    out = {"name": key, "title": info["title"], "classes": classes}
    if "maps_to" in info:  # class id in another set, per class of this one
        out["maps_to"] = {other: [int(r[column]) for r in rows] for other, column in info["maps_to"].items()}
    return out


def generate(spec_dir: Path) -> dict[str, dict]:
    out = {f"keypoints_{k}.json": keypoint_set(spec_dir, k) for k in KEYPOINT_SETS}
    out.update({f"classes_{k}.json": class_set(spec_dir, k) for k in CLASS_SETS})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec_dir", type=Path, help="folder holding the spec TSV tables")
    args = parser.parse_args(argv)
    DATA_DIR.mkdir(exist_ok=True)
    for filename, data in generate(args.spec_dir).items():
        (DATA_DIR / filename).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {filename}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
