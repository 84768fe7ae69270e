"""Progress of the whole launch: each rank publishes its count in a small file, rank 0 sums them.

Under ``torchrun`` every rank knows only its own share. Each one replaces ``OUT/.sapiens_predict/
progress-RRRRR.json`` (images done, its share's size, when it started and last wrote) atomically, at its start,
every few seconds and at its end; rank 0 reads the files of this launch's ranks and prints the total (images
done / total, images/s, ETA). Files rather than a collective on the process group: a fast rank never waits for a
slow one to report, a rank still loading its models simply counts as not started, and anyone can read the files
of a running launch. The sum is of what each rank last wrote, so it lags by up to ``write_s``.

A file is this launch's once its rank has started (each rank writes one first thing); until then rank 0 may
read a file that an earlier launch left, which only shows an older count for that rank for a moment.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from ..io.atomic import atomic_write_text

__all__ = ["RankProgressFile", "LaunchProgress", "read_launch_progress", "PROGRESS_PREFIX"]

PROGRESS_PREFIX = "progress"


def _path(folder: Path, rank: int) -> Path:
    return folder / f"{PROGRESS_PREFIX}-{rank:05d}.json"


class RankProgressFile:
    """This rank's file; ``publish`` writes at most every ``write_s`` seconds unless ``force``."""

    def __init__(self, folder: Path, rank: int, total: int, write_s: float = 5.0) -> None:
        self.path = _path(Path(folder), rank)
        self.total, self.write_s = total, write_s
        self.started = time.time()
        self._written = float("-inf")

    def publish(self, done: int, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._written < self.write_s:
            return
        self._written = now
        record = {"done": done, "total": self.total, "started": self.started, "updated": now}
        try:
            atomic_write_text(self.path, json.dumps(record) + "\n")
        except OSError:
            pass  # progress is for people to read: a full disk must not stop the run here (the outputs will say)


@dataclass(frozen=True)
class LaunchProgress:
    done: int
    total: int
    ranks: int  # ranks whose file was read
    world: int
    seconds: float  # from the earliest start to the latest write

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        rate = self.rate
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = f"{left / 60:.1f} min" if left != float("inf") else "unknown"
        reporting = "" if self.ranks == self.world else f", {self.ranks} of {self.world} ranks reporting"
        return f"total ({self.world} ranks): {self.done}/{self.total} images, {rate:.2f} images/s, ETA {eta}{reporting}"


def read_launch_progress(folder: Path, world: int) -> LaunchProgress:
    """The sum over ranks ``0 .. world-1`` of what their files say (missing or unreadable files count as none)."""
    records = []
    for rank in range(world):
        try:
            record = json.loads(_path(Path(folder), rank).read_text(encoding="utf-8"))
            records.append((int(record["done"]), int(record["total"]), float(record["started"]), record["updated"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    if not records:
        return LaunchProgress(0, 0, 0, world, 0.0)
    seconds = max(float(r[3]) for r in records) - min(r[2] for r in records)
    return LaunchProgress(sum(r[0] for r in records), sum(r[1] for r in records), len(records), world, seconds)
