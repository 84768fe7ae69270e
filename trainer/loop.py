"""The finetuning loop: build, initialise, train, evaluate, checkpoint; resumable to the exact step.

Exact resume: the model, optimizer, scheduler and RNG states are saved with the data position (epoch, batches
taken); the sampler restarts there and every sample is seeded by (seed, epoch, index), so a resumed run computes
the same batches with the same weights as an uninterrupted one. SIGINT / SIGTERM only set a flag; the loop
finishes the step, saves, and returns, so a preempted job never loses more than one step.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from sapiens_core.errors import SapiensError
from sapiens_core.io.atomic import atomic_write_text
from sapiens_core.schema import class_schema

from . import distributed, sharded, tensorboard_log
from .augment import AugmentConfig
from .checkpoint import FINAL_NAME, LAST_NAME, load_trainer_checkpoint, rng_state, save_checkpoint, set_rng_state
from .config import CONFIG_NAME, RunConfig
from .data import SapiensDataset, read_source
from .evaluate import evaluate
from .init import load_init
from .losses import task_loss
from .models import build_training_model, init_fresh_head, resolve_arch
from .optim import build_optimizer, build_scheduler, default_layer_decay, default_lr
from .schemas import load_training_schema, schema_to_dict
from .spike import SpikeGuard, default_factor
from .tensorboard_log import TensorBoardLog
from .wrap import unwrap, wrap_model

METRICS_NAME = "metrics.jsonl"
AUGMENT_BY_TASK = {  # rotation range of the official configs per task (spec §6.2-6.5)
    "pose": AugmentConfig(),
    "seg": AugmentConfig(scale=(0.5, 2.0), rotate=45, rotate_prob=0.5),
    "depth": AugmentConfig(scale=(0.5, 2.0), rotate=60, rotate_prob=0.5),
    "normal": AugmentConfig(scale=(0.5, 2.0), rotate=45, rotate_prob=0.5),
}


class _StopFlag:
    """Set by SIGINT/SIGTERM; the loop checks it between steps."""

    def __init__(self) -> None:
        self.raised = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> _StopFlag:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread: no handlers, the loop still works
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.raised:  # a second Ctrl-C means now
            raise KeyboardInterrupt
        self.raised = True
        print("\nstopping: saving a checkpoint after this step (Ctrl-C again to abort)", file=sys.stderr)

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _memory_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # Linux reports KiB


class Trainer:
    def __init__(self, cfg: RunConfig) -> None:
        if not cfg.data or not cfg.out:
            raise SapiensError("give --data TRAIN.json and --out RUN_DIR")
        self.cfg = cfg
        if cfg.tensorboard:  # on every rank, before any setup: a missing package stops the run right away
            tensorboard_log.summary_writer_class()
        self.dist = distributed.setup(cfg.device)
        self.run_dir = Path(cfg.out)
        self.schema = load_training_schema(cfg.keypoints) if cfg.task == "pose" else None
        self.arch = resolve_arch(cfg.arch)
        self.classes = class_schema(self.arch.class_set)  # 28 parts for v1, 29 for Sapiens2 (data is converted)
        self.autocast = self.dist.device.type == "cuda" and cfg.bf16
        self._build_data()
        self._build_model()
        steps_per_epoch = len(self.sampler)
        self.total_steps = steps_per_epoch * cfg.epochs
        self.optimizer = build_optimizer(
            self.model, self.arch.num_layers, self.lr, cfg.weight_decay, self.layer_decay, cfg.betas
        )
        schedule = cfg.schedule or ("multistep" if cfg.task == "pose" else "poly")
        warmup = min(cfg.warmup, max(self.total_steps // 10, 1))
        self.scheduler = build_scheduler(self.optimizer, self.total_steps, warmup, schedule, (170 / 210, 200 / 210))
        self.step, self.epoch, self.batch_in_epoch = 0, 0, 0
        self.history: list[dict] = []
        self._sharded_step: int | None = None
        factor = cfg.loss_spike_factor if cfg.loss_spike_factor is not None else default_factor(cfg.task)
        self.spikes = SpikeGuard(factor)
        self.tensorboard: TensorBoardLog | None = None

    # ---- setup
    def _build_data(self) -> None:
        cfg, d = self.cfg, self.dist
        images = Path(cfg.images) if cfg.images else None
        augment = AUGMENT_BY_TASK[cfg.task] if cfg.augment else AugmentConfig.off()
        common = dict(input_size=cfg.input_size, keypoints=self.schema, classes=self.classes, sigma=cfg.sigma)
        classes = self.classes.name
        train = read_source(Path(cfg.data), cfg.task, self.schema, images, cfg.only_human_labels, classes)
        self.train_set = SapiensDataset(train, cfg.task, augment=augment, seed=cfg.seed, **common)
        self.val_set = None
        if cfg.val:
            val = read_source(Path(cfg.val), cfg.task, self.schema, images, cfg.only_human_labels, classes)
            self.val_set = SapiensDataset(val, cfg.task, augment=AugmentConfig.off(), **common)
        from .sampler import ResumableBatchSampler

        self.sampler = ResumableBatchSampler(
            len(self.train_set), cfg.batch_size, cfg.seed, rank=d.rank, world_size=d.world_size
        )

    def _build_model(self) -> None:
        cfg = self.cfg
        outputs = len(self.schema) if self.schema is not None else None
        torch.manual_seed(cfg.seed)  # the same random head on every rank
        model = build_training_model(cfg.task, self.arch, num_outputs=outputs)
        init_fresh_head(model)
        self.init_note = "random initialisation"
        if cfg.init and not cfg.resume:
            self.init_note = load_init(model, Path(cfg.init), self.schema)
        keypoint_set = self.schema.name if self.schema is not None else None
        self.lr = cfg.lr if cfg.lr is not None else default_lr(cfg.task, keypoint_set)
        self.layer_decay = (
            cfg.layer_decay
            if cfg.layer_decay is not None
            else default_layer_decay(cfg.task, self.arch.size, keypoint_set, self.arch.family)
        )
        self.model = wrap_model(model.to(self.dist.device), cfg, self.dist)

    # ---- checkpoints
    def _meta(self) -> dict:
        meta = {
            "scheduler": self.scheduler.state_dict(),
            "step": self.step,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "rng": rng_state(),
            "config": json.loads(self.cfg.to_json()),
            "task": self.cfg.task,
            "arch": self.arch.size if self.arch.family == "sapiens" else self.arch.name,  # v1: as before
            "family": self.arch.family,
            "init": self.cfg.init,
            "history": self.history[-50:],
            "spike_guard": self.spikes.state_dict(),
        }
        if self.schema is not None:
            meta["keypoint_names"] = list(self.schema.names)
            meta["keypoint_schema"] = schema_to_dict(self.schema)
        return meta

    def save(self, name: str = LAST_NAME) -> Path | None:
        if self.cfg.fsdp:
            return self._save_sharded(name)
        if not self.dist.is_main:
            return None
        meta = dict(self._meta(), optimizer=self.optimizer.state_dict())
        return save_checkpoint(self.run_dir / name, unwrap(self.model).state_dict(), meta)

    def _save_sharded(self, name: str) -> Path | None:
        """Every rank writes its shards, then rank 0 the full weights with the meta naming the shard folder."""
        if name == LAST_NAME and self._sharded_step == self.step:
            return None  # already saved at this step; rewriting the folder last.pth points at is not atomic
        meta = self._meta()
        model = unwrap(self.model)
        if name == LAST_NAME:
            folder = sharded.shard_folder(self.run_dir, self.step)
            meta["optimizer_groups"] = sharded.save_shards(model, self.optimizer, folder)
            meta["sharded"] = folder.relative_to(self.run_dir).as_posix()
            self._sharded_step = self.step
        state = sharded.full_model_state(model)
        path = None
        if self.dist.is_main:
            path = save_checkpoint(self.run_dir / name, state, meta)
            if name == LAST_NAME:
                sharded.drop_older_shards(self.run_dir, folder)
        distributed.barrier(self.dist)
        return path

    def resume(self) -> None:
        path = self.run_dir / LAST_NAME
        if not path.is_file():
            raise SapiensError(f"--resume: {self.run_dir} has no {LAST_NAME} to resume from")
        state, meta = load_trainer_checkpoint(path)
        if bool(meta.get("sharded")) != self.cfg.fsdp:
            written = "with" if meta.get("sharded") else "without"
            raise SapiensError(f"--resume: {path} was written {written} --fsdp; resume it the same way")
        if self.cfg.fsdp:
            folder = self.run_dir / meta["sharded"]
            sharded.load_shards(unwrap(self.model), self.optimizer, folder, meta["optimizer_groups"])
        else:
            unwrap(self.model).load_state_dict(state)
            self.optimizer.load_state_dict(meta["optimizer"])
        self.scheduler.load_state_dict(meta["scheduler"])
        self.step, self.epoch, self.batch_in_epoch = meta["step"], meta["epoch"], meta["batch_in_epoch"]
        self.history = list(meta.get("history", []))
        self.spikes.load_state_dict(meta.get("spike_guard", {}))
        set_rng_state(meta["rng"])

    # ---- logging
    def log(self, record: dict) -> None:
        self.history.append(record)
        if self.dist.is_main:
            with (self.run_dir / METRICS_NAME).open("a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            if self.tensorboard is not None:
                self.tensorboard.write(record)

    def run_eval(self) -> dict | None:
        if self.val_set is None or not self.cfg.eval_every:
            return None
        # A sharded model runs forward on every rank together (each block gathers its weights from all of them),
        # so every rank evaluates the whole set and rank 0 alone writes the result.
        if not self.dist.is_main and not self.cfg.fsdp:
            return None
        sigmas = self.schema.sigmas if self.schema is not None else None
        metrics = evaluate(
            unwrap(self.model),
            self.val_set,
            self.cfg.task,
            self.dist.device,
            self.cfg.batch_size,
            self.autocast,
            sigmas,
            len(self.classes),
        )
        self.log({"step": self.step, "epoch": self.epoch, "eval": metrics})
        return metrics

    # ---- training
    def train_step(self, batch: dict) -> float:
        device = self.dist.device
        tensors = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        context = torch.autocast("cuda", dtype=torch.bfloat16) if self.autocast else contextlib.nullcontext()
        with context:
            output = self.model(tensors["image"])
        weights = torch.as_tensor(self.classes.class_weights, dtype=torch.float32, device=device)
        loss = task_loss(self.cfg.task, output.float(), tensors, weights, self.cfg.ohkm_topk)
        value = float(loss.detach())
        skip = bool(self.spikes.factor) and distributed.any_rank(self.spikes.is_spike(value), self.dist)
        self.optimizer.zero_grad(set_to_none=True)
        # A skipped batch still runs a (zero) backward: DDP and FSDP reduce gradients inside backward, and every
        # rank has to take part in those collectives whatever its verdict was.
        (loss * 0 if skip else loss).backward()
        if skip:
            self.optimizer.zero_grad(set_to_none=True)
        else:
            if self.cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
            self.optimizer.step()
        self.scheduler.step()
        self.spikes.settle(value, skip)
        return value

    def fit(self) -> dict:
        cfg = self.cfg
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.run_dir / CONFIG_NAME, cfg.to_json() + "\n")
        if cfg.resume:
            self.resume()
        if cfg.tensorboard and self.dist.is_main:
            self.tensorboard = TensorBoardLog(self.run_dir, self.step + 1 if cfg.resume else 0)
        if not cfg.resume and self.step == 0:
            self.run_eval()
        # A private generator: the loader draws its worker base seed when each epoch's iterator starts, and from
        # the global RNG that would shift the dropout draws of a resumed run against the uninterrupted one.
        loader_options = dict(
            num_workers=cfg.workers,
            pin_memory=self.dist.device.type == "cuda",
            generator=torch.Generator().manual_seed(cfg.seed),
        )
        loader = DataLoader(self.train_set, batch_sampler=self.sampler, **loader_options)
        bar = tqdm(
            total=self.total_steps,
            initial=self.step,
            unit="step",
            file=sys.stderr,
            disable=None if self.dist.is_main else True,
            desc=f"finetune {cfg.task}",
        )
        stopped = False
        with _StopFlag() as stop:
            while self.epoch < cfg.epochs and not stopped:
                self.sampler.set_position(self.epoch, self.batch_in_epoch)
                tick = time.perf_counter()
                for batch in loader:
                    loss = self.train_step(batch)
                    self.step += 1
                    self.batch_in_epoch += 1
                    now = time.perf_counter()
                    images = len(batch["image"]) * self.dist.world_size
                    record = {
                        "step": self.step,
                        "epoch": self.epoch,
                        "loss": loss,
                        "skipped_batches": self.spikes.skipped,
                        "lr": self.optimizer.param_groups[-1]["lr"],
                        "images_per_s": images / (now - tick),
                        "memory_bytes": _memory_bytes(self.dist.device),
                    }
                    tick = now
                    self.log(record)
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss:.4g}")
                    if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                        self.save()
                    asked = stop.raised or (cfg.stop_after is not None and self.step >= cfg.stop_after)
                    if distributed.any_rank(asked, self.dist):
                        stopped = True
                        break
                if stopped:
                    break
                self.epoch, self.batch_in_epoch = self.epoch + 1, 0
                if cfg.eval_every and self.epoch % cfg.eval_every == 0:
                    self.run_eval()
                self.save()
        bar.close()
        self.save()
        if not stopped:
            self.save(FINAL_NAME)
        if (
            self.dist.enabled and not self.cfg.fsdp
        ):  # DDP keeps replicas in lock step; say so in the metrics where it can be checked
            same = distributed.ranks_hold_identical(list(unwrap(self.model).parameters()), self.dist)
            self.log({"step": self.step, "world_size": self.dist.world_size, "ranks_identical": same})
        distributed.barrier(self.dist)
        losses = [r["loss"] for r in self.history if "loss" in r]
        return {
            "steps": self.step,
            "stopped": stopped,
            "losses": losses,
            "eval": next((r["eval"] for r in reversed(self.history) if "eval" in r), None),
            "final_loss": float(np.mean(losses[-3:])) if losses else None,
        }


def finetune(cfg: RunConfig) -> dict:
    trainer = Trainer(cfg)
    try:
        return trainer.fit()
    finally:
        if trainer.tensorboard is not None:
            trainer.tensorboard.close()
        distributed.cleanup(trainer.dist)
