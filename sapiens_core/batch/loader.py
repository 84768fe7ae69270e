"""Decode and preprocess in ``torch.utils.data.DataLoader`` worker processes, so reading JPEGs overlaps the forward.

Each item is checked (``--resume``: a finished output set is skipped without opening the image), read, given its
boxes, and, when the pipeline has a v1 dense model, resized and normalised to the network input there. The
collate function stacks those inputs into one (B, 3, H, W) tensor, which the DataLoader pins on CUDA so the
backend's copy to the device is asynchronous (``non_blocking``). Items that fail or are skipped travel with the
batch in order, so the main loop finishes every input in input order.

Workers get the per-rank lists of paths and stems (strings, not objects per image) and use one thread each:
the model already uses the cores, and n workers x n OpenMP threads would oversubscribe them.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..boxes import BoxTable
from ..errors import SapiensError
from ..io.images import read_image
from ..task_specs import INPUT_SIZE
from .resume import Expected, finished_document, moved, relocate_document

__all__ = ["Loaded", "InputDataset", "make_loader", "part_record"]


@dataclass
class Loaded:
    index: int  # in the whole (all ranks) input list
    path: str
    stem: str
    status: str = "ok"  # "ok" | "skip" (finished by an earlier attempt) | "failed"
    image: np.ndarray | None = None
    boxes: np.ndarray | None = None
    v1: torch.Tensor | None = None  # (3, H, W) float32 network input of the v1 dense models, until collated
    record: dict | None = None  # the COCO part record of a skipped item
    error: str = ""
    times: dict = field(default_factory=dict)

    # A worker sends its items to the main process pickled. A numpy image would travel as bytes: the pickle and
    # the copy made from it add two images to the main process at the peak (2.4 GB for a 400 MP scan). As a tensor
    # it travels in shared memory (torch's reducers for multiprocessing), and the main process maps it: no copy.
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if isinstance(self.image, np.ndarray):
            state["image"] = torch.from_numpy(self.image)
        return state

    def __setstate__(self, state: dict) -> None:
        if isinstance(state.get("image"), torch.Tensor):
            state["image"] = state["image"].numpy()
        self.__dict__.update(state)


def part_record(index: int, stem: str, image_path: str, keypoint_schema: str | None) -> dict:
    """What ``merge`` needs of one finished image: where its document is, and which keypoint set it holds."""
    return {"index": index, "stem": stem, "doc": f"{stem}.json", "image": image_path, "kps": keypoint_schema}


class InputDataset(Dataset):
    def __init__(
        self,
        paths: list[str],
        stems: list[str],
        indices: range,
        out: Path,
        expected: Expected | None = None,
        boxes: BoxTable | None = None,
        v1_input: bool = False,
    ) -> None:
        self.paths, self.stems, self.indices = paths, stems, indices
        self.out, self.expected, self.boxes, self.v1_input = out, expected, boxes, v1_input

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, k: int) -> Loaded:
        item = Loaded(self.indices[k], self.paths[k], self.stems[k])
        start = time.perf_counter()
        if self.expected is not None:
            doc = finished_document(self.out, item.stem, item.path, self.expected)
            if doc is not None and moved(doc, item.path):
                try:
                    doc = relocate_document(self.out / f"{item.stem}.json", item.path)
                except (SapiensError, OSError, ValueError):
                    doc = None  # it cannot be re-pointed: redo it, as any unfinished image
            item.times["check"] = time.perf_counter() - start
            if doc is not None:
                item.status = "skip"
                item.record = part_record(item.index, item.stem, doc.image_path, doc.keypoint_schema)
                return item
        start = time.perf_counter()
        try:
            item.image = read_image(item.path)
            item.boxes = self.boxes.lookup(item.path) if self.boxes is not None else None
        except SapiensError as exc:
            item.status, item.error = "failed", str(exc)
            return item
        finally:
            item.times["decode"] = time.perf_counter() - start
        if self.v1_input:
            from .. import tasks as T

            start = time.perf_counter()
            item.v1 = torch.from_numpy(T.normalize([T.resize_for_model(item.image, INPUT_SIZE)])[0])
            item.times["preprocess"] = time.perf_counter() - start
        return item


def collate(items: list[Loaded]) -> dict:
    """The batch in order, with the v1 inputs of its readable items stacked into one tensor (pinned on CUDA)."""
    inputs = [it.v1 for it in items if it.status == "ok" and it.v1 is not None]
    for it in items:
        it.v1 = None  # the stacked copy is the only one kept
    return {"items": items, "v1": torch.stack(inputs) if inputs else None}


def _init_worker(_: int) -> None:
    import cv2

    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def _worker_context():
    """Workers start from a fresh server process (forkserver) where there is one, not from a fork of this process:
    a fork inherits OpenCV's and OpenMP's thread pools without their threads, and the first call that touches them
    in the child hangs. The server imports this module once; each worker is then a cheap fork of it."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def make_loader(dataset: InputDataset, batch_size: int, workers: int, pin_memory: bool) -> DataLoader:
    """``workers`` = 0 reads in the main process (the sequential baseline); otherwise each worker keeps two batches
    ready (``prefetch_factor``), which bounds memory whatever the dataset size."""
    if workers < 0:
        raise SapiensError("--workers must be 0 or more")
    return DataLoader(
        dataset,
        multiprocessing_context=_worker_context() if workers else None,
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=collate,
        pin_memory=pin_memory,
        prefetch_factor=2 if workers else None,
        worker_init_fn=_init_worker if workers else None,
    )
