"""Person detectors for tests (not a test module): RTMDet-m with random weights in the official file layout, and
ONNX detectors with fixed outputs in each layout the app reads, built with onnx.helper (no export needed).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper

from sapiens_core.detect import RTMDet, build_rtmdet

OFFICIAL_NAME = "rtmdet_m_8xb32-100e_coco-obj365-person-235e8209.pth"


def random_rtmdet(seed: int = 0, num_classes: int = 1) -> RTMDet:
    """RTMDet-m with random weights and BN statistics (so a load that skipped a buffer would show)."""
    torch.manual_seed(seed)
    model = build_rtmdet("m", num_classes)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.1, 0.1)
                module.num_batches_tracked.fill_(1234)
    return model.eval()


def official_meta() -> dict:
    """What mmengine's save_checkpoint leaves after OpenMMLab's publish script: builtins only (spec §3.1)."""
    return {
        "epoch": 100,
        "iter": 123456,
        "cfg": "model = dict(type='RTMDet', bbox_head=dict(type='RTMDetSepBNHead', num_classes=1))",
        "seed": 0,
        "experiment_name": "rtmdet_m_8xb32-100e_coco-obj365-person",
        "time": "20230315_000000",
        "mmengine_version": "0.6.0",
        "dataset_meta": {"classes": ("person",), "palette": [(220, 20, 60)]},
    }


def save_official_pth(state_dict: dict, path: str | os.PathLike) -> Path:
    """``{"meta", "state_dict"}`` in the legacy (non-zip) torch format, as the publish script writes it."""
    path = Path(path)
    torch.save({"meta": official_meta(), "state_dict": state_dict}, path, _use_new_zipfile_serialization=False)
    return path


def _constant_model(path: Path, outputs: dict[str, np.ndarray], input_size: int) -> Path:
    """An ONNX model with one image input whose outputs are fixed arrays (the input is read, then ignored)."""
    image = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, input_size, input_size])
    nodes = [helper.make_node("ReduceMax", ["input"], ["peak"], keepdims=0)]  # uses the input: no dangling graph
    graph_outputs = []
    for name, value in outputs.items():
        dtype = helper.np_dtype_to_tensor_dtype(value.dtype)
        nodes.append(
            helper.make_node(
                "Constant", [], [name], value=helper.make_tensor(f"{name}_value", dtype, value.shape, value.ravel())
            )
        )
        graph_outputs.append(helper.make_tensor_value_info(name, dtype, list(value.shape)))
    graph_outputs.append(helper.make_tensor_value_info("peak", TensorProto.FLOAT, []))
    graph = helper.make_graph(nodes, "fixed_detector", [image], graph_outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)


def dets_onnx(path: str | os.PathLike, dets, labels=None, input_size: int = 640) -> Path:
    """mmdeploy end2end layout: ``dets`` (1, N, 5) in network-input pixels, optional ``labels`` (1, N)."""
    outputs = {"dets": np.asarray(dets, np.float32).reshape(1, -1, 5)}
    if labels is not None:
        outputs["labels"] = np.asarray(labels, np.int64).reshape(1, -1)
    return _constant_model(Path(path), outputs, input_size)


def yolox_onnx(path: str | os.PathLike, rows: np.ndarray, input_size: int = 640) -> Path:
    """YOLOX's raw grid layout: (1, N, 5 + C) per grid point."""
    return _constant_model(Path(path), {"output": np.asarray(rows, np.float32)[None]}, input_size)
