"""``export``: a trained checkpoint -> a model file ``predict`` and the app load like an official one, plus its card.

Same I/O contract as the official files (spec §2): fp32 input (B, 3, 1024, 768), raw head output, batch dynamic,
no preprocessing inside. The card (``MODEL_FILE.card.json``) says task, arch, keypoint schema (in full, so a
custom set shows with its own names and skeleton), class set, base checkpoint, data, epochs and the final metrics.

A Sapiens2 run exports as ``.safetensors`` in the original key layout, the format Sapiens2 itself ships: the app
rebuilds the network from the keys and so knows the family, whose pre-processing differs per task (stretch for
seg, padding for normal). A traced TorchScript/pt2/ONNX file would not say which family it is, so those formats
are refused for Sapiens2. A model finetuned from Sapiens2 weights is a derivative under the Sapiens2 License; its
card says so.
"""

from __future__ import annotations

import argparse
import copy
import json
import warnings
from pathlib import Path

import torch

from sapiens_core.cards import trained_card_path
from sapiens_core.errors import SapiensError
from sapiens_core.io.atomic import atomic_path, atomic_write_text
from sapiens_core.nn.family import model_for_state_dict
from sapiens_core.sapiens2_cards import LICENCE as SAPIENS2_LICENCE
from sapiens_core.task_specs import INPUT_SIZE, task_spec

from .checkpoint import find_checkpoint, load_trainer_checkpoint
from .models import V2, family_of

SUFFIXES = {"torchscript": "_torchscript.pt2", "pt2": "_float32.pt2", "onnx": ".onnx", "safetensors": ".safetensors"}


def _example(batch: int = 1) -> torch.Tensor:
    return torch.zeros(batch, 3, *INPUT_SIZE)


def _torchscript(model, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent branches are expected
        traced = torch.jit.trace(model, _example(1), check_trace=False)
    torch.jit.save(traced, str(path))


def _pt2(model, path: Path) -> None:
    # Example batch 2: export specialises a dimension whose example size is 1.
    batch = torch.export.Dim("batch", min=1, max=task_spec(model.task).max_batch)
    program = torch.export.export(model, (_example(2),), dynamic_shapes=({0: batch},))
    torch.export.save(program, path)


def _onnx(model, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (_example(1),),
            str(path),
            dynamo=False,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            opset_version=17,
        )


def _safetensors(model, path: Path) -> None:
    from safetensors.torch import save_file

    # The state dict as it is: fp32 weights and the bf16 ``rope_embed.periods`` buffer, as the releases hold it.
    state = {key: value.detach().contiguous() for key, value in model.state_dict().items()}
    save_file(state, str(path), metadata={"format": "pt"})


WRITERS = {"torchscript": _torchscript, "pt2": _pt2, "onnx": _onnx, "safetensors": _safetensors}


def export_model(source: Path, fmt: str | None, out_dir: Path, name: str | None = None) -> tuple[Path, Path]:
    """Write the model and its card into ``out_dir``; returns (model path, card path). ``fmt`` None: safetensors
    for Sapiens2, TorchScript for v1."""
    checkpoint = find_checkpoint(source)
    state, meta = load_trainer_checkpoint(checkpoint)
    task = meta.get("task")
    model = model_for_state_dict(state, task=task, source=checkpoint.name)
    family = family_of(model)
    fmt = fmt or ("safetensors" if family == V2 else "torchscript")
    if family == V2 and fmt != "safetensors":
        raise SapiensError(
            f"a Sapiens2 model exports as safetensors only (not {fmt}): the app tells the family, and so the "
            "per-task pre-processing, from the keys, which a traced file does not keep"
        )
    run_dir = checkpoint.parent
    stem = name or f"{run_dir.name}_{model.task}_{meta.get('arch', model.arch.name)}"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{stem}{SUFFIXES[fmt]}"
    with atomic_path(target) as tmp:
        WRITERS[fmt](copy.deepcopy(model).eval(), tmp)
    config = meta.get("config", {})
    history = meta.get("history", [])
    card = {
        "task": model.task,
        "arch": meta.get("arch", model.arch.name),
        "format": fmt,
        "input_size": list(INPUT_SIZE),
        "output_channels": model.num_outputs,
        "keypoint_schema": meta.get("keypoint_schema"),
        "family": family,
        "class_schema": ("sapiens2_29" if family == V2 else "sapiens_28") if model.task == "seg" else None,
        "base_checkpoint": config.get("init"),
        "data": {"train": config.get("data"), "val": config.get("val")},
        "epochs": meta.get("epoch"),
        "steps": meta.get("step"),
        "final_metrics": next((r["eval"] for r in reversed(history) if "eval" in r), None),
        "final_loss": next((r["loss"] for r in reversed(history) if "loss" in r), None),
        "checkpoint": checkpoint.name,
    }
    if family == V2 and config.get("init"):
        card["licence"] = SAPIENS2_LICENCE  # finetuned Sapiens2 weights are a derivative (Sapiens2 spec §5)
    card_path = trained_card_path(target)
    atomic_write_text(card_path, json.dumps(card, indent=2) + "\n")
    return target, card_path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export",
        help="write a trained model predict and the app load like an official one, plus its model card",
        description="Export RUN_DIR (its final.pth, else last.pth) or one checkpoint file as TorchScript, a "
        "torch.export program (pt2), ONNX or safetensors (Sapiens2: safetensors only, the default), with "
        "MODEL.card.json beside it.",
    )
    p.add_argument("source", type=Path, metavar="RUN_DIR[/CKPT]")
    p.add_argument(
        "--format", choices=tuple(WRITERS), help="default: safetensors for a Sapiens2 run, torchscript for v1"
    )
    p.add_argument("--out", type=Path, required=True, metavar="MODELS_DIR")
    p.add_argument("--name", help="file stem (default: RUNNAME_TASK_ARCH)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model_path, card_path = export_model(args.source, args.format, args.out, args.name)
    print(model_path)
    print(card_path)
    return 0
