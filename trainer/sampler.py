"""Batches of ``(epoch, index)`` with a resumable position, sharded across ranks.

torch's ``DistributedSampler`` shards an epoch's permutation across ranks but cannot start mid-epoch, and a
``DataLoader`` iterator has no state to save. This sampler does both with plain numbers: the permutation is a
function of (seed, epoch), a position is (epoch, batches already taken), so a checkpoint stores two ints and a
resumed run sees exactly the batches the uninterrupted one would have. The epoch travels with each index so the
dataset can seed its augmentations per sample (workers need no shared RNG state).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler


class ResumableBatchSampler(Sampler[list[tuple[int, int]]]):
    def __init__(
        self,
        size: int,
        batch_size: int,
        seed: int = 0,
        shuffle: bool = True,
        rank: int = 0,
        world_size: int = 1,
        drop_last: bool = False,
    ) -> None:
        if size < 1 or batch_size < 1:
            raise ValueError(f"need at least one sample and a batch size of 1 or more (got {size}, {batch_size})")
        self.size, self.batch_size, self.seed, self.shuffle = size, batch_size, seed, shuffle
        self.rank, self.world_size, self.drop_last = rank, world_size, drop_last
        self.epoch, self.start_batch = 0, 0

    def set_position(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = int(epoch), int(start_batch)

    def _rank_indices(self, epoch: int) -> np.ndarray:
        order = (
            np.random.default_rng([self.seed, epoch]).permutation(self.size) if self.shuffle else np.arange(self.size)
        )
        # As DistributedSampler: repeat from the start so every rank gets the same count (keeps DDP in lock step).
        per_rank = -(-self.size // self.world_size)
        order = np.resize(order, per_rank * self.world_size)
        return order[self.rank :: self.world_size]

    def __len__(self) -> int:
        per_rank = -(-self.size // self.world_size)
        return per_rank // self.batch_size if self.drop_last else -(-per_rank // self.batch_size)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        indices = self._rank_indices(self.epoch)
        for b in range(self.start_batch, len(self)):
            chunk = indices[b * self.batch_size : (b + 1) * self.batch_size]
            yield [(self.epoch, int(i)) for i in chunk]
