"""--tensorboard: the JSON-lines metrics as scalars when tensorboard is installed, a clear refusal when it is not."""

from __future__ import annotations

import json

import pytest

from sapiens_core.errors import SapiensError
from trainer import tensorboard_log
from trainer.loop import METRICS_NAME, finetune
from trainer.tensorboard_log import TENSORBOARD_DIR, scalars

from .helpers import tiny_config


class FakeWriter:
    """Stands in for SummaryWriter, which the test environment need not have."""

    made: list[FakeWriter] = []

    def __init__(self, log_dir: str, purge_step=None) -> None:
        self.log_dir, self.purge_step, self.scalars, self.closed = log_dir, purge_step, [], False
        FakeWriter.made.append(self)

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self.scalars.append((tag, value, step))

    def close(self) -> None:
        self.closed = True


def test_scalars_flatten_a_record():
    record = {"step": 3, "epoch": 0, "loss": 0.5, "lr": 1e-4, "eval": {"AP": 0.25}, "ranks_identical": True}
    assert scalars(record) == {"train/loss": 0.5, "train/lr": 1e-4, "eval/AP": 0.25}


def test_run_writes_every_metric_as_a_scalar(one_image_export, tmp_path, monkeypatch):
    FakeWriter.made.clear()
    monkeypatch.setattr(tensorboard_log, "summary_writer_class", lambda: FakeWriter)
    run = tmp_path / "run"
    options = dict(epochs=2, tensorboard=True, val=str(one_image_export))
    finetune(tiny_config(one_image_export, run, task="seg", stop_after=1, **options))
    finetune(tiny_config(one_image_export, run, task="seg", resume=True, **options))
    first, resumed = FakeWriter.made
    assert first.log_dir == str(run / TENSORBOARD_DIR) and first.purge_step is None and first.closed
    assert resumed.purge_step == 2  # the steps after the checkpoint are replaced, not drawn twice
    written = first.scalars + resumed.scalars
    records = [json.loads(line) for line in (run / METRICS_NAME).read_text().splitlines()]
    expected = [(tag, value, r["step"]) for r in records for tag, value in scalars(r).items()]
    assert written == expected
    assert ("train/loss", records[1]["loss"], 1) in written and any(tag == "eval/mIoU" for tag, _, _ in written)


def test_missing_tensorboard_is_said_before_the_run(one_image_export, tmp_path, monkeypatch):
    def missing():
        raise SapiensError("--tensorboard needs the tensorboard package")

    monkeypatch.setattr(tensorboard_log, "summary_writer_class", missing)
    with pytest.raises(SapiensError, match="needs the tensorboard package"):
        finetune(tiny_config(one_image_export, tmp_path / "run", tensorboard=True))
    assert not (tmp_path / "run").exists()


def test_the_real_import_says_how_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError("TensorBoard logging requires TensorBoard")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(SapiensError, match="pip install tensorboard"):
        tensorboard_log.summary_writer_class()
