"""The MediaPipe Holistic -> Goliath-308 mapping table: loaded from package data, validated, applied.

The table (``data/mediapipe_to_goliath.json``) is the single source of truth: which MediaPipe landmark
feeds which Goliath point, which contours are resampled, and why the rest stay unlabeled. Its
``conventions`` explain the left/right and midpoint-numbering assumptions. This module only reads
and applies it; nothing here needs mediapipe, so tests can exercise it with synthetic landmarks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from ..schema import DISPLAY_GROUPS, KeypointSchema, keypoint_schema

__all__ = [
    "LandmarkMapping",
    "Combo",
    "PointRule",
    "PolylineRule",
    "load_mapping",
    "resample_polyline",
    "DEFAULT_MAPPING_FILE",
]

DEFAULT_MAPPING_FILE = "mediapipe_to_goliath.json"
_FORMAT = "sapiens-studio/landmark-mapping"
_WEIGHT_TOL = 1e-6


@dataclass(frozen=True, eq=False)
class Combo:
    """A weighted sum of landmarks of one set (a single landmark is weight 1)."""

    set: str
    index: np.ndarray  # (k,) int
    weight: np.ndarray  # (k,) float, sums to 1

    def evaluate(self, points: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, float]:
        xy = (points[self.index] * self.weight[:, None]).sum(axis=0)
        return xy, float(scores[self.index].min())


@dataclass(frozen=True, eq=False)
class PointRule:
    target: int
    sources: tuple[Combo, ...]  # first available set wins


@dataclass(frozen=True, eq=False)
class PolylineRule:
    set: str
    contour: str
    nodes: tuple[Combo, ...]
    targets: np.ndarray  # (T,) int; -1 = sample dropped


def resample_polyline(points: np.ndarray, count: int) -> np.ndarray:
    """``count`` points spaced evenly by arc length along an open polyline, both ends included."""
    pts = np.asarray(points, dtype=np.float64)
    if count < 2 or len(pts) < 2:
        raise ValueError("need at least 2 nodes and 2 samples")
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 0:
        return np.repeat(pts[:1], count, axis=0)
    t = np.linspace(0.0, s[-1], count)
    return np.stack([np.interp(t, s, pts[:, 0]), np.interp(t, s, pts[:, 1])], axis=1)


@dataclass(frozen=True, eq=False)
class LandmarkMapping:
    """A validated mapping table, compiled to index arrays."""

    schema: KeypointSchema
    set_sizes: Mapping[str, int]
    score_policy: Mapping[str, float | str]  # a constant, or "visibility" (the caller passes per-landmark scores)
    points: tuple[PointRule, ...]
    polylines: tuple[PolylineRule, ...]
    unlabeled: Mapping[int, str]  # target index -> why it has no counterpart
    raw: dict = field(repr=False)

    # ---- what the table covers -------------------------------------------------------------
    def mapped_mask(self) -> np.ndarray:
        """(K,) bool: points some rule can produce (the rest are never labeled)."""
        mask = np.zeros(len(self.schema), dtype=bool)
        for r in self.points:
            mask[r.target] = True
        for r in self.polylines:
            mask[r.targets[r.targets >= 0]] = True
        return mask

    def coverage(self) -> dict[str, tuple[int, int]]:
        """Display group -> (points the table can label, points in the group)."""
        mapped = self.mapped_mask()
        groups = np.asarray(self.schema.display_groups)
        return {g: (int(mapped[groups == g].sum()), int((groups == g).sum())) for g in DISPLAY_GROUPS}

    def sets_for(self, target: int) -> set[str]:
        """The landmark sets a target point can come from."""
        out = set()
        for r in self.points:
            if r.target == target:
                out.update(c.set for c in r.sources)
        for r in self.polylines:
            if target in r.targets:
                out.add(r.set)
        return out

    # ---- applying it -----------------------------------------------------------------------
    def apply(
        self,
        landmarks: Mapping[str, np.ndarray | None],
        scores: Mapping[str, np.ndarray | None] | None = None,
        image_size: tuple[int, int] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Goliath keypoints from MediaPipe landmarks.

        ``landmarks``: set name -> (N, 2) pixel coordinates, or None/absent when that set was not detected.
        ``scores``: set name -> (N,) per-landmark scores, needed for sets whose policy is not a constant.
        ``image_size``: (W, H); points outside the image become unlabeled.
        Returns keypoints (K, 2) float32, scores (K,) float32, labeled (K,) bool; unlabeled points are
        (0, 0) with score 0.
        """
        k = len(self.schema)
        kp = np.zeros((k, 2), dtype=np.float64)
        sc = np.zeros(k, dtype=np.float64)
        labeled = np.zeros(k, dtype=bool)
        pts: dict[str, np.ndarray] = {}
        sco: dict[str, np.ndarray] = {}
        for name, size in self.set_sizes.items():
            arr = landmarks.get(name)
            if arr is None:
                continue
            arr = np.asarray(arr, dtype=np.float64)
            if arr.shape != (size, 2):
                raise ValueError(f"landmark set {name!r}: expected shape ({size}, 2), got {arr.shape}")
            pts[name] = arr
            policy = self.score_policy[name]
            if isinstance(policy, str):
                given = None if scores is None else scores.get(name)
                if given is None:
                    raise ValueError(f"landmark set {name!r} needs per-landmark scores ({policy})")
                given = np.asarray(given, dtype=np.float64).reshape(-1)
                if given.shape != (size,):
                    raise ValueError(f"scores for {name!r}: expected ({size},), got {given.shape}")
                sco[name] = np.clip(given, 0.0, 1.0)
            else:
                sco[name] = np.full(size, float(policy))

        for rule in self.points:
            for combo in rule.sources:
                if combo.set in pts:
                    kp[rule.target], sc[rule.target] = combo.evaluate(pts[combo.set], sco[combo.set])
                    labeled[rule.target] = True
                    break
        for rule in self.polylines:
            if rule.set not in pts:
                continue
            evaluated = [c.evaluate(pts[rule.set], sco[rule.set]) for c in rule.nodes]
            nodes = np.array([e[0] for e in evaluated])
            score = min(e[1] for e in evaluated)
            samples = resample_polyline(nodes, len(rule.targets))
            keep = rule.targets >= 0
            kp[rule.targets[keep]] = samples[keep]
            sc[rule.targets[keep]] = score
            labeled[rule.targets[keep]] = True

        labeled &= np.isfinite(kp).all(axis=1)
        if image_size is not None:
            w, h = image_size
            inside = (kp[:, 0] >= -0.5) & (kp[:, 0] <= w - 0.5) & (kp[:, 1] >= -0.5) & (kp[:, 1] <= h - 0.5)
            labeled &= inside
        kp[~labeled] = 0.0
        sc[~labeled] = 0.0
        return kp.astype(np.float32), sc.astype(np.float32), labeled


