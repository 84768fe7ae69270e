"""torchrun integration: one process per device, DDP or FSDP2, rank 0 alone logs and writes checkpoints.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK (and its rendezvous covers multi-node); without them the run is a
single process and none of this does anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from sapiens_core.backends import resolve_device


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup(device: str = "auto") -> DistInfo:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    kind = resolve_device(device)
    if world <= 1:
        return DistInfo(device=torch.device(kind))
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if kind == "cuda":
        torch.cuda.set_device(local)
        target = torch.device("cuda", local)
    else:
        target = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if kind == "cuda" else "gloo")
    return DistInfo(rank, world, local, target)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def any_rank(flag: bool, info: DistInfo) -> bool:
    """True on every rank when any rank says so (a SIGTERM reaches one process first; all must stop together)."""
    if not info.enabled:
        return flag
    value = torch.tensor([int(flag)], device=info.device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def ranks_hold_identical(tensors, info: DistInfo) -> bool:
    """True when every rank holds bit-identical ``tensors`` (elementwise max == min over ranks)."""
    if not info.enabled:
        return True
    flat = torch.cat([t.detach().float().flatten() for t in tensors]).to(info.device)
    high, low = flat.clone(), flat.clone()
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    return bool(torch.equal(high, low))
