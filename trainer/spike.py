"""The official pose models' skip-batch guard (spec §6.2): a batch whose loss is NaN/inf or more than ``factor``
times the last accepted batch's loss does not update the weights.

The official ``parse_losses`` zeroes such a loss, which still lets AdamW's momentum and weight decay move the
weights; here the batch is skipped outright (no optimizer step; the LR schedule still advances, so the run's length
and schedule do not depend on how many batches were skipped). Under DDP/FSDP the ranks agree first (one rank's
spike skips the step everywhere), because replicas that stepped differently would no longer be replicas.
"""

from __future__ import annotations

import math

# Per task: the official pose estimator has the guard, the seg/depth/normal models do not (spec §6.2).
DEFAULT_FACTOR = {"pose": 25.0}


def default_factor(task: str) -> float:
    return DEFAULT_FACTOR.get(task, 0.0)


class SpikeGuard:
    def __init__(self, factor: float) -> None:
        self.factor = factor  # 0: off
        self.last_accepted: float | None = None
        self.skipped = 0

    def is_spike(self, loss: float) -> bool:
        """This rank's verdict on ``loss``; the loop combines the ranks' verdicts before calling ``settle``."""
        if not self.factor:
            return False
        if not math.isfinite(loss):
            return True
        return self.last_accepted is not None and loss > self.factor * self.last_accepted

    def settle(self, loss: float, skipped: bool) -> None:
        if skipped:
            self.skipped += 1
        else:
            self.last_accepted = loss

    def state_dict(self) -> dict:
        return {"last_accepted": self.last_accepted, "skipped": self.skipped}

    def load_state_dict(self, state: dict) -> None:
        self.last_accepted, self.skipped = state.get("last_accepted"), int(state.get("skipped", 0))