# ---- loading and validation -------------------------------------------------------------------


def _fail(origin: str, msg: str) -> ValueError:
    return ValueError(f"{origin}: {msg}")


def _combo(origin: str, where: str, set_name: str, spec, set_sizes: Mapping[str, int]) -> Combo:
    if set_name not in set_sizes:
        raise _fail(origin, f"{where}: unknown landmark set {set_name!r} (known: {', '.join(set_sizes)})")
    if isinstance(spec, bool) or not isinstance(spec, (int, list)):
        raise _fail(origin, f"{where}: a source is an index or a list of [index, weight]")
    if isinstance(spec, int):
        idx, w = [spec], [1.0]
    else:
        if not spec or not all(isinstance(p, list) and len(p) == 2 for p in spec):
            raise _fail(origin, f"{where}: a weighted source is a non-empty list of [index, weight]")
        idx, w = [p[0] for p in spec], [float(p[1]) for p in spec]
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in idx):
        raise _fail(origin, f"{where}: landmark indices must be integers")
    size = set_sizes[set_name]
    bad = [i for i in idx if not 0 <= i < size]
    if bad:
        raise _fail(origin, f"{where}: index {bad[0]} outside {set_name} 0..{size - 1}")
    if abs(sum(w) - 1.0) > _WEIGHT_TOL:
        raise _fail(origin, f"{where}: weights sum to {sum(w)}, not 1")
    return Combo(set_name, np.asarray(idx, dtype=np.int64), np.asarray(w, dtype=np.float64))


def _parse(data: dict, origin: str) -> LandmarkMapping:
    try:
        return _parse_checked(data, origin)
    except (KeyError, TypeError, AttributeError, IndexError) as e:
        raise _fail(origin, f"malformed mapping table ({type(e).__name__}: {e})") from None


