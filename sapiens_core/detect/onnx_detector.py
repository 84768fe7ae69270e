"""Person detectors in ONNX, run by ONNX Runtime, behind the same interface as the PyTorch RTMDet.

Accepted output layouts (told apart by the outputs' ranks and shapes, names only break ties):

* **RTMDet maps** (what :func:`.onnx_export.export_rtmdet_onnx` writes): per stride, a class-logit map
  (B, C, H, W) and an ltrb distance map (B, 4, H, W) already in input pixels (exp and stride applied). Outputs
  whose names start with ``cls``/``reg`` are taken by name, others by channel count. Decoded as spec §5.
* **Decoded detections** (mmdeploy's end2end export, rtmlib's RTMDet/YOLOX files): ``dets`` (B, N, 5) as
  x1, y1, x2, y2, score in input pixels, and optionally ``labels`` (B, N); without labels every box is a person.
* **YOLOX raw grid** (YOLOX's own export without decoding): one (B, N, 5 + C) output of cx, cy, log w, log h
  (grid units), objectness and class scores after sigmoid, N = the 8/16/32-stride grid points; score =
  objectness x person score.

Input: keep-ratio letterbox padded with 114 (spec §4), BGR; normalised with RTMDet's mean/std, except for the
YOLOX grid layout, whose models take raw 0..255 pixels (``normalize`` overrides the guess). Then the Sapiens
filter (spec §6) as for every detector.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..backends.device import normalize_device
from ..errors import BackendError, CheckpointError
from .decode import Detections, decode_levels, finish
from .detector import filter_settings
from .postfilter import PersonFilter
from .preprocess import BGR_MEAN, BGR_STD, INPUT_SIZE, letterbox

LAYOUTS = ("rtmdet-maps", "dets", "yolox-grid")
_STRIDES = (8, 16, 32)


def _open_session(path: Path, device: str):
    try:
        import onnxruntime as ort
    except ImportError:
        raise BackendError("onnxruntime is not installed, so ONNX detectors cannot run") from None
    ort.set_default_logger_severity(4)
    wanted = normalize_device(device)
    available = ort.get_available_providers()
    if wanted == "cuda" and "CUDAExecutionProvider" not in available:
        raise BackendError(f"cannot run {path.name} on CUDA: this onnxruntime build has no CUDA provider")
    providers = ["CPUExecutionProvider"]
    if wanted != "cpu" and "CUDAExecutionProvider" in available:
        providers.insert(0, "CUDAExecutionProvider")
    try:
        return ort.InferenceSession(str(path), providers=providers)
    except Exception as error:
        text = str(error).strip().splitlines()
        raise CheckpointError(
            f"{path.name} could not be opened by ONNX Runtime ({text[0][:160] if text else type(error).__name__})"
        ) from None


def _grid_points(width: int, height: int) -> int:
    return sum((width // s) * (height // s) for s in _STRIDES)


class OnnxDetector:
    def __init__(
        self,
        path: str | Path,
        person_filter: PersonFilter | None = None,
        device: str = "auto",
        normalize: bool | None = None,
    ) -> None:
        self.path = Path(path)
        self.filter = person_filter or PersonFilter()
        self._session = _open_session(self.path, device)
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise CheckpointError(f"{self.path.name} is not an image detector: expected one (B, 3, H, W) input")
        self._input_name = inputs[0].name
        h, w = inputs[0].shape[2:]
        self.input_size = (w if isinstance(w, int) else INPUT_SIZE, h if isinstance(h, int) else INPUT_SIZE)
        self._outputs = [o.name for o in self._session.get_outputs()]
        outputs = self._session.get_outputs()
        yolox = any(len(o.shape) == 3 and isinstance(o.shape[2], int) and o.shape[2] >= 6 for o in outputs)
        self.normalize = (not yolox) if normalize is None else normalize
        self.provider = f"onnxruntime {self._session.get_providers()[0]}"
        self.name = f"ONNX detector ({self.path.name})"
        self.layout: str | None = None  # known after the first image

    def detect(self, image: np.ndarray, foreground: np.ndarray | None = None) -> np.ndarray:
        if self._session is None:
            raise BackendError(f"{self.path.name} was closed")
        mean, std = (BGR_MEAN, BGR_STD) if self.normalize else (None, None)
        boxed = letterbox(image, self.input_size, mean, std)
        try:
            arrays = self._session.run(None, {self._input_name: boxed.tensor[None]})
        except Exception as error:
            text = str(error).strip().splitlines()
            raise BackendError(f"{self.path.name} failed ({text[0][:200] if text else type(error).__name__})") from None
        detections = self._decode(dict(zip(self._outputs, arrays)), boxed.scale)
        return self.filter.apply(detections, image.shape[1], image.shape[0])

    def _decode(self, outputs: dict[str, np.ndarray], scale: tuple[float, float]) -> Detections:
        ranks = [a.ndim for a in outputs.values()]
        if all(r == 4 for r in ranks) and len(ranks) >= 2 and len(ranks) % 2 == 0:
            self.layout = "rtmdet-maps"
            levels, strides = self._levels(outputs)
            return decode_levels(levels, strides, self.input_size, scale)
        dets = [a for a in outputs.values() if a.ndim == 3 and a.shape[2] == 5]
        if dets:
            self.layout = "dets"
            labels = [a for a in outputs.values() if a.ndim == 2 and a.shape == dets[0].shape[:2]]
            label = labels[0][0].astype(np.int64) if labels else np.zeros(dets[0].shape[1], np.int64)
            return finish(dets[0][0, :, :4], dets[0][0, :, 4], label, self.input_size, scale, len(label))
        grid = [a for a in outputs.values() if a.ndim == 3 and a.shape[2] >= 6]
        if len(grid) == 1 and grid[0].shape[1] == _grid_points(*self.input_size):
            self.layout = "yolox-grid"
            return self._yolox(grid[0][0], scale)
        shapes = ", ".join(f"{n}{list(a.shape)}" for n, a in outputs.items())
        raise CheckpointError(f"{self.path.name}: outputs {shapes} are none of the detector layouts {LAYOUTS}")

    def _levels(self, outputs: dict[str, np.ndarray]):
        named = {n: a[0] for n, a in outputs.items()}
        by_name = all(n.startswith(("cls", "reg")) for n in named)
        cls = [a for n, a in named.items() if (n.startswith("cls") if by_name else a.shape[0] != 4)]
        reg = [a for n, a in named.items() if (n.startswith("reg") if by_name else a.shape[0] == 4)]
        if len(cls) != len(reg):  # a 4-class model: both are 4 channels; take the export's order cls, reg per level
            maps = list(named.values())
            cls, reg = maps[0::2], maps[1::2]
        cls.sort(key=lambda a: -a.shape[1])
        reg.sort(key=lambda a: -a.shape[1])
        strides = tuple(self.input_size[1] // a.shape[1] for a in cls)
        return list(zip(cls, reg)), strides

    def _yolox(self, rows: np.ndarray, scale: tuple[float, float]) -> Detections:
        width, height = self.input_size
        grids, strides = [], []
        for s in _STRIDES:
            ys, xs = np.meshgrid(np.arange(height // s), np.arange(width // s), indexing="ij")
            grids.append(np.stack([xs.ravel(), ys.ravel()], 1))
            strides.append(np.full(len(grids[-1]), s))
        grid, stride = np.concatenate(grids).astype(np.float32), np.concatenate(strides)[:, None].astype(np.float32)
        centre = (rows[:, :2] + grid) * stride
        size = np.exp(rows[:, 2:4]) * stride
        boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
        scores = rows[:, 4] * rows[:, 5]
        keep = scores > 0.05  # the decoded layouts arrive thresholded; bound the NMS work the same way here
        return finish(boxes[keep], scores[keep], np.zeros(int(keep.sum()), np.int64), self.input_size, scale, 100)

    def describe(self) -> dict:
        return {"detector": "onnx", "file": self.path.name, "layout": self.layout, **filter_settings(self.filter)}

    def close(self) -> None:
        self._session = None
