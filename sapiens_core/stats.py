"""What a project folder holds: images, persons, labelled points per body region, who made them, review
progress and how the part-map pixels divide among the classes. One document in memory at a time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .annotation import SOURCE_HUMAN, SOURCE_MODEL, layers
from .errors import SapiensError
from .project import Project, review_state
from .schema import DISPLAY_GROUPS, class_schema, keypoint_schema

__all__ = ["ProjectStats", "project_stats"]


@dataclass
class ProjectStats:
    images: int = 0
    persons: int = 0
    points_by_group: Counter = field(default_factory=Counter)  # labelled points per display group
    human_points: int = 0
    model_points: int = 0
    states: Counter = field(default_factory=Counter)  # ReviewState value -> documents
    class_pixels: dict[str, Counter] = field(default_factory=dict)  # class schema -> class name -> pixels
    problems: list[str] = field(default_factory=list)

    def class_shares(self, schema: str) -> dict[str, float]:
        counts = self.class_pixels.get(schema, Counter())
        total = sum(counts.values())
        return {name: n / total for name, n in counts.items()} if total else {}

    def to_text(self) -> str:
        lines = [
            f"images:   {self.images}",
            f"persons:  {self.persons}",
            f"reviewed: {self.states['reviewed']}   edited: {self.states['edited']}   "
            f"predicted: {self.states['predicted']}",
            f"labelled points: {self.human_points + self.model_points} "
            f"({self.human_points} by people, {self.model_points} by models)",
        ]
        lines += [f"  {group:<6} {self.points_by_group[group]}" for group in DISPLAY_GROUPS]
        for schema in sorted(self.class_pixels):
            lines.append(f"part-map pixels ({schema}):")
            shares = sorted(self.class_shares(schema).items(), key=lambda kv: -kv[1])
            lines += [f"  {name:<22} {share:7.2%}" for name, share in shares if share > 0]
        lines += [f"problem: {p}" for p in self.problems]
        return "\n".join(lines)


def project_stats(project: Project) -> ProjectStats:
    stats = ProjectStats()
    for path in project.document_paths():
        try:
            doc = project.load(path, layers=False)  # the part map alone is read below; depth is never needed
        except SapiensError as exc:
            stats.problems.append(str(exc))
            continue
        stats.images += 1
        stats.states[review_state(doc).value] += 1
        _count_points(stats, doc)
        if doc.class_schema and "part_map" in doc.side_files:
            try:
                _count_classes(stats, doc.class_schema, layers.read_class_png(doc.side_files["part_map"]))
            except (OSError, ValueError) as exc:
                stats.problems.append(f"{path}: part map: {exc}")
    return stats


def _count_points(stats: ProjectStats, doc) -> None:
    groups = None
    if doc.keypoint_schema:
        try:
            groups = np.asarray(keypoint_schema(doc.keypoint_schema).display_groups)
        except KeyError:
            groups = None
    for person in doc.persons:
        stats.persons += 1
        labelled = person.visibility > 0
        stats.human_points += int((labelled & (person.source == SOURCE_HUMAN)).sum())
        stats.model_points += int((labelled & (person.source == SOURCE_MODEL)).sum())
        if groups is not None and len(groups) == person.num_keypoints:
            stats.points_by_group.update(groups[labelled].tolist())


def _count_classes(stats: ProjectStats, schema_name: str, part_map: np.ndarray) -> None:
    try:
        names = class_schema(schema_name).names
    except KeyError:
        return
    counts = np.bincount(part_map.ravel(), minlength=256)
    target = stats.class_pixels.setdefault(schema_name, Counter())
    for class_id, name in enumerate(names):
        target[name] += int(counts[class_id])
