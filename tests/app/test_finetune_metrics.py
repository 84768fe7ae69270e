"""The Finetune dialog's pure parts: reading metrics.jsonl while it is written, and the trainer's command lines."""

from __future__ import annotations

import json
from pathlib import Path

from app.finetune.command import FinetuneRequest, export_args, finetune_args, parse_extra, resume_args
from app.finetune.metrics import Curves, MetricsReader
from app.finetune.process import failure_message


def test_reader_waits_for_a_half_written_line_and_rereads_a_new_file(tmp_path):
    path = tmp_path / "metrics.jsonl"
    reader = MetricsReader(path)
    assert reader.read_new() == []  # no file yet
    first = json.dumps({"step": 1, "loss": 0.5})
    second = json.dumps({"step": 1, "eval": {"AP": 0.25}})
    path.write_text(first + "\n" + second[:10])
    assert reader.read_new() == [{"step": 1, "loss": 0.5}]
    with path.open("a") as f:
        f.write(second[10:] + "\n")
    assert reader.read_new() == [{"step": 1, "eval": {"AP": 0.25}}]
    assert reader.read_new() == []
    path.write_text(json.dumps({"step": 9}) + "\n")  # shorter than what was read: a new file
    assert reader.read_new() == [{"step": 9}]


def test_curves_take_losses_and_each_eval_metric():
    curves = Curves()
    records = [
        {"step": 0, "epoch": 0, "eval": {"AP": 0.1, "AR": 0.2}},
        {"step": 1, "loss": 2.0},
        {"step": 2, "loss": float("nan")},  # a diverged step is left out, not plotted as a gap that breaks autorange
        {"step": 2, "world_size": 2, "ranks_identical": True},
        {"step": 2, "eval": {"AP": 0.3, "AR": 0.4}},
    ]
    assert curves.add(records)
    assert (curves.steps, curves.losses) == ([1.0], [2.0])
    assert curves.evals == {"AP": ([0.0, 2.0], [0.1, 0.3]), "AR": ([0.0, 2.0], [0.2, 0.4])}
    assert not curves.add([{"step": 3, "lr": 1e-4}])


def test_command_lines():
    run = Path("runs/p1")
    request = FinetuneRequest("pose", "sapiens_1b", run, epochs=3, batch_size=4, init="a.pth", keypoints="coco_17")
    args = finetune_args(request, Path("d/train_train.json"), Path("d/train_val.json"))
    assert args == [
        "-m", "trainer", "finetune", "--task", "pose", "--arch", "sapiens_1b",
        "--data", "d/train_train.json", "--val", "d/train_val.json", "--out", "runs/p1",
        "--epochs", "3", "--batch-size", "4", "--init", "a.pth", "--keypoints", "coco_17", "--device", "auto",
    ]  # fmt: skip
    seg = FinetuneRequest("seg", "sapiens_0.3b", run, keypoints="coco_17", gpus=4, extra=parse_extra("--lr '1e-4'"))
    args = finetune_args(seg, Path("t.json"), None)
    assert args[:7] == ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "4", "-m", "trainer"]
    assert "--val" not in args and "--keypoints" not in args and "--init" not in args
    assert args[-4:] == ["--device", "cuda", "--lr", "1e-4"]
    assert resume_args(run, 1) == ["-m", "trainer", "finetune", "--out", "runs/p1", "--resume"]
    assert export_args(run, Path("m")) == [
        "-m",
        "trainer",
        "export",
        "runs/p1",
        "--format",
        "torchscript",
        "--out",
        "m",
    ]


def test_failure_message_prefers_the_trainers_error_line():
    tail = "finetune pose: 10%|#  | 1/10\rTraceback...\nerror: init.pth: not a checkpoint\n"
    assert failure_message(2, False, tail) == "The trainer exited with status 2: error: init.pth: not a checkpoint"
    assert failure_message(1, False, "Traceback\n  File x\nRuntimeError: CUDA out of memory\n").endswith(
        ": RuntimeError: CUDA out of memory"
    )
    assert failure_message(-1, True, "") == "The trainer was stopped by a signal or crashed."
