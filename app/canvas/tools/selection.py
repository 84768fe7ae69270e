"""Which keypoints (and which person) the user selected: transient view state, never part of the document."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class Selection(QObject):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.points: dict[int, set[int]] = {}  # person id -> keypoint indices
        self.person: int | None = None  # the person the next person-level command acts on

    def set(self, points: dict[int, set[int]], person: int | None = None) -> None:
        self.points = {pid: set(idx) for pid, idx in points.items() if idx}
        self.person = person if person is not None else next(iter(self.points), None)
        self.changed.emit()

    def toggle(self, pid: int, index: int) -> None:
        mine = self.points.setdefault(pid, set())
        mine.symmetric_difference_update({index})
        if not mine:
            del self.points[pid]
        self.person = pid
        self.changed.emit()

    def select_person(self, pid: int | None) -> None:
        self.points, self.person = {}, pid
        self.changed.emit()

    def clear(self) -> None:
        if self.points or self.person is not None:
            self.points, self.person = {}, None
            self.changed.emit()

    def contains(self, pid: int, index: int) -> bool:
        return index in self.points.get(pid, ())

    def __bool__(self) -> bool:
        return bool(self.points)

    def forget_missing(self, person_ids: set[int]) -> None:
        """Drop persons that no longer exist (deleted, renumbered, undone)."""
        points = {pid: idx for pid, idx in self.points.items() if pid in person_ids}
        person = self.person if self.person in person_ids else None
        if points != self.points or person != self.person:
            self.points, self.person = points, person
            self.changed.emit()
