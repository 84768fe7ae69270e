"""One rank's loop: loader workers read -> the pipeline runs -> writer threads save, every stage overlapping.

Every input of the share ends in exactly one of: finished (its outputs written and listed in the COCO part),
skipped (``--resume`` found it finished), failed (unreadable, or its outputs could not be written: logged to the
failures file, the run goes on). A model error would fail every input alike, so it ends the run (exit 2).
Inputs finish in input order, which keeps the COCO part sorted for the merge.

Nothing is kept per image once it is finished: the pending writes and the loader's prefetch bound what is in
memory, whatever the number of images.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from ..boxes import BoxTable
from ..errors import SapiensError
from ..pipeline import DENSE_TASKS, Frame, Pipeline
from ..task_specs import SAPIENS2_ONLY_TASKS
from .loader import InputDataset, Loaded, make_loader, part_record
from .resume import Expected
from .shard import Rank
from .state import RunState
from .timing import Progress, StageTimes
from .writer import OutputWriter, write_outputs

__all__ = ["RunOptions", "RunResult", "run_share", "failure_line", "wants_v1_input"]


@dataclass
class RunOptions:
    out: Path
    overlay: bool = True
    kpt_threshold: float = 0.3
    overwrite: bool = False
    resume: bool = False
    batch_size: int = 1
    workers: int = 2  # loader processes; 0 reads in the main process
    writers: int = 2  # writer threads; 0 writes in the main thread
    input_root: str | None = None  # the folder every input of the whole run lies under (``resume.input_root``)


@dataclass
class RunResult:
    finished: int = 0
    skipped: int = 0
    failed: int = 0
    times: StageTimes = field(default_factory=StageTimes)


def failure_line(path: str, reason: str) -> str:
    """One stderr line naming the file once (image errors already start with the path)."""
    text = " ".join(str(reason).split())
    return f"failed: {text}" if text.startswith(str(path)) else f"failed: {path}: {text}"


def wants_v1_input(pipeline: Pipeline) -> bool:
    """Whether a v1 dense model runs: its bilinear 1024x768 input is then made in the loader workers."""
    return any(
        task not in SAPIENS2_ONLY_TASKS and getattr(model.backend, "family", "sapiens") != "sapiens2"
        for task, model in pipeline.models.items()
        if task in DENSE_TASKS
    )


def expected_outputs(pipeline: Pipeline, overlay: bool, root: str | None = None) -> Expected:
    return Expected({task: model.backend.path.name for task, model in pipeline.models.items()}, overlay, root)


def run_share(
    pipeline: Pipeline,
    paths: list[str],
    stems: list[str],
    indices: range,
    options: RunOptions,
    state: RunState,
    rank: Rank,
    boxes: BoxTable | None = None,
    stream=None,
) -> RunResult:
    """Process this rank's share (``paths[k]`` is input ``indices[k]`` of the whole list, written as ``stems[k]``)."""
    stream = stream or sys.stderr  # looked up now: a caller (or a test) may have replaced sys.stderr
    result = RunResult()
    times = result.times
    expected = expected_outputs(pipeline, options.overlay, options.input_root) if options.resume else None
    dataset = InputDataset(paths, stems, indices, options.out, expected, boxes, wants_v1_input(pipeline))
    on_cuda = any(getattr(m.backend, "device", "cpu") == "cuda" for m in pipeline.models.values())
    loader = make_loader(dataset, options.batch_size, options.workers, pin_memory=on_cuda)
    writer = OutputWriter(options.writers)
    bar = not rank.distributed and stream.isatty()
    progress = Progress(len(paths), rank.label, stream, bar=bar, folder=state.folder, rank=rank)
    pending: deque[tuple[Loaded, Future | None]] = deque()

    def write(doc, item: Loaded):
        with times.stage("write"):
            return write_outputs(
                doc, item.image, options.out, item.stem, options.overlay, options.kpt_threshold, options.overwrite
            )

    def finish(item: Loaded, future: Future | None) -> None:
        if item.status == "ok" and future is not None:
            try:
                doc = future.result()
            except (SapiensError, OSError) as exc:
                item.status, item.error = "failed", str(exc)
            else:
                state.finished(part_record(item.index, item.stem, os.path.abspath(item.path), doc.keypoint_schema))
                state.log("done", item.stem, item.path)
                result.finished += 1
        if item.status == "skip":
            state.finished(item.record)
            state.log("skip", item.stem, item.path)
            result.skipped += 1
        elif item.status == "failed":
            print(failure_line(item.path, item.error), file=stream)
            state.failed(item.path, item.error)
            result.failed += 1
        item.image = None
        progress.update()

    try:
        for batch in loader:
            items: list[Loaded] = batch["items"]
            for item in items:
                for stage, seconds in item.times.items():
                    times.add(stage, seconds)
            ready = [item for item in items if item.status == "ok"]
            docs = iter(())
            if ready:
                frames = [Frame(item.image, item.path, item.boxes) for item in ready]
                prepared = {"v1": batch["v1"]} if batch["v1"] is not None else None
                with times.stage("forward"):
                    docs = iter(pipeline.run(frames, prepared=prepared))
                for item in ready:
                    state.log("forward", item.stem, item.path)
            for item in items:
                pending.append((item, writer.submit(write, next(docs), item) if item.status == "ok" else None))
            while len(pending) > writer.max_pending:
                finish(*pending.popleft())
        while pending:
            finish(*pending.popleft())
    finally:
        writer.close()
        progress.close()
        times.stop()
    return result
