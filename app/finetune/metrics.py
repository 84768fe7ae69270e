"""Reading a run's ``metrics.jsonl`` while the trainer is still writing it (no Qt).

The trainer appends one JSON object per line: ``{"step", "loss", "lr", ...}`` for a training step and
``{"step", "eval": {name: value}}`` for an evaluation. A poll may land in the middle of a line being written, so
only complete lines are parsed and the rest waits for the next poll. A resumed run appends to the same file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

METRICS_NAME = "metrics.jsonl"


class MetricsReader:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.offset = 0
        self._partial = b""

    def read_new(self) -> list[dict]:
        """Records appended since the last call; a file that shrank (a new run in the folder) is read again."""
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        if size < self.offset:
            self.offset, self._partial = 0, b""
        if size == self.offset:
            return []
        with self.path.open("rb") as f:
            f.seek(self.offset)
            chunk = f.read(size - self.offset)
        self.offset += len(chunk)
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")  # the last piece is "" or a line still being written
        records = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a damaged line is skipped rather than stopping the curves
            if isinstance(record, dict):
                records.append(record)
        return records


@dataclass
class Curves:
    """The series a run's plots show: loss per step and each eval metric per step."""

    steps: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    evals: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)  # name -> (steps, values)

    def add(self, records: list[dict]) -> bool:
        """Take in records; True when any series changed."""
        changed = False
        for r in records:
            step = r.get("step")
            if not isinstance(step, (int, float)):
                continue
            loss = r.get("loss")
            if isinstance(loss, (int, float)) and math.isfinite(loss):
                self.steps.append(float(step))
                self.losses.append(float(loss))
                changed = True
            evaluation = r.get("eval")
            if isinstance(evaluation, dict):
                for name, value in evaluation.items():
                    if isinstance(value, (int, float)) and math.isfinite(value):
                        xs, ys = self.evals.setdefault(name, ([], []))
                        xs.append(float(step))
                        ys.append(float(value))
                        changed = True
        return changed
