"""Shared fixtures of the core tests: tiny Sapiens checkpoints, built once per session and only when asked for.

Building is cheap, but exporting is not (a bf16 ExportedProgram takes seconds), so each (task, format) file is
made on first use and then shared by every test module that asks for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny_models import build_tiny_model, save_checkpoint

# Output channels as the official models give them: Goliath-308 pose, the 28 body-part classes.
TINY_OUTPUTS = {"pose": 308, "seg": 28, "depth": None, "normal": None}
# Smaller than the tiny_models defaults: the forward at 1024x768 dominates the end-to-end tests' time, and these
# tests check plumbing, not numerics (test_backends checks those at the default size).
TINY_DIMS = {"embed_dim": 64, "layers": 1, "heads": 2, "head_channels": 16}
# Named like the official files' endings, but matching no model card (so schemas come from the channel count).
_SUFFIXES = {"torchscript": "_torchscript.pt2", "exported": "_bfloat16.pt2", "pth": ".pth", "onnx": ".onnx"}


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """``tiny_checkpoint(task, fmt) -> Path`` of a tiny model with the official architecture, saved as ``fmt``."""
    folder = tmp_path_factory.mktemp("tiny_checkpoints")
    models: dict = {}
    files: dict[tuple[str, str], Path] = {}

    def get(task: str, fmt: str) -> Path:
        if (task, fmt) not in files:
            if task not in models:
                models[task] = build_tiny_model(task, num_outputs=TINY_OUTPUTS[task], **TINY_DIMS)
            files[task, fmt] = save_checkpoint(models[task], folder / f"tiny_{task}{_SUFFIXES[fmt]}", fmt)
        return files[task, fmt]

    return get
