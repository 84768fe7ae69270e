"""Where a run's time goes: each stage's busy time, the wall time, and how much the stages overlapped.

Stages run in different places (decode and preprocess in loader workers, forward in the main thread, write on the
writer threads), so their times add up to more than the wall time when the pipeline overlaps them: the overlap
ratio (sum of stage times / wall time) is 1 for a strictly sequential run and approaches the number of busy
stages when every stage runs all the time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .progress_files import RankProgressFile, read_launch_progress
from .shard import Rank

__all__ = ["StageTimes", "Progress", "STAGES"]

STAGES = ("check", "decode", "preprocess", "forward", "write")


class StageTimes:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self._start = time.perf_counter()
        self.wall = 0.0

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def stop(self) -> float:
        self.wall = time.perf_counter() - self._start
        return self.wall

    @property
    def overlap(self) -> float:
        return sum(self.seconds.values()) / self.wall if self.wall > 0 else 0.0

    def summary(self, label: str, images: int) -> str:
        """One line: throughput, each stage's seconds, wall time and overlap."""
        rate = images / self.wall if self.wall > 0 else 0.0
        stages = ", ".join(f"{name} {sec:.1f} s" for name, sec in self.seconds.items() if sec > 0)
        return (
            f"{label}: {images} images in {self.wall:.1f} s ({rate:.2f} images/s); "
            f"stages: {stages or 'none'}; overlap {self.overlap:.2f} (stage time / wall time)"
        )


class Progress:
    """Images done, images/s and ETA of one rank: a tqdm bar on a terminal, else a line every ``every_s`` seconds
    (logs of batch jobs, and several ranks sharing one terminal, where bars would overwrite each other).

    In a distributed run (``rank`` of a world over 1, ``folder`` the run's bookkeeping folder) every rank also
    publishes its count (:mod:`.progress_files`), and rank 0 follows each of its lines with the launch's total.
    """

    def __init__(
        self,
        total: int,
        label: str,
        stream,
        bar: bool,
        every_s: float = 30.0,
        folder: Path | None = None,
        rank: Rank | None = None,
        write_s: float = 5.0,
    ) -> None:
        self.total, self.label, self.stream, self.every_s = total, label, stream, every_s
        self.done = 0
        self._start = self._last = time.perf_counter()
        self._bar = None
        self._shared = None
        self._world = 0  # ranks to sum on this rank (rank 0 of a distributed run), else 0
        if folder is not None and rank is not None and rank.distributed:
            self._shared = RankProgressFile(folder, rank.rank, total, write_s)
            self._shared.publish(0, force=True)  # this launch's file from the start, not an earlier launch's
            self._world = rank.world if rank.rank == 0 else 0
            self._folder = Path(folder)
        if bar:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="img", file=stream, disable=None, desc=label)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._shared is not None:
            self._shared.publish(self.done)
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.perf_counter()
        if now - self._last >= self.every_s:
            self._last = now
            print(self.line(now), file=self.stream, flush=True)
            if self._world:
                print(read_launch_progress(self._folder, self._world).line(), file=self.stream, flush=True)

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.perf_counter()) - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = f"{left / 60:.1f} min" if left != float("inf") else "unknown"
        return f"{self.label}: {self.done}/{self.total} images, {rate:.2f} images/s, ETA {eta}"

    def close(self) -> None:
        if self._shared is not None:
            self._shared.publish(self.done, force=True)
        if self._bar is not None:
            self._bar.close()
