"""A torch runtime's dense output reaches ``tasks.dense`` as a tensor, so on a GPU it is upsampled and reduced where
it lies and only the class/depth/normal map crosses to the host.

The CPU suite cannot make a CUDA tensor, so these tests check the hand-over itself: ``infer(keep_tensor=True)`` gives
the same values as the numpy path, as a tensor (chunks joined by torch, NaN found by torch), ONNX Runtime still gives
numpy, and a pipeline run passes tensors to the post-processing and writes the documents the numpy path writes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from sapiens_core import tasks as T
from sapiens_core.backends import open_backend
from sapiens_core.backends.base import join_batches
from sapiens_core.errors import BackendError
from sapiens_core.pipeline import Frame, Pipeline


def _batch(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((count, 3, 1024, 768)).astype(np.float32)


def test_a_kept_output_is_the_same_values_as_a_tensor(tiny_checkpoint):
    backend = open_backend(tiny_checkpoint("seg", "torchscript"), task="seg", device="cpu")
    backend.max_batch = 2  # three images: two chunks, joined on the device by torch
    batch = _batch(3)
    host = backend.infer(batch)
    kept = backend.infer(batch, keep_tensor=True)
    backend.close()
    assert isinstance(host, np.ndarray) and isinstance(kept, torch.Tensor)
    assert kept.dtype == torch.float32 and tuple(kept.shape) == host.shape == (3, 28, host.shape[2], host.shape[3])
    assert np.array_equal(kept.numpy(), host)


def test_onnx_runtime_output_stays_numpy(tiny_checkpoint):
    backend = open_backend(tiny_checkpoint("depth", "onnx"), task="depth", device="cpu")
    out = backend.infer(_batch(1), keep_tensor=True)
    backend.close()
    assert isinstance(out, np.ndarray) and out.shape[:2] == (1, 1)


class _NanInSecondImage(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x[:, :1, ::4, ::4].clone()
        out[1:, 0, 3, 5] = float("nan")  # one pixel of the second image only
        return out


def test_a_kept_output_with_one_nan_pixel_is_refused(tmp_path):
    path = tmp_path / "nan.pt"
    torch.jit.save(torch.jit.trace(_NanInSecondImage(), torch.zeros(2, 3, 64, 48)), str(path))
    backend = open_backend(path, task="depth", device="cpu")
    batch = np.zeros((2, 3, 64, 48), np.float32)
    assert np.isfinite(backend.infer(batch[:1], keep_tensor=True).numpy()).all()  # the first image alone is fine
    with pytest.raises(BackendError, match="NaN or infinite"):
        backend.infer(batch, keep_tensor=True)


def test_join_batches_keeps_tensors_and_mixes_to_numpy():
    a, b = torch.arange(6.0).reshape(1, 1, 2, 3), torch.arange(6.0, 12.0).reshape(1, 1, 2, 3)
    joined = join_batches([a, b])
    assert isinstance(joined, torch.Tensor) and joined.flatten().tolist() == list(range(12))
    mixed = join_batches([a, b.numpy()])
    assert isinstance(mixed, np.ndarray) and mixed.flatten().tolist() == list(range(12))


def _spy(monkeypatch, name: str, seen: list) -> None:
    real = getattr(T, name)

    def spy(out, *args, **kwargs):
        seen.append((name, type(out)))
        return real(out, *args, **kwargs)

    monkeypatch.setattr(T, name, spy)


def _documents(tiny_checkpoint, image, keep: bool, monkeypatch, seen: list):
    paths = {task: tiny_checkpoint(task, "torchscript") for task in ("seg", "depth", "normal")}
    pipeline = Pipeline.from_paths(paths, device="cpu", batch_size=2)
    if not keep:  # the numpy route, as every output took it before
        monkeypatch.setattr("sapiens_core.pipeline.DEVICE_POSTPROCESS_TASKS", ())
    for name in ("logits_to_classes", "postprocess_depth", "postprocess_normal"):
        _spy(monkeypatch, name, seen)
    docs = pipeline.run([Frame(image, "a.png"), Frame(image[::-1].copy(), "b.png")])
    pipeline.close()
    monkeypatch.undo()
    return docs


def test_the_pipeline_hands_tensors_to_post_processing_and_writes_the_same_documents(tiny_checkpoint, monkeypatch):
    image = np.random.default_rng(5).integers(0, 256, (203, 150, 3), dtype=np.uint8)
    kept_calls, host_calls = [], []
    kept = _documents(tiny_checkpoint, image, True, monkeypatch, kept_calls)
    host = _documents(tiny_checkpoint, image, False, monkeypatch, host_calls)
    assert sorted(kept_calls) == sorted(
        [(name, torch.Tensor) for name in ("logits_to_classes", "postprocess_depth", "postprocess_normal")] * 2
    )
    assert {kind for _, kind in host_calls} == {np.ndarray}
    for a, b in zip(kept, host):
        assert a.part_map.shape == image.shape[:2]
        assert np.array_equal(a.part_map, b.part_map) and np.array_equal(a.foreground, b.foreground)
        assert np.array_equal(a.depth, b.depth, equal_nan=True)
        assert np.array_equal(a.normal, b.normal, equal_nan=True)