def _parse_checked(data: dict, origin: str) -> LandmarkMapping:
    if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("version") != 1:
        raise _fail(origin, f"not a version-1 {_FORMAT} file")
    try:
        schema = keypoint_schema(data["target_schema"])
    except KeyError as e:
        raise _fail(origin, f"unknown target schema: {e}") from None
    set_sizes = {name: int(spec["count"]) for name, spec in data["landmark_sets"].items()}
    policy: dict[str, float | str] = {}
    for name in set_sizes:
        p = data["scores"].get(name)
        if isinstance(p, str):
            if p != "visibility":
                raise _fail(origin, f"scores.{name}: unknown score source {p!r}")
        elif not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 < p <= 1.0:
            raise _fail(origin, f'scores.{name}: need a constant in (0, 1] or "visibility"')
        policy[name] = p if isinstance(p, str) else float(p)

    owner: dict[int, str] = {}

    def claim(name, where: str) -> int:
        if not isinstance(name, str):
            raise _fail(origin, f"{where}: target must be a Goliath keypoint name")
        try:
            i = schema.index(name)
        except KeyError:
            raise _fail(origin, f"{where}: {schema.name} has no keypoint {name!r}") from None
        if i in owner:
            raise _fail(origin, f"{where}: {name!r} is already produced by {owner[i]}")
        owner[i] = where
        return i

    points: list[PointRule] = []
    polylines: list[PolylineRule] = []
    unlabeled: dict[int, str] = {}
    for n, rule in enumerate(data["rules"]):
        kind = rule.get("kind")
        where = f"rule {n} ({kind})"
        if kind == "point":
            sources = rule.get("from") or []
            if not sources:
                raise _fail(origin, f"{where}: no sources")
            combos = tuple(_combo(origin, where, s[0], s[1], set_sizes) for s in sources)
            points.append(PointRule(claim(rule["target"], where), combos))
        elif kind == "polyline":
            set_name = rule["set"]
            variants = [(rule["nodes"], rule["targets"], rule.get("contour", ""))]
            if "mirror" in rule:
                flipped = [
                    None
                    if t is None
                    else (schema.names[schema.flip_index[schema.index(t)]] if t in schema.names else t)
                    for t in rule["targets"]
                ]
                variants.append((rule["mirror"]["nodes"], flipped, rule["mirror"].get("contour", "")))
                if len(rule["mirror"]["nodes"]) != len(rule["nodes"]):
                    raise _fail(
                        origin,
                        f"{where}: mirror has {len(rule['mirror']['nodes'])} nodes, rule has {len(rule['nodes'])}",
                    )
            for nodes, targets, contour in variants:
                if len(nodes) < 2 or len(targets) < 2:
                    raise _fail(origin, f"{where}: a polyline needs >= 2 nodes and >= 2 targets")
                if all(t is None for t in targets):
                    raise _fail(origin, f"{where}: every target is null")
                combos = tuple(_combo(origin, where, set_name, nd, set_sizes) for nd in nodes)
                tidx = np.array([-1 if t is None else claim(t, where) for t in targets], dtype=np.int64)
                polylines.append(PolylineRule(set_name, contour, combos, tidx))
        elif kind == "unlabeled":
            reason = rule.get("reason", "")
            if not reason:
                raise _fail(origin, f"{where}: say why these points stay unlabeled")
            for t in rule["targets"]:
                unlabeled[claim(t, where)] = reason
        else:
            raise _fail(origin, f"{where}: unknown rule kind {kind!r}")

    missing = [schema.names[i] for i in range(len(schema)) if i not in owner]
    if missing:
        raise _fail(
            origin, f"{len(missing)} {schema.name} points are in no rule (list them as 'unlabeled'), e.g. {missing[:3]}"
        )
    return LandmarkMapping(schema, set_sizes, policy, tuple(points), tuple(polylines), unlabeled, data)


@cache
def _default() -> LandmarkMapping:
    path = resources.files(__package__) / "data" / DEFAULT_MAPPING_FILE
    return _parse(json.loads(path.read_text(encoding="utf-8")), f"sapiens_core/quick/data/{DEFAULT_MAPPING_FILE}")


def load_mapping(path: str | Path | None = None) -> LandmarkMapping:
    """The shipped table (cached) or the one at ``path``; raises ValueError naming the file and the problem."""
    if path is None:
        return _default()
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise _fail(str(p), f"cannot read the mapping table: {e}") from None
    return _parse(data, str(p))
