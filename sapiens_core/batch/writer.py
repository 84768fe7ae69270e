"""Writing an image's outputs (document, colour map, overlay) on a background thread pool, so PNG encoding and
overlay rendering overlap the next forward. OpenCV, numpy and zlib release the GIL, so threads are enough.

At most ``2 x threads`` writes are pending at any time (the runner waits for the oldest first), which bounds the
images held in memory whatever the dataset size. ``threads`` = 0 writes in the calling thread (sequential).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..annotation import Annotation
from ..annotation.relabel import relabel
from ..export.masks import write_part_map_color
from ..io.atomic import atomic_path
from ..render.overlay import render_overlay
from ..schema import class_schema, keypoint_schema

__all__ = ["write_outputs", "OutputWriter"]


def write_outputs(
    doc: Annotation, image: np.ndarray, out_dir: Path, stem: str, overlay: bool, kpt_threshold: float, overwrite: bool
) -> Annotation:
    """Save ``doc`` (merged into an existing document unless ``overwrite``) and its renders; returns what was saved.

    The document goes first and the renders after it: ``--resume`` counts an output set as finished only when
    the renders exist too, so a process killed in between redoes the image.
    """
    doc = relabel(out_dir / f"{stem}.json", doc, overwrite)
    doc.save(out_dir / f"{stem}.json")  # and its side files STEM_seg.png, STEM_fg.png, STEM_depth.npy, STEM_normal.npy
    if doc.part_map is not None and doc.class_schema:
        write_part_map_color(out_dir / f"{stem}_seg_color.png", doc.part_map, class_schema(doc.class_schema))
    if overlay:
        import cv2  # only needed for this write

        kp = keypoint_schema(doc.keypoint_schema) if doc.keypoint_schema else None
        cs = class_schema(doc.class_schema) if doc.class_schema else None
        rgb = render_overlay(image, doc, keypoint_schema=kp, class_schema=cs, kpt_threshold=kpt_threshold)
        with atomic_path(out_dir / f"{stem}_overlay.png") as tmp:
            if not cv2.imwrite(str(tmp), rgb[..., ::-1]):
                raise OSError(f"could not write {out_dir / f'{stem}_overlay.png'}")
    return doc


class OutputWriter:
    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.max_pending = max(1, 2 * threads)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="predict-write") if threads > 0 else None

    def submit(self, fn, *args) -> Future:
        if self._pool is not None:
            return self._pool.submit(fn, *args)
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # delivered where the result is read, as the pool would
            future.set_exception(exc)
        return future

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
