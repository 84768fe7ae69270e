"""One interface for every source of person boxes, and the RTMDet detector in PyTorch behind it.

A detector takes an RGB uint8 image and returns (N, 5) float32 boxes ``x1, y1, x2, y2, score`` in image pixels,
best first. ``foreground`` is the person mask of the same frame when a seg model ran; detectors that look at the
pixels ignore it, the mask detector (:mod:`.from_mask`) needs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from ..backends.device import resolve_device
from .decode import decode_levels
from .postfilter import PersonFilter
from .preprocess import letterbox
from .rtmdet import RTMDet, load_rtmdet


@runtime_checkable
class PersonDetector(Protocol):
    name: str  # what the logs and the document's provenance call it

    def detect(self, image: np.ndarray, foreground: np.ndarray | None = None) -> np.ndarray:
        """(N, 5) float32 xyxy + score for an (H, W, 3) uint8 RGB image."""
        ...

    def describe(self) -> dict:
        """JSON-ready provenance: which detector, which file, which thresholds."""
        ...

    def close(self) -> None: ...


def filter_settings(person_filter: PersonFilter) -> dict:
    return {
        "score_threshold": person_filter.score_threshold,
        "nms_threshold": person_filter.nms_threshold,
        "max_persons": person_filter.max_persons,
    }


class RTMDetDetector:
    """RTMDet in PyTorch: letterbox (spec §4), forward, decode (§5), then the Sapiens filter (§6)."""

    def __init__(
        self,
        model: RTMDet,
        person_filter: PersonFilter | None = None,
        device: str = "cpu",
        source: str = "rtmdet",
    ) -> None:
        self.device = device
        self.model = model.to(device).eval()
        self.filter = person_filter or PersonFilter()
        self.name = f"RTMDet-{model.size} ({source})"
        self.source = source

    @classmethod
    def from_checkpoint(
        cls, path: str | Path, person_filter: PersonFilter | None = None, device: str = "auto"
    ) -> RTMDetDetector:
        model, _meta = load_rtmdet(path)
        return cls(model, person_filter, resolve_device(device), Path(path).name)

    def raw(self, image: np.ndarray):
        """The letterboxed input and the per-level head outputs as numpy (for checks against other runtimes)."""
        boxed = letterbox(image)
        with torch.inference_mode():
            outputs = self.model(torch.from_numpy(boxed.tensor[None]).to(self.device))
        maps = [t[0].float().cpu().numpy() for t in outputs]
        return boxed, list(zip(maps[0::2], maps[1::2]))

    def detect(self, image: np.ndarray, foreground: np.ndarray | None = None) -> np.ndarray:
        boxed, levels = self.raw(image)
        size = boxed.tensor.shape[2], boxed.tensor.shape[1]
        detections = decode_levels(levels, self.model.strides, size, boxed.scale)
        return self.filter.apply(detections, image.shape[1], image.shape[0])

    def describe(self) -> dict:
        return {"detector": f"rtmdet-{self.model.size}", "file": self.source, **filter_settings(self.filter)}

    def close(self) -> None:
        self.model = None
