"""Trainer checkpoints: ``{"state_dict", "meta"}`` like the official ``.pth`` files, written atomically.

The model weights sit under ``state_dict`` with the official key names, so ``predict`` and ``inspect`` read a
trainer checkpoint like an official one. ``meta["trainer"]`` holds what an exact resume needs (optimizer,
scheduler, data position, RNG states, the config) as plain containers and tensors, which sapiens_core's safe
loader (torch's weights_only unpickler) reads back: no checkpoint of ours ever needs plain unpickling.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sapiens_core.io.atomic import atomic_path
from sapiens_core.io.checkpoints import load_checkpoint

LAST_NAME = "last.pth"
FINAL_NAME = "final.pth"


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    # numpy's and Python's generators are not used by the loop itself (samples are seeded per index), but user
    # code in workers or hooks may be: saved as plain lists / tensors so the safe loader can read them.
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state["numpy"] = [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)]
    version, internal, gauss = random.getstate()
    state["python"] = [version, list(internal), gauss]
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if "numpy" in state:
        kind, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    if "python" in state:
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))


def save_checkpoint(path: Path, model_state: dict[str, torch.Tensor], trainer_meta: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save({"state_dict": model_state, "meta": {"trainer": trainer_meta}}, tmp)
    return path


def load_trainer_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(model state dict, the trainer's meta, or {} for a checkpoint another tool wrote)."""
    state, meta = load_checkpoint(path)
    return state, meta.get("trainer", {}) if isinstance(meta, dict) else {}


def find_checkpoint(run_or_file: Path) -> Path:
    """A file as given; a run folder: its final checkpoint, else the last one."""
    if run_or_file.is_dir():
        for name in (FINAL_NAME, LAST_NAME):
            if (run_or_file / name).is_file():
                return run_or_file / name
        raise FileNotFoundError(f"{run_or_file} holds no {FINAL_NAME} or {LAST_NAME}")
    return run_or_file
