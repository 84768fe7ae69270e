"""The bookkeeping a predict run keeps in its output folder, under ``OUT/.sapiens_predict/`` (hidden, so a folder
scan of OUT never takes it for images):

- ``coco-part-RRRRR.jsonl``: one line per finished image of rank R (its global index, stem, document and image
  path, keypoint set), written as each image finishes, so ``merge`` can build ``coco.json`` from a run that was
  cut short. Rewritten by every attempt (a resumed rank lists the images it skipped as finished too).
- ``failures-RRRRR.txt``: ``PATH<TAB>reason`` per input that failed in this attempt.
- ``log-RRRRR.txt``: appended by every attempt, one line per event and image: ``forward``, ``done``, ``skip``
  (finished by an earlier attempt), ``failed``; what a user reads to see what happened to one image.
- ``progress-RRRRR.json``: rank R's images done and share size, replaced every few seconds in a distributed run;
  rank 0 sums them into the launch's total (:mod:`.progress_files`).
- ``run.json``: the options ``merge`` needs (the keypoint score threshold), written by rank 0.

Every line is written with one ``write`` and flushed, so a killed process leaves at most its last line cut short,
and readers skip such a line.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from ..io.atomic import atomic_write_text, remove_stale_temps
from .shard import Rank

__all__ = ["STATE_DIR", "RunState", "iter_json_lines"]

STATE_DIR = ".sapiens_predict"
_RANKED = re.compile(r"^(coco-part|failures|log|progress)-(\d{5})\.(jsonl|txt|json)$")


class RunState:
    def __init__(self, out: Path, rank: Rank) -> None:
        self.out = Path(out)
        self.folder = self.out / STATE_DIR
        self.rank = rank
        self._part: TextIO | None = None
        self._failures: TextIO | None = None
        self._log: TextIO | None = None

    def path(self, kind: str, rank: int | None = None) -> Path:
        suffix = "jsonl" if kind == "coco-part" else "txt"
        return self.folder / f"{kind}-{self.rank.rank if rank is None else rank:05d}.{suffix}"

    def start(self, settings: dict, started: float) -> None:
        """Open this rank's files for a new attempt; rank 0 also clears what a killed run or a larger launch left
        (temporary files last touched before ``started``, the time this run began)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.rank.rank == 0:
            for folder in (self.out, self.folder):
                remove_stale_temps(folder, before=started)
            for entry in os.scandir(self.folder):
                match = _RANKED.match(entry.name)
                # Parts of ranks this launch does not have (the last one had more processes) would be merged as
                # current; the images they list are checked and listed again by the ranks that now own them.
                if match and match.group(1) != "log" and int(match.group(2)) >= self.rank.world:
                    os.unlink(entry.path)
            atomic_write_text(self.folder / "run.json", json.dumps({**settings, "world_size": self.rank.world}) + "\n")
        self._part = open(self.path("coco-part"), "w", encoding="utf-8")
        self._failures = open(self.path("failures"), "w", encoding="utf-8")
        self._log = open(self.path("log"), "a", encoding="utf-8")

    @staticmethod
    def _line(handle: TextIO | None, text: str) -> None:
        if handle is not None:
            handle.write(text + "\n")
            handle.flush()

    def finished(self, record: dict) -> None:
        self._line(self._part, json.dumps(record, separators=(",", ":")))

    def failed(self, path: str, reason: str) -> None:
        reason = " ".join(reason.split())
        self._line(self._failures, f"{path}\t{reason}")
        self.log("failed", path)

    def log(self, event: str, *fields: str) -> None:
        self._line(self._log, "\t".join((event, *fields)))

    def close(self) -> None:
        for handle in (self._part, self._failures, self._log):
            if handle is not None:
                handle.close()
        self._part = self._failures = self._log = None


def iter_json_lines(path: Path, bad: list[int]) -> Iterator[dict]:
    """The records of a JSON-lines file, lazily; ``bad[0]`` counts unreadable lines (one cut short by a kill)."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                record = None
            if isinstance(record, dict):
                yield record
            else:
                bad[0] += 1
