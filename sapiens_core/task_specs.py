"""The I/O contract of each Sapiens task model (spec §2, §5): one table, so a wrong fact is a one-line change."""

from __future__ import annotations

from dataclasses import dataclass

INPUT_SIZE = (1024, 768)  # (H, W) of every task model's input
# Exact ImageNet statistics used in training (RGB, 0-255 scale); the lite demos' rounded values are not used.
MEAN_RGB = (123.675, 116.28, 103.53)
STD_RGB = (58.395, 57.12, 57.375)


@dataclass(frozen=True)
class TaskSpec:
    name: str
    patch_padding: int  # patch-embed Conv2d padding: differs per task (spec §0.1)
    output_size: tuple[int, int]  # (h, w) of the raw model output at 1024x768 input
    default_channels: int  # output channels of the official checkpoints (pose: per keypoint set)
    head_prefix: str  # state-dict prefix of the head in original .pth files
    max_batch: int  # batch limit of the official bf16 ExportedPrograms


TASKS: dict[str, TaskSpec] = {
    "pose": TaskSpec(
        "pose", patch_padding=2, output_size=(256, 192), default_channels=308, head_prefix="head.", max_batch=48
    ),
    "seg": TaskSpec(
        "seg", patch_padding=0, output_size=(512, 384), default_channels=28, head_prefix="decode_head.", max_batch=32
    ),
    "depth": TaskSpec(
        "depth", patch_padding=0, output_size=(1024, 768), default_channels=1, head_prefix="decode_head.", max_batch=32
    ),
    "normal": TaskSpec(
        "normal", patch_padding=2, output_size=(512, 384), default_channels=3, head_prefix="decode_head.", max_batch=32
    ),
}
TASK_NAMES = tuple(TASKS)  # the v1 tasks: what the v1 network, its checkpoints and the trainer know

# Tasks only Sapiens2 has (Sapiens2 spec §4.5, §4.7). Kept out of TASKS so v1 code (head inference from weight shapes,
# the trainer's choices) never offers them; the pipeline and the backends take them. The pointmap output crosses
# the backend as 4 channels: XYZ and the predicted scale s (nn.sapiens2_heads.POINTMAP_SCALE_CHANNEL); matting as
# 4 channels in [0, 1]: premultiplied foreground RGB and alpha (nn.sapiens2_heads.MATTING_ALPHA_CHANNEL).
SAPIENS2_ONLY_TASKS: dict[str, TaskSpec] = {
    "pointmap": TaskSpec(
        "pointmap",
        patch_padding=0,
        output_size=(1024, 768),
        default_channels=4,
        head_prefix="decode_head.",
        max_batch=32,
    ),
    "matting": TaskSpec(
        "matting",
        patch_padding=0,
        output_size=(1024, 768),
        default_channels=4,
        head_prefix="decode_head.",
        max_batch=32,
    ),
}
ALL_TASK_NAMES = TASK_NAMES + tuple(SAPIENS2_ONLY_TASKS)


def task_spec(name: str) -> TaskSpec:
    spec = TASKS.get(name) or SAPIENS2_ONLY_TASKS.get(name)
    if spec is None:
        raise ValueError(f"unknown task {name!r}; expected one of {', '.join(ALL_TASK_NAMES)}")
    return spec
