"""``--tensorboard``: the numbers of ``metrics.jsonl`` as TensorBoard scalars in ``RUN_DIR/tensorboard``.

Optional and not a dependency: tensorboard (through ``torch.utils.tensorboard``) pins a protobuf that the MediaPipe
quick backend cannot load, so the trainer only uses it where it is installed and otherwise says how to get it
before the run starts. ``metrics.jsonl`` stays the record either way (the app plots from it).
"""

from __future__ import annotations

from pathlib import Path

from sapiens_core.errors import SapiensError

TENSORBOARD_DIR = "tensorboard"
_NOT_SCALARS = ("step", "epoch")


def summary_writer_class():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise SapiensError(
            "--tensorboard needs the tensorboard package (pip install tensorboard, in an environment without the "
            "MediaPipe backend, whose protobuf it replaces); the metrics are in metrics.jsonl either way"
        ) from None
    return SummaryWriter


def scalars(record: dict) -> dict[str, float]:
    """``{"loss": 0.3, "eval": {"AP": 0.5}}`` -> ``{"train/loss": 0.3, "eval/AP": 0.5}``; booleans and text skipped."""
    out: dict[str, float] = {}
    for key, value in record.items():
        if key in _NOT_SCALARS:
            continue
        if isinstance(value, dict):
            out.update({f"{key}/{k}": float(v) for k, v in value.items() if _is_number(v)})
        elif _is_number(value):
            out[f"train/{key}"] = float(value)
    return out


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class TensorBoardLog:
    def __init__(self, run_dir: Path, first_step: int = 0) -> None:
        writer = summary_writer_class()
        # purge_step: a resumed run replays the steps after its checkpoint; TensorBoard drops the old copies of them
        # instead of drawing both.
        self.writer = writer(str(run_dir / TENSORBOARD_DIR), purge_step=first_step or None)

    def write(self, record: dict) -> None:
        step = int(record.get("step", 0))
        for tag, value in scalars(record).items():
            self.writer.add_scalar(tag, value, step)

    def close(self) -> None:
        self.writer.close()
