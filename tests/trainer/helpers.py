"""Small run configurations for the trainer tests: tiny arch, 96x128 crops, no augmentation, constant LR."""

from __future__ import annotations

from pathlib import Path

from trainer.config import RunConfig


def tiny_config(data: Path, out: Path, task: str = "pose", **options) -> RunConfig:
    base = dict(
        task=task,
        arch="sapiens_tiny",
        data=str(data),
        out=str(out),
        epochs=1,
        batch_size=1,
        lr=3e-3,
        layer_decay=1.0,
        warmup=0,
        schedule="constant",
        input_size=(96, 128),
        sigma=2,
        augment=False,
        weight_decay=0.0,
        device="cpu",
    )
    base.update(options)
    return RunConfig(**base)
