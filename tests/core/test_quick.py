"""The quick backend's MediaPipe -> Goliath-308 mapping table, checked without mediapipe.

MediaPipe Holistic run for real: test_quick_holistic.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sapiens_core.quick import load_mapping, resample_polyline
from sapiens_core.quick.mapping import DEFAULT_MAPPING_FILE
from sapiens_core.schema import keypoint_schema
from tests.without_mediapipe import BLOCK_MEDIAPIPE

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "sapiens_core" / "quick" / "data" / DEFAULT_MAPPING_FILE
ASTRONAUT = ROOT / "resources" / "astronaut.png"
# Landmark counts as MediaPipe documents them (pose 33, face mesh 468 + 10 iris, hand 21), not read from the table.
SET_SIZES = {"pose": 33, "face": 478, "left_hand": 21, "right_hand": 21}


@pytest.fixture(scope="module")
def schema():
    return keypoint_schema("goliath_308")


@pytest.fixture(scope="module")
def raw():
    return json.loads(DATA.read_text(encoding="utf-8"))


def _expanded(raw, schema):
    """(rule, side, nodes, targets) for every rule, mirrors expanded through the flip table, without the loader."""
    flip = {n: schema.names[schema.flip_index[i]] for i, n in enumerate(schema.names)}
    out = []
    for r in raw["rules"]:
        if r["kind"] == "point":
            out.append((r, "main", None, [r["target"]]))
        elif r["kind"] == "polyline":
            out.append((r, "main", r["nodes"], r["targets"]))
            if "mirror" in r:
                out.append((r, "mirror", r["mirror"]["nodes"], [None if t is None else flip[t] for t in r["targets"]]))
        else:
            out.append((r, "main", None, r["targets"]))
    return out


# ---------------------------------------------------------------- (a) the table, without mediapipe


def test_table_accounts_for_every_goliath_point_exactly_once(raw, schema):
    names = [t for _, _, _, targets in _expanded(raw, schema) for t in targets if t is not None]
    unknown = sorted(set(names) - set(schema.names))
    assert not unknown, f"not Goliath names: {unknown}"
    dup = sorted({n for n in names if names.count(n) > 1})
    assert not dup, f"produced twice: {dup}"
    assert sorted(names) == sorted(schema.names)
    for r in raw["rules"]:
        if r["kind"] == "unlabeled":
            assert r["reason"].strip()


def test_source_indices_in_range_and_weights_sum_to_one(raw, schema):
    assert {k: v["count"] for k, v in raw["landmark_sets"].items()} == SET_SIZES

    def check(set_name, spec):
        items = [[spec, 1.0]] if isinstance(spec, int) else spec
        assert abs(sum(w for _, w in items) - 1.0) < 1e-6, spec
        for i, _ in items:
            assert isinstance(i, int) and 0 <= i < SET_SIZES[set_name], (set_name, i)

    for r, _, nodes, _ in _expanded(raw, schema):
        if r["kind"] == "point":
            for set_name, spec in r["from"]:
                check(set_name, spec)
        elif r["kind"] == "polyline":
            for node in nodes:
                check(r["set"], node)


def test_resample_counts_match_goliath_contours(raw, schema):
    polys = [(r, side, nodes, targets) for r, side, nodes, targets in _expanded(raw, schema) if r["kind"] == "polyline"]
    # a lash line: both ends, centre, 6 midpoints = 9 samples
    for line in ("upper_lash_line", "lower_lash_line"):
        for side in "rl":
            got = [
                t for _, _, _, targets in polys for t in targets if t and t.startswith(f"{side}_") and t.endswith(line)
            ]
            want = [n for n in schema.names if n.startswith(f"{side}_") and n.endswith(line)]
            assert sorted(got) == sorted(want) and len(want) == 9
    # lips: 2 outer + 2 inner lines, each 2 corners (shared) + midline + 6 midpoints; all 32 names produced
    lips = [n for n in schema.names if schema.groups[schema.index(n)] == "lips"]
    got = {t for _, _, _, targets in polys for t in targets if t} | {
        r["target"] for r in raw["rules"] if r["kind"] == "point"
    }
    assert set(lips) <= got and len(lips) == 32
    for _, _, nodes, targets in polys:
        assert len(nodes) >= 2 and len(targets) >= 2
        if "lip" in json.dumps(targets) or "mouth" in json.dumps(targets):
            assert len(targets) == 5  # corner, eighth, quarter, eighth, midline of one half
        if "eyebrow" in json.dumps(targets):
            assert len(targets) == 5  # tail, quarter, half, quarter, head
    # iris: centre + 8 border points per eye, all mapped
    iris = [n for n in schema.names if schema.groups[schema.index(n)] == "iris"]
    assert set(iris) <= got


def test_midpoint_numbering_follows_the_spec_eyelid_listing(raw, schema):
    """The convention in the table: the spec lists the eyelid lines in spatial order from the outer end; the lash
    lines (mapped) must number their midpoints the same way, on both eyes (the mirror side via the flip table)."""
    suffix = lambda n, line: n[2:].replace(f"_of_{line}", "")  # noqa: E731
    for side in "rl":
        eyelid = [
            suffix(n, "upper_eyelid_line")
            for n in schema.names
            if n.startswith(f"{side}_") and n.endswith("upper_eyelid_line")
        ]
        for r, _, _, targets in _expanded(raw, schema):
            if r["kind"] == "polyline" and targets[0] == f"{side}_outer_end_of_upper_lash_line":
                assert [suffix(t, "upper_lash_line") for t in targets[:8]] == eyelid
                break
        else:
            pytest.fail(f"no {side} upper lash line starting at the outer end")


def _mapped_names(raw, schema) -> set[str]:
    """Targets of point and polyline rules (mirrors expanded), read from the JSON without the loader."""
    return {t for r, _, _, targets in _expanded(raw, schema) if r["kind"] != "unlabeled" for t in targets if t}


def test_loader_summary(raw, schema):
    m = load_mapping()
    assert m.schema is schema
    mapped = _mapped_names(raw, schema)
    groups = dict(zip(schema.names, schema.display_groups))
    expected = {
        g: (sum(groups[n] == g for n in mapped), list(schema.display_groups).count(g))
        for g in ("body", "feet", "hands", "face")
    }
    assert m.coverage() == expected
    assert {schema.names[i] for i in np.flatnonzero(m.mapped_mask())} == mapped
    unlabeled = {t for r in raw["rules"] if r["kind"] == "unlabeled" for t in r["targets"]}
    assert {schema.names[i] for i in m.unlabeled} == unlabeled == set(schema.names) - mapped
    assert expected["hands"] == (40, 40)  # every finger joint has a MediaPipe hand landmark
    # nothing synthesised for the points the issue names as having no counterpart
    for name in (
        "neck",
        "left_acromion",
        "right_olecranon",
        "left_small_toe",
        "l_point_1_of_inner_helix",
        "r_midpoint_1_of_upper_crease_line",
        "l_border_of_pupil_3",
        "tip_of_nose_bridge",
    ):
        assert schema.index(name) in m.unlabeled, name
    # subject-side sets feed subject-side names
    assert m.sets_for(schema.index("left_thumb4")) == {"left_hand"}
    assert m.sets_for(schema.index("right_pinky_finger_third_joint")) == {"right_hand"}
    assert m.sets_for(schema.index("left_wrist")) == {"left_hand", "pose"}


def test_resample_polyline_ends_and_limits():
    np.testing.assert_allclose(resample_polyline(np.array([[0, 0], [3, 4], [3, 10]]), 2), [[0, 0], [3, 10]])
    # A repeated first node, and a contour shorter than a pixel, are still resampled along their length.
    np.testing.assert_allclose(
        resample_polyline(np.array([[0, 0], [0, 0], [4, 0]], float), 3), [[0, 0], [2, 0], [4, 0]]
    )
    np.testing.assert_allclose(resample_polyline(np.array([[0, 0], [0.8, 0]]), 3), [[0, 0], [0.4, 0], [0.8, 0]])
    for nodes, count in (([[0, 0]], 3), ([[0, 0], [1, 1]], 1)):
        with pytest.raises(ValueError, match="^need at least 2 nodes and 2 samples$"):
            resample_polyline(np.array(nodes, float), count)


def test_resample_polyline_is_even_by_arc_length():
    pts = np.array([[0, 0], [3, 0], [10, 0]], dtype=float)
    out = resample_polyline(pts, 6)
    np.testing.assert_allclose(out[:, 0], [0, 2, 4, 6, 8, 10])
    np.testing.assert_allclose(resample_polyline(np.array([[3, 3], [3, 3]]), 3), [[3, 3]] * 3)
    corner = resample_polyline(np.array([[0, 0], [4, 0], [4, 4]]), 3)
    np.testing.assert_allclose(corner, [[0, 0], [4, 0], [4, 4]])


def _synthetic(seed=0):
    rng = np.random.default_rng(seed)
    return {k: rng.uniform(10, 90, size=(n, 2)) for k, n in SET_SIZES.items()}


def test_apply_with_synthetic_landmarks(raw, schema):
    m = load_mapping()
    lms = _synthetic()
    vis = np.linspace(0.1, 1.0, 33)
    kp, sc, lab = m.apply(lms, {"pose": vis}, image_size=(100, 100))
    assert kp.shape == (308, 2) and kp.dtype == np.float32 and sc.shape == (308,) and lab.dtype == bool
    i = schema.index
    np.testing.assert_allclose(kp[i("right_thumb4")], lms["right_hand"][4], rtol=1e-6)
    np.testing.assert_allclose(kp[i("left_forefinger3")], lms["left_hand"][7], rtol=1e-6)  # DIP = first joint
    np.testing.assert_allclose(kp[i("left_forefinger_third_joint")], lms["left_hand"][5], rtol=1e-6)  # MCP
    np.testing.assert_allclose(kp[i("right_thumb_third_joint")], lms["right_hand"][1], rtol=1e-6)  # CMC
    np.testing.assert_allclose(kp[i("left_wrist")], lms["left_hand"][0], rtol=1e-6)  # hand wrist preferred
    np.testing.assert_allclose(kp[i("left_shoulder")], lms["pose"][11], rtol=1e-6)
    np.testing.assert_allclose(kp[i("left_eye")], lms["face"][473], rtol=1e-6)
    np.testing.assert_allclose(kp[i("end_of_r_eyebrow")], (lms["face"][70] + lms["face"][46]) / 2, rtol=1e-6)
    np.testing.assert_allclose(kp[i("r_inner_end_of_upper_lash_line")], lms["face"][133], rtol=1e-6)
    np.testing.assert_allclose(kp[i("l_outer_end_of_lower_lash_line")], lms["face"][263], rtol=1e-6)
    assert sc[i("left_shoulder")] == pytest.approx(vis[11])
    assert sc[i("right_thumb4")] == pytest.approx(0.9)
    assert {schema.names[j] for j in np.flatnonzero(lab)} == _mapped_names(raw, schema)  # all sets given, all inside
    assert np.all(sc[~lab] == 0) and np.all(kp[~lab] == 0)

    # only a hand found: its points still come through (a missing set is skipped, not the end of the list)
    kp, _, lab = m.apply({"left_hand": lms["left_hand"]}, None, image_size=(100, 100))
    assert lab[i("left_thumb4")] and not lab[i("left_shoulder")]
    np.testing.assert_allclose(kp[i("left_thumb4")], lms["left_hand"][4], rtol=1e-6)
    # hands missing: wrists fall back to the pose; fingers are unlabeled
    del lms["left_hand"], lms["right_hand"]
    kp, sc, lab = m.apply(lms, {"pose": vis}, image_size=(100, 100))
    np.testing.assert_allclose(kp[i("left_wrist")], lms["pose"][15], rtol=1e-6)
    assert not lab[i("left_thumb4")] and sc[i("left_thumb4")] == 0
    # off-image points are unlabeled
    lms["pose"][11] = [150.0, 50.0]
    kp, sc, lab = m.apply(lms, {"pose": vis}, image_size=(100, 100))
    assert not lab[i("left_shoulder")] and tuple(kp[i("left_shoulder")]) == (0, 0)
    with pytest.raises(ValueError, match="landmark set 'pose' needs per-landmark scores"):
        m.apply(lms, {}, image_size=(100, 100))
    with pytest.raises(ValueError, match="landmark set 'pose' needs per-landmark scores"):
        m.apply(lms, None, image_size=(100, 100))
    with pytest.raises(ValueError, match=r"scores for 'pose': expected \(33,\), got \(17,\)"):
        m.apply(lms, {"pose": np.ones(17)}, image_size=(100, 100))
    column = m.apply(lms, {"pose": vis[:, None]}, image_size=(100, 100))  # (33, 1) is 33 scores too
    np.testing.assert_array_equal(column[1], m.apply(lms, {"pose": vis}, image_size=(100, 100))[1])
    with pytest.raises(ValueError, match="shape"):
        m.apply({"pose": np.zeros((17, 2))}, {"pose": np.zeros(17)})


@pytest.mark.parametrize(
    "x, y, inside",
    [
        (-0.5, -0.5, True),
        (99.5, 79.5, True),  # the outer edges of the corner pixels (centres at integers)
        (-0.5001, 10, False),
        (10, -0.5001, False),
        (99.5001, 10, False),
        (10, 79.5001, False),
        (np.nan, 10, False),
    ],
)
def test_image_bounds_are_the_outer_pixel_edges(schema, x, y, inside):
    # A 100 x 80 image covers x in [-0.5, 99.5] and y in [-0.5, 79.5] when pixel centres sit on integers.
    m = load_mapping()
    lms = _synthetic()
    lms["pose"][11] = [x, y]
    kp, sc, lab = m.apply(lms, {"pose": np.full(33, 0.7)}, image_size=(100, 80))
    j = schema.index("left_shoulder")
    assert lab[j] == inside
    assert lab[schema.index("right_shoulder")]  # one bad point leaves the others alone
    if inside:
        np.testing.assert_allclose(kp[j], [x, y], rtol=1e-6)
        assert sc[j] == pytest.approx(0.7)
    else:
        assert tuple(kp[j]) == (0, 0) and sc[j] == 0


def test_scores_of_weighted_and_resampled_points_are_their_weakest_landmark(tmp_path, raw, schema):
    # With per-landmark scores, a point mixed from several landmarks is only as sure as the least sure of them,
    # and every sample of a contour as its least sure node. A small table of our own: the neck as the midpoint of
    # the shoulders (pose 11, 12), a 3-sample polyline along pose 23 -> 25 -> 27 (left hip, knee, ankle).
    table = {k: raw[k] for k in ("format", "version", "target_schema", "landmark_sets", "scores")}
    line = ["left_hip", "left_knee", "left_ankle"]
    table["rules"] = [
        {"kind": "point", "target": "neck", "from": [["pose", [[11, 0.5], [12, 0.5]]]]},
        {"kind": "polyline", "set": "pose", "nodes": [23, 25, 27], "targets": line},
        {
            "kind": "unlabeled",
            "reason": "not in this test",
            "targets": [n for n in schema.names if n not in {"neck", *line}],
        },
    ]
    path = tmp_path / "small.json"
    path.write_text(json.dumps(table))
    m = load_mapping(path)
    pose = np.zeros((33, 2))
    pose[11], pose[12] = [10.0, 20.0], [30.0, 24.0]
    pose[23], pose[25], pose[27] = [0.0, 0.0], [0.0, 30.0], [40.0, 30.0]  # an L of lengths 30 and 40
    vis = np.full(33, 0.9)
    vis[12], vis[25] = 0.4, 0.55
    kp, sc, lab = m.apply({"pose": pose}, {"pose": vis})
    i = schema.index
    np.testing.assert_allclose(kp[i("neck")], [20.0, 22.0])
    assert sc[i("neck")] == pytest.approx(0.4)
    # 3 samples evenly by arc length over 70 px: at 0, 35 (5 px past the corner) and 70
    np.testing.assert_allclose(kp[[i(n) for n in line]], [[0, 0], [5, 30], [40, 30]], atol=1e-5)
    np.testing.assert_allclose(sc[[i(n) for n in line]], 0.55)
    assert lab.sum() == 4
    # scores outside [0, 1] are clipped
    assert m.apply({"pose": pose}, {"pose": np.full(33, 7.0)})[1][i("neck")] == 1.0
    assert m.apply({"pose": pose}, {"pose": np.full(33, -1.0)})[1][i("neck")] == 0.0


def _small_table(raw, schema, rules) -> dict:
    """A valid table of our own: the given rules, every other Goliath point listed as unlabeled."""
    table = {
        k: json.loads(json.dumps(raw[k])) for k in ("format", "version", "target_schema", "landmark_sets", "scores")
    }
    named = {t for r in rules for t in ([r["target"]] if "target" in r else r.get("targets", [])) if t}
    flip = {n: schema.names[schema.flip_index[i]] for i, n in enumerate(schema.names)}
    named |= {flip[t] for r in rules if "mirror" in r for t in r["targets"] if t in flip}
    table["rules"] = rules + [
        {"kind": "unlabeled", "reason": "not in this test", "targets": [n for n in schema.names if n not in named]}
    ]
    return table


def test_polyline_targets_include_index_zero_and_skip_nulls(tmp_path, raw, schema):
    # "nose" is Goliath index 0: a polyline may feed it; a null target is a sample nobody receives.
    table = _small_table(
        raw,
        schema,
        [
            {
                "kind": "polyline",
                "set": "face",
                "contour": "A_CONTOUR",
                "nodes": [1, 2, 3],
                "targets": ["nose", None, "neck"],
            },
            {
                "kind": "polyline",
                "set": "pose",
                "contour": "RIGHT_SIDE",
                "nodes": [12, 24],
                "targets": ["right_shoulder", None, "right_hip"],
                "mirror": {"contour": "LEFT_SIDE", "nodes": [11, 23]},
            },
        ],
    )
    path = tmp_path / "t.json"
    path.write_text(json.dumps(table))
    m = load_mapping(path)
    i = schema.index
    assert i("nose") == 0
    mirrored = {i("left_shoulder"), i("left_hip")}  # the flip table's partners of the right-side targets
    assert set(np.flatnonzero(m.mapped_mask())) == {0, i("neck"), i("right_shoulder"), i("right_hip")} | mirrored
    assert m.sets_for(0) == {"face"} and m.sets_for(i("left_hip")) == {"pose"} and m.sets_for(i("left_eye")) == set()
    assert [r.contour for r in m.polylines] == ["A_CONTOUR", "RIGHT_SIDE", "LEFT_SIDE"]
    assert m.raw == table
    # Applied: the face polyline gives index 0 its first sample; without a face, the pose polylines still run.
    face = np.zeros((478, 2))
    face[1], face[2], face[3] = [10, 10], [20, 10], [30, 10]
    pose = np.zeros((33, 2))
    pose[12], pose[24], pose[11], pose[23] = [5, 0], [5, 8], [50, 0], [50, 8]
    kp, _, lab = m.apply({"face": face, "pose": pose}, {"pose": np.ones(33)})
    np.testing.assert_allclose(kp[[0, i("neck")]], [[10, 10], [30, 10]])
    assert set(np.flatnonzero(lab)) == set(np.flatnonzero(m.mapped_mask()))
    kp, _, lab = m.apply({"pose": pose}, {"pose": np.ones(33)})
    assert not lab[0] and set(np.flatnonzero(lab)) == {i("right_shoulder"), i("right_hip")} | mirrored
    np.testing.assert_allclose(kp[[i("left_shoulder"), i("left_hip")]], [[50, 0], [50, 8]])
    for rule in table["rules"][:2]:  # a contour name is optional
        rule.pop("contour")
    rule["mirror"].pop("contour")
    path.write_text(json.dumps(table))
    assert [r.contour for r in load_mapping(path).polylines] == ["", "", ""]


_NECK = {"kind": "point", "target": "neck", "from": [["pose", [[11, 0.5], [12, 0.5]]]]}


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda t: t["rules"][0]["from"].__setitem__(0, ["hands", 3]),
            "rule 0 (point): unknown landmark set 'hands' (known: pose, face, left_hand, right_hand)",
        ),
        (
            lambda t: t["rules"][0]["from"].__setitem__(0, ["pose", "11"]),
            "a source is an index or a list of [index, weight]",
        ),
        (
            lambda t: t["rules"][0]["from"].__setitem__(0, ["pose", True]),
            "a source is an index or a list of [index, weight]",
        ),
        (lambda t: t["rules"][0]["from"].__setitem__(0, ["pose", []]), "a weighted source is a non-empty list"),
        (
            lambda t: t["rules"][0]["from"].__setitem__(0, ["pose", [[11, 0.5, 1]]]),
            "a weighted source is a non-empty list",
        ),
        (lambda t: t["rules"][0]["from"].__setitem__(0, ["pose", [11, 1.0]]), "a weighted source is a non-empty list"),
        (lambda t: t["rules"][0]["from"].__setitem__(0, ["pose", [[11.0, 1.0]]]), "landmark indices must be integers"),
        (lambda t: t["rules"][0]["from"].__setitem__(0, ["pose", [[True, 1.0]]]), "landmark indices must be integers"),
        (lambda t: t["rules"][0]["from"].__setitem__(0, ["pose", 33]), "index 33 outside pose 0..32"),
        (lambda t: t["rules"][0]["from"].__setitem__(0, ["pose", -1]), "index -1 outside pose 0..32"),
        (lambda t: t["rules"][0].__setitem__("from", []), "rule 0 (point): no sources"),
        (lambda t: t["rules"][0].__setitem__("target", 5), "target must be a Goliath keypoint name"),
        (lambda t: t.__setitem__("format", "labelme"), "not a version-1 sapiens-studio/landmark-mapping file"),
        (lambda t: t.__setitem__("version", 2), "not a version-1 sapiens-studio/landmark-mapping file"),
        (lambda t: t.__setitem__("target_schema", "nope"), "unknown target schema"),
        (lambda t: t["scores"].__setitem__("pose", "confidence"), "scores.pose: unknown score source 'confidence'"),
        (lambda t: t["scores"].__setitem__("face", 0), 'scores.face: need a constant in (0, 1] or "visibility"'),
        (lambda t: t["scores"].__setitem__("face", 1.5), "scores.face: need a constant in (0, 1]"),
        (lambda t: t["scores"].__setitem__("face", True), "scores.face: need a constant in (0, 1]"),
        (
            lambda t: t["rules"].append(
                {"kind": "polyline", "set": "pose", "nodes": [23], "targets": ["left_hip", "left_knee"]}
            ),
            "rule 2 (polyline): a polyline needs >= 2 nodes and >= 2 targets",
        ),
        (
            lambda t: t["rules"].append(
                {"kind": "polyline", "set": "pose", "nodes": [23, 25], "targets": [None, None]}
            ),
            "every target is null",
        ),
        (
            lambda t: t["rules"].append(
                {
                    "kind": "polyline",
                    "set": "face",
                    "nodes": [1, 2, 3],
                    "targets": ["nose", None, "neck"],
                    "mirror": {"nodes": [4, 5]},
                }
            ),
            "mirror has 2 nodes, rule has 3",
        ),
        (lambda t: t["rules"][-1].__setitem__("reason", ""), "say why these points stay unlabeled"),
        (lambda t: t["rules"].append({"kind": "curve"}), "unknown rule kind 'curve'"),
        (lambda t: t.__setitem__("rules", 5), "malformed mapping table (TypeError"),
        (
            lambda t: t["rules"].insert(1, {"kind": "point", "target": "neck", "from": [["pose", 0]]}),
            "rule 1 (point): 'neck' is already produced by rule 0 (point)",
        ),
        (
            lambda t: t["rules"].append(
                {"kind": "polyline", "set": "face", "nodes": [1, 500], "targets": ["nose", "neck"]}
            ),
            "rule 2 (polyline): index 500 outside face 0..477",
        ),
        (
            lambda t: t["rules"].append(
                {"kind": "polyline", "set": "face", "nodes": [1, 2], "targets": ["neck", None]}
            ),
            "rule 2 (polyline): 'neck' is already produced by rule 0 (point)",
        ),
        (
            lambda t: t["rules"].insert(1, {"kind": "unlabeled", "reason": "x", "targets": ["neck"]}),
            "rule 1 (unlabeled): 'neck' is already produced by rule 0 (point)",
        ),
        (lambda t: t["rules"][-1].pop("reason"), "say why these points stay unlabeled"),
        (
            lambda t: t["rules"].append(
                {
                    "kind": "polyline",
                    "set": "face",
                    "nodes": [1, 2],
                    "targets": ["snout", None],
                    "mirror": {"nodes": [3, 4]},
                }
            ),
            "goliath_308 has no keypoint 'snout'",
        ),
        (
            lambda t: t["rules"].pop(),
            "307 goliath_308 points are in no rule (list them as 'unlabeled'), e.g. ['nose', 'left_eye', 'right_eye']",
        ),
    ],
)
def test_loader_names_the_file_and_the_problem(tmp_path, raw, schema, change, message):
    table = _small_table(raw, schema, [json.loads(json.dumps(_NECK))])
    change(table)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(table))
    with pytest.raises(ValueError) as info:
        load_mapping(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value), str(info.value)


def test_unreadable_tables_name_the_file(tmp_path):
    for path, content in ((tmp_path / "missing.json", None), (tmp_path / "broken.json", "{not json")):
        if content is not None:
            path.write_text(content)
        with pytest.raises(ValueError, match=rf"^{path}: cannot read the mapping table: "):
            load_mapping(path)


def test_loader_accepts_the_edges_of_what_is_allowed(tmp_path, raw, schema):
    table = _small_table(
        raw, schema, [{"kind": "point", "target": "neck", "from": [["pose", [[0, 0.25], [32, 0.75]]]]}]
    )
    table["scores"]["face"] = 1  # (0, 1] includes 1, written as an integer
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(table))
    m = load_mapping(path)
    assert m.score_policy["face"] == 1.0 and type(m.score_policy["face"]) is float
    unlabeled_rule = table["rules"][-1]
    assert m.unlabeled[schema.index(unlabeled_rule["targets"][0])] == unlabeled_rule["reason"]
    pose = np.zeros((33, 2))
    pose[0], pose[32] = [4.0, 8.0], [8.0, 4.0]
    kp, _, _ = m.apply({"pose": pose}, {"pose": np.ones(33)})
    np.testing.assert_allclose(kp[schema.index("neck")], [7.0, 5.0])


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["rules"].append({"kind": "point", "target": "nose", "from": [["pose", 0]]}), "already produced"),
        (lambda d: d["rules"].pop(0), "in no rule"),
        (lambda d: d["rules"][0]["from"].__setitem__(0, ["pose", 33]), "outside pose"),
        (lambda d: d["rules"][0].__setitem__("target", "snout"), "no keypoint"),
        (lambda d: d["rules"][0]["from"].__setitem__(0, ["face", [[1, 0.5], [2, 0.6]]]), "weights"),
        (lambda d: d.pop("rules"), "malformed"),
    ],
)
def test_loader_rejects_bad_tables(tmp_path, raw, edit, message):
    data = json.loads(json.dumps(raw))
    edit(data)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=message) as e:
        load_mapping(p)
    assert "bad.json" in str(e.value)


def test_import_without_mediapipe_and_clear_error():
    code = BLOCK_MEDIAPIPE + (
        "import sapiens_core.quick as q\n"
        "assert 'mediapipe' not in sys.modules\n"
        "assert q.quick_available() is False\n"
        "from sapiens_core.errors import BackendError\n"
        "try:\n"
        "    q.QuickModel()\n"
        "except BackendError as e:\n"
        "    print('ERR', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "ERR quick backend unavailable" in out.stdout and "--no-deps mediapipe==0.10.14" in out.stdout


def test_polylines_are_chains_of_the_named_mediapipe_contours(raw, schema):
    pytest.importorskip("mediapipe")
    try:
        from mediapipe.python.solutions import face_mesh_connections as fmc
    except Exception as e:  # pragma: no cover - a wheel without the legacy solutions
        pytest.skip(f"legacy solutions missing: {e}")
    for r, which, nodes, _ in _expanded(raw, schema):
        if r["kind"] != "polyline":
            continue
        contour = r["contour"] if which == "main" else r["mirror"]["contour"]
        edges = {frozenset(e) for e in getattr(fmc, contour)}
        members = [{n} if isinstance(n, int) else {i for i, _ in n} for n in nodes]
        contour_nodes = set().union(*edges)
        for group in members:
            assert group <= contour_nodes, (contour, group)
        for a, b in zip(members, members[1:]):
            # consecutive nodes are joined by an edge of the contour (a weighted node may be a point between chain ends)
            assert a & b or any(frozenset((x, y)) in edges for x in a for y in b), (contour, a, b)
    # left/right contours are the subject's mirror: a rule on RIGHT_* mirrors onto LEFT_*
    for r in raw["rules"]:
        if r["kind"] == "polyline" and "mirror" in r and "RIGHT" in r["contour"]:
            assert r["mirror"]["contour"] == r["contour"].replace("RIGHT", "LEFT")
