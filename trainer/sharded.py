"""FSDP2 (``--fsdp``): parameters, gradients and optimizer state sharded across the ranks, and sharded checkpoints.

Each transformer block is its own FSDP unit (its weights are gathered just for its forward and backward, then freed
again), the root covers the rest (patch embed, final norm, head). A checkpoint of a sharded run is two things:

* ``sharded/step_N/``: the model and optimizer shards, written by every rank in parallel through
  ``torch.distributed.checkpoint`` (DCP), so no process ever holds the whole optimizer state; resume reads it back
  into whatever sharding the resumed run has.
* ``last.pth`` / ``final.pth``: the full model weights (gathered to rank 0 one unit at a time, on the CPU) in the
  official layout, plus the trainer's meta naming the shard folder. ``export``, ``inspect`` and ``predict`` read
  it like any other checkpoint, and since ``last.pth`` is replaced only after its shard folder is complete, a run
  killed while saving resumes from the previous pair.

DCP's reader unpickles the folder's ``.metadata`` with plain ``pickle``; ours reads it through an allow-list of
DCP's own metadata classes, and only tensors are stored in the shards (the optimizer's hyperparameters travel in
``last.pth``), so loading a shard folder executes nothing either.
"""

from __future__ import annotations

import pickle
import shutil
import warnings
from pathlib import Path

import torch
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_state_dict,
    set_state_dict,
)

from sapiens_core.errors import SapiensError

from .models import transformer_blocks

SHARDED_DIR = "sharded"


def shard_model(model: nn.Module) -> nn.Module:
    """One ``fully_shard`` per transformer block, then the root: the root's unit keeps what no block owns."""
    from torch.distributed.fsdp import fully_shard

    for layer in transformer_blocks(model):  # v1 layers or Sapiens2 blocks (5B only fits sharded)
        fully_shard(layer)
    fully_shard(model)
    return model


def full_model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The whole model's weights on rank 0 (an empty dict elsewhere); every rank must call it (it all-gathers)."""
    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    return get_model_state_dict(model, options=options)


def shard_folder(run_dir: Path, step: int) -> Path:
    return run_dir / SHARDED_DIR / f"step_{step:08d}"


def save_shards(model: nn.Module, optimizer: torch.optim.Optimizer, folder: Path) -> list[dict]:
    """Write this rank's model and optimizer shards into ``folder`` (all ranks together); returns the optimizer's
    param groups (plain numbers and key names), which the caller keeps in its ``.pth`` meta."""
    model_state, optim_state = get_state_dict(model, optimizer)
    dcp.save({"model": model_state, "optim": {"state": optim_state["state"]}}, checkpoint_id=str(folder))
    return optim_state["param_groups"]


def load_shards(model: nn.Module, optimizer: torch.optim.Optimizer, folder: Path, param_groups: list[dict]) -> None:
    if not (folder / ".metadata").is_file():
        raise SapiensError(f"--resume: the shard folder {folder} is missing or incomplete")
    # get_state_dict creates the optimizer's (empty) state, so DCP has every shard's target tensor to read into.
    model_state, optim_state = get_state_dict(model, optimizer)
    state = {"model": model_state, "optim": {"state": optim_state["state"]}}
    dcp.load(state, storage_reader=SafeFileSystemReader(str(folder)))
    optim_state = {"state": state["optim"]["state"], "param_groups": param_groups}
    set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=optim_state)


def drop_older_shards(run_dir: Path, keep: Path) -> None:
    """After ``last.pth`` points at ``keep``: the older folders are unreachable (rank 0 only)."""
    root = run_dir / SHARDED_DIR
    for folder in root.iterdir() if root.is_dir() else ():
        if folder.is_dir() and folder.name != keep.name:
            shutil.rmtree(folder, ignore_errors=True)


def load_model_shards(folder: Path, model_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Fill a full (unsharded) ``model_state`` from a shard folder in this one process, without a process group:
    a sharded run's weights for tools that have only the folder."""
    state = {"model": model_state}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DCP warns that it assumes a single process, which is the point here
        dcp.load(state, storage_reader=SafeFileSystemReader(str(folder)), no_dist=True)
    return state["model"]


# ---- reading DCP's metadata without running arbitrary pickled code
_METADATA_MODULES = (
    "torch.distributed.checkpoint.metadata",
    "torch.distributed.checkpoint.filesystem",
    "torch.distributed.checkpoint.planner",
)
_TORCH_NAMES = {"Size", "device", "memory_format", "layout"}
# Harmless constructors a DCP index pickles besides its own dataclasses: the layout lookup torch registers for
# ``torch.layout`` (a dict lookup by name) and the storage paths.
_OTHER = {
    ("torch.serialization", "_get_layout"),
    ("pathlib", "PosixPath"),
    ("pathlib", "WindowsPath"),
    ("pathlib", "PurePosixPath"),
    ("pathlib", "PureWindowsPath"),
    ("collections", "OrderedDict"),
}


class _MetadataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module in _METADATA_MODULES and not name.startswith("__"):
            return super().find_class(module, name)
        if module == "torch" and (name in _TORCH_NAMES or isinstance(getattr(torch, name, None), torch.dtype)):
            return super().find_class(module, name)
        if (module, name) in _OTHER:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"shard metadata refers to {module}.{name}, which a DCP index never holds")


class SafeFileSystemReader(dcp.FileSystemReader):
    """``FileSystemReader`` whose ``read_metadata`` unpickles through the allow-list; the rest of the base
    method is repeated as is (it is four lines: open, unpickle, default storage meta, load id)."""

    def read_metadata(self, *args, **kwargs):
        from torch.distributed.checkpoint.metadata import StorageMeta

        path = self._get_metadata_path(kwargs.get("rank"))
        try:
            with self.fs.create_stream(path, "rb") as stream:
                metadata = _MetadataUnpickler(stream).load()
        except pickle.UnpicklingError as error:
            raise SapiensError(f"{path}: refused ({error})") from None
        if getattr(metadata, "storage_meta", None) is None:
            metadata.storage_meta = StorageMeta()
        metadata.storage_meta.load_id = self.load_id
        return metadata
