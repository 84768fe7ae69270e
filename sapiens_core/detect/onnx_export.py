"""Export our RTMDet to ONNX: the raw per-level maps, so decoding and filtering stay ours (one code path).

Outputs ``cls_8, reg_8, cls_16, reg_16, cls_32, reg_32`` (logits, and ltrb distances in input pixels), input
``input`` (B, 3, 640, 640) normalised BGR with a dynamic batch. :class:`.onnx_detector.OnnxDetector` reads it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from ..io.atomic import atomic_path
from .preprocess import INPUT_SIZE
from .rtmdet import RTMDet

OPSET = 17


def output_names(model: RTMDet) -> list[str]:
    return [f"{kind}_{stride}" for stride in model.strides for kind in ("cls", "reg")]


def export_rtmdet_onnx(model: RTMDet, path: str | Path, input_size: int = INPUT_SIZE) -> Path:
    path = Path(path)
    names = output_names(model)
    model = model.eval().cpu()
    example = torch.zeros(1, 3, input_size, input_size)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter warns about things irrelevant here
        torch.onnx.export(
            model,
            (example,),
            str(tmp),
            dynamo=False,  # seconds faster than the dynamo exporter for the same graph
            input_names=["input"],
            output_names=names,
            dynamic_axes={"input": {0: "batch"}, **{name: {0: "batch"} for name in names}},
            opset_version=OPSET,
        )
    return path
