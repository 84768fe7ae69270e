"""Which model runs for each task: the model manager's choices, the command line, and the quick pose default.

The quick model (MediaPipe Holistic on the CPU, :mod:`sapiens_core.quick`) needs no download, so a fresh
install shows real keypoints at once. Its preference has three states:

* ``auto`` (never chosen): the quick model gives pose whenever no Sapiens pose checkpoint is chosen;
* ``on``: it gives pose even when a Sapiens pose checkpoint is chosen (a fast pre-annotator on the CPU);
* ``off``: never.

Models named on the command line are exactly what runs (``--screenshot`` runs "the given models"), so they
bypass both the model manager and the quick default.

Person boxes come from a detector under the ``detector`` key of the same mapping (a file, or ``auto``: the
installed official detector, else the seg model's foreground, else the whole image), so a change of detector
reloads the pipeline like a change of model. ``open_pipeline`` turns the mapping into a pipeline.

The precision setting (Run → Precision) travels the same way, under the ``precision`` key and only when it is
not the faithful default: a change reloads the pipeline, and every place that opens one (a Run, the capture
panel) runs what the badge says.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sapiens_core.detect.choice import AUTO, choose_detector
from sapiens_core.pipeline import QUICK_MODEL_ID, Pipeline
from sapiens_core.quick.pose import QuickPose

from ..settings import TASKS, Settings

log = logging.getLogger(__name__)
QUICK_LABEL = "quick model (MediaPipe Holistic, CPU)"
DETECTOR = "detector"  # the key of the person detector's choice in a models mapping
PRECISION = "precision"  # the key of a non-default precision (bf16) in a models mapping


def choose_models(settings: Settings, overrides: dict[str, str], quick_ok: Callable[[], bool]) -> dict[str, str]:
    """``{task: checkpoint path or QUICK_MODEL_ID}`` for the tasks that will run. ``quick_ok`` is only asked
    when the quick model would be used (it imports mediapipe the first time)."""
    if overrides:
        return _with_precision({t: p for t, p in overrides.items() if p}, settings.precision)
    enabled = settings.enabled_tasks()
    paths = {t: settings.model_path(t) for t in TASKS if t in enabled}
    paths = {t: p for t, p in paths.items() if p}
    if "pose" in enabled and wants_quick(settings.quick_pose, has_pose_checkpoint="pose" in paths) and quick_ok():
        paths["pose"] = QUICK_MODEL_ID
    chosen = {t: paths[t] for t in TASKS if t in paths}  # task order, for stable badges and pipeline keys
    if "pose" in chosen and settings.detect_persons:
        chosen[DETECTOR] = settings.model_path(DETECTOR) or AUTO
    return _with_precision(chosen, settings.precision)


def _with_precision(models: dict[str, str], precision: str) -> dict[str, str]:
    # Only beside models: an empty mapping must still mean "no models chosen".
    if models and precision != "auto" and PRECISION not in models:
        models[PRECISION] = precision
    return models


def open_pipeline(models: dict[str, str], device: str = "auto") -> Pipeline:
    """Load what ``models`` names (off the GUI thread: seconds to minutes), the person detector included."""
    models = dict(models)
    choice = models.pop(DETECTOR, None)
    precision = models.pop(PRECISION, None) or "auto"
    detector, sentence = choose_detector(choice, device=device, seg_runs="seg" in models) if choice else (None, "")
    try:
        pipeline = Pipeline.from_paths(models, device=device, detector=detector, precision=precision)
    except BaseException:
        if detector is not None:
            detector.close()
        raise
    if sentence:
        log.info(sentence)
    return pipeline


def wants_quick(mode: str, has_pose_checkpoint: bool) -> bool:
    return mode == "on" or (mode == "auto" and not has_pose_checkpoint)


def quick_note(settings: Settings, quick_ok: bool, hint: str) -> str:
    """For the model manager: whether the quick model gives pose, and how to change it (or install it)."""
    if not quick_ok:
        return f"The quick pose model (MediaPipe, CPU, no download) is not installed: {hint}"
    toggle = "Run → Quick pose model"
    if "pose" not in settings.enabled_tasks():
        return "Pose is switched off: neither a pose checkpoint nor the quick pose model runs."
    if settings.quick_pose == "off":
        return f"The quick pose model is switched off ({toggle} switches it on)."
    if settings.quick_pose == "on":
        return (
            f"Pose comes from the quick pose model (MediaPipe Holistic, CPU), even beside a pose checkpoint "
            f"({toggle} switches it off)."
        )
    if settings.model_path("pose"):
        return f"The pose checkpoint gives pose; without one the quick pose model would ({toggle} prefers it)."
    return (
        "No pose checkpoint chosen: pose comes from the quick pose model (MediaPipe Holistic, CPU, no "
        "download). Choose a checkpoint above for Sapiens' own keypoints."
    )


def describe_models(models: dict[str, str]) -> str:
    """One line for the status badge, naming the quick model as such (never as a file called 'quick')."""
    if not models:
        return "no models chosen"
    text = ", ".join(
        f"person boxes: {'auto' if p == AUTO else Path(p).name}"
        if t == DETECTOR
        else f"{t}: {QUICK_LABEL if p == QUICK_MODEL_ID else Path(p).name}"
        for t, p in models.items()
        if t != PRECISION
    )
    return f"{text} · {models[PRECISION]}" if PRECISION in models else text


def describe_pipeline(pipeline: Pipeline) -> str:
    """What a loaded pipeline runs where (the provider that actually runs), the quick model named as such."""
    parts = [
        f"{t}: {QUICK_LABEL if isinstance(m.backend, QuickPose) else m.backend.provider}"
        for t, m in pipeline.models.items()
    ]
    if pipeline.detector is not None:
        parts.append(f"person boxes: {pipeline.detector.name}")
    text = ", ".join(parts) or "no models"
    # The dtype that ran, as each document's provenance records it: a bf16 file runs bf16 whatever the setting.
    ran = sorted({p for m in pipeline.models.values() if (p := getattr(m.backend, "precision", None)) != "fp32" and p})
    return f"{text} · {', '.join(ran)}" if ran else text
