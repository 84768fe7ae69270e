"""Every finetuning option in one dataclass: the command line, a ``--config RUN.json`` and the ``config.json`` a
run writes into its folder all speak it, so a run is reproducible from its folder alone.

Precedence: the dataclass defaults < the JSON file < options given on the command line.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from sapiens_core.errors import SapiensError

CONFIG_NAME = "config.json"


@dataclass
class RunConfig:
    task: str = "pose"
    arch: str = "sapiens_0.3b"
    data: str = ""
    val: str | None = None
    images: str | None = None
    init: str | None = None
    out: str = ""
    keypoints: str | None = None  # schema JSON (sapiens_core's keypoint schema format) or a shipped set's name
    epochs: int = 1
    batch_size: int = 2
    lr: float | None = None  # None: the recipe's base LR for the task (and keypoint set)
    layer_decay: float | None = None  # None: the recipe's per-size rate
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.999)
    warmup: int = 500  # steps of LinearLR from 1e-3 (capped at a tenth of the run)
    schedule: str | None = None  # None: multistep for pose (epochs 170/200 of 210), poly for dense tasks
    grad_clip: float = 1.0
    loss_spike_factor: float | None = None  # skip a batch with loss > this x the last accepted one; None: recipe's
    ohkm_topk: int = 0  # pose: >0 uses OHKM-MSE with this top-k (the 0.3B/1B Goliath recipe: 128)
    input_size: tuple[int, int] = (768, 1024)  # (w, h) of the crops; exported models are always 768x1024
    sigma: float = 6.0
    augment: bool = True
    seed: int = 0
    device: str = "auto"
    workers: int = 0
    bf16: bool = True  # autocast on CUDA; ignored on the CPU
    activation_checkpointing: bool = False
    compile: bool = False
    fsdp: bool = False
    tensorboard: bool = False  # also write the metrics as TensorBoard scalars (needs the tensorboard package)
    checkpoint_every: int = 0  # steps; 0: at every epoch end only
    eval_every: int = 1  # epochs; 0: never (the run before the first step too)
    stop_after: int | None = None  # steps: save and stop as an interruption would (the schedule is unaffected)
    only_human_labels: bool = False
    resume: bool = False
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.input_size = tuple(int(v) for v in self.input_size)
        self.betas = tuple(float(v) for v in self.betas)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict, source: str = "config") -> RunConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SapiensError(f"{source}: unknown option(s) {', '.join(unknown)}")
        return cls(**data)

    @classmethod
    def load(cls, path: str | Path) -> RunConfig:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise SapiensError(f"{path.name}: not a readable JSON config ({error})") from None
        if not isinstance(data, dict):
            raise SapiensError(f"{path.name}: a config is a JSON object of options")
        return cls.from_dict(data, path.name)


def default_of(name: str):
    f = next(f for f in fields(RunConfig) if f.name == name)
    return f.default_factory() if f.default is MISSING else f.default


def merge(file_config: RunConfig | None, overrides: dict) -> RunConfig:
    """Options given explicitly on the command line (``overrides``, no Nones) win over the file's."""
    base = asdict(file_config) if file_config else {}
    base.update(overrides)
    return RunConfig.from_dict(base)
