"""Which inputs this process takes, on which device, and the process group of a ``torchrun`` launch.

``torchrun --nproc-per-node N -m sapiens_core predict ...`` starts N copies of the command with ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` in their environment (``--nnodes`` adds machines). Each rank takes every
``WORLD_SIZE``-th input of the sorted input list starting at its ``RANK``: balanced, and the same share after a
restart over the same inputs. Without those variables (plain ``python -m``) there is one rank holding everything.

The group only synchronises (a barrier before rank 0 merges, the input list sent from rank 0), never tensors, so
it is gloo on any machine: no GPU memory or NCCL communicator is spent on it. Its timeout is long because ranks
finish at different times and rank 0 waits for the slowest; a rank that dies ends the whole launch through
torchrun anyway.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from ..errors import SapiensError

__all__ = ["Rank", "rank_from_env", "take_share", "ProcessGroup", "rank_device"]

T = TypeVar("T")
_BARRIER_TIMEOUT = timedelta(days=7)


@dataclass(frozen=True)
class Rank:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def label(self) -> str:
        return f"rank {self.rank}/{self.world}" if self.distributed else "predict"


def _env_int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SapiensError(f"the environment variable {name}={raw!r} is not a number (torchrun sets it)") from None


def rank_from_env(env: dict | None = None) -> Rank:
    """This process's place in a torchrun launch; ``Rank()`` (one process) without one."""
    env = os.environ if env is None else env
    world = _env_int(env, "WORLD_SIZE", 1)
    rank = _env_int(env, "RANK", 0)
    local = _env_int(env, "LOCAL_RANK", rank)
    if world < 1 or not 0 <= rank < world or local < 0:
        raise SapiensError(f"inconsistent torchrun environment: RANK={rank}, WORLD_SIZE={world}, LOCAL_RANK={local}")
    return Rank(rank, world, local)


def take_share(items: Sequence[T], rank: Rank) -> list[T]:
    """Every ``world``-th item starting at ``rank``: items ``rank, rank + world, ...`` of the sorted list."""
    return list(items[rank.rank :: rank.world])


def rank_device(device: str, rank: Rank) -> str:
    """The device string the backends get; on CUDA each local rank is pinned to its own GPU first."""
    from ..backends import resolve_device

    resolved = resolve_device(device)
    if resolved == "cuda":
        import torch

        count = torch.cuda.device_count()
        if rank.distributed and rank.local_rank >= count:
            raise SapiensError(
                f"local rank {rank.local_rank} has no GPU of its own ({count} visible); "
                "give torchrun --nproc-per-node at most the number of GPUs"
            )
        torch.cuda.set_device(rank.local_rank)  # the backends run on the current CUDA device
    return resolved


class ProcessGroup:
    """The gloo group of a distributed run (a no-op for one process); close it with ``close``."""

    def __init__(self, rank: Rank) -> None:
        self.rank = rank
        self._started = False
        if not rank.distributed:
            return
        import torch.distributed as dist

        if not dist.is_available():
            raise SapiensError("this PyTorch build has no torch.distributed; run one process per share instead")
        if not dist.is_initialized():
            dist.init_process_group("gloo", timeout=_BARRIER_TIMEOUT)
            self._started = True

    def barrier(self) -> None:
        if self.rank.distributed:
            import torch.distributed as dist

            dist.barrier()

    def broadcast(self, value: object) -> object:
        """Rank 0's ``value`` on every rank (the input list: scanned once, identical everywhere)."""
        if not self.rank.distributed:
            return value
        import torch.distributed as dist

        box = [value if self.rank.rank == 0 else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def close(self) -> None:
        if self._started:
            import torch.distributed as dist

            dist.destroy_process_group()
            self._started = False
