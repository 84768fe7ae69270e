"""Model cards: the official Sapiens checkpoints, what they are and where they come from (spec §1).

A card says which task, size and format a checkpoint is, which keypoint or class schema its outputs
follow, where it lives on Hugging Face and which file names it goes by. File names are opaque
strings that changed over time (the 1B pose file exists as AP_639 and AP_640), so each card holds
glob patterns and the repository is listed at download time rather than trusting one name.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .sapiens2_cards import SAPIENS2_CARDS, Sapiens2Card
from .schema import class_schema, keypoint_schema
from .task_specs import task_spec

SIZES = ("0.3b", "0.6b", "1b", "2b")

# Official base names per (task, variant, size); the first is the preferred one. From spec §1.2.
# Combinations absent here (2B goliath pose/seg) have configs but no checkpoint we could confirm.
OFFICIAL_BASENAMES: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("pose", "goliath", "0.3b"): ("sapiens_0.3b_goliath_best_goliath_AP_573",),
    ("pose", "goliath", "0.6b"): ("sapiens_0.6b_goliath_best_goliath_AP_609",),
    ("pose", "goliath", "1b"): ("sapiens_1b_goliath_best_goliath_AP_639", "sapiens_1b_goliath_best_goliath_AP_640"),
    ("pose", "coco", "0.3b"): ("sapiens_0.3b_coco_best_coco_AP_796",),
    ("pose", "coco", "0.6b"): ("sapiens_0.6b_coco_best_coco_AP_812",),
    ("pose", "coco", "1b"): ("sapiens_1b_coco_best_coco_AP_821",),
    ("pose", "coco", "2b"): ("sapiens_2b_coco_best_coco_AP_822",),
    ("pose", "coco_wholebody", "0.3b"): ("sapiens_0.3b_coco_wholebody_best_coco_wholebody_AP_620",),
    ("pose", "coco_wholebody", "0.6b"): ("sapiens_0.6b_coco_wholebody_best_coco_wholebody_AP_695",),
    ("pose", "coco_wholebody", "1b"): ("sapiens_1b_coco_wholebody_best_coco_wholebody_AP_727",),
    ("pose", "coco_wholebody", "2b"): ("sapiens_2b_coco_wholebody_best_coco_wholebody_AP_745",),
    ("seg", "goliath", "0.3b"): ("sapiens_0.3b_goliath_best_goliath_mIoU_7673_epoch_194",),
    ("seg", "goliath", "0.6b"): ("sapiens_0.6b_goliath_best_goliath_mIoU_7777_epoch_178",),
    ("seg", "goliath", "1b"): ("sapiens_1b_goliath_best_goliath_mIoU_7994_epoch_151",),
    ("depth", "render_people", "0.3b"): ("sapiens_0.3b_render_people_epoch_100",),
    ("depth", "render_people", "0.6b"): ("sapiens_0.6b_render_people_epoch_70",),
    ("depth", "render_people", "1b"): ("sapiens_1b_render_people_epoch_88",),
    ("depth", "render_people", "2b"): ("sapiens_2b_render_people_epoch_25",),
    ("normal", "render_people", "0.3b"): ("sapiens_0.3b_normal_render_people_epoch_66",),
    ("normal", "render_people", "0.6b"): ("sapiens_0.6b_normal_render_people_epoch_200",),
    ("normal", "render_people", "1b"): ("sapiens_1b_normal_render_people_epoch_115",),
    ("normal", "render_people", "2b"): ("sapiens_2b_normal_render_people_epoch_70",),
}

# Output layout per variant: the schema a model's channels follow and their count.
VARIANT_OUTPUTS = {
    ("pose", "goliath"): ("goliath_308", None),
    ("pose", "coco"): ("coco_17", None),
    ("pose", "coco_wholebody"): ("coco_wholebody_133", None),
    ("seg", "goliath"): (None, "sapiens_28"),
    ("depth", "render_people"): (None, None),
    ("normal", "render_people"): (None, None),
}


@dataclass(frozen=True)
class FormatInfo:
    name: str  # backend format this file loads with
    suffix: str  # appended to the base name
    repo_suffix: str  # appended to the Hugging Face repo id
    dtype: str
    # Where the non-Meta COCO repo keeps this format (spec §1.2: sapiens_host / sapiens_lite_host layout).
    coco_folder: str


FORMATS = {
    "torchscript": FormatInfo(
        "torchscript",
        "_torchscript.pt2",
        "-torchscript",
        "float32",
        "sapiens_lite_host/torchscript/pose/checkpoints/sapiens_{size}",
    ),
    "bfloat16": FormatInfo(
        "exported",
        "_bfloat16.pt2",
        "-bfloat16",
        "bfloat16",
        "sapiens_lite_host/bfloat16/pose/checkpoints/sapiens_{size}",
    ),
    "pth": FormatInfo("pth", ".pth", "", "float32", "sapiens_host/pose/checkpoints/sapiens_{size}"),
}
COCO_REPO = "noahcao/sapiens-pose-coco"
# File sizes seen on the hub (spec §1.3), for download estimates only.
APPROX_BYTES = {
    ("float32", "0.3b"): 1.34e9,
    ("float32", "0.6b"): 2.67e9,
    ("float32", "1b"): 4.67e9,
    ("float32", "2b"): 8.71e9,
    ("bfloat16", "0.3b"): 6.82e8,
    ("bfloat16", "0.6b"): 1.35e9,
    ("bfloat16", "1b"): 2.35e9,
    ("bfloat16", "2b"): 4.36e9,
}


@dataclass(frozen=True)
class ModelCard:
    task: str
    variant: str
    size: str
    format: str  # key of FORMATS: torchscript | bfloat16 | pth
    basenames: tuple[str, ...] = field(repr=False)

    @property
    def id(self) -> str:
        variant = "" if self.variant in ("goliath", "render_people") else f"-{self.variant.replace('_', '')}"
        return f"{self.task}{variant}-{self.size}-{self.format}"

    @property
    def format_info(self) -> FormatInfo:
        return FORMATS[self.format]

    @property
    def backend_format(self) -> str:
        return self.format_info.name

    @property
    def hf_repo(self) -> str:
        if self.task == "pose" and self.variant != "goliath":
            return COCO_REPO
        return f"facebook/sapiens-{self.task}-{self.size}{self.format_info.repo_suffix}"

    @property
    def filenames(self) -> tuple[str, ...]:
        return tuple(b + self.format_info.suffix for b in self.basenames)

    @property
    def repo_folder(self) -> str:
        """Folder inside the repository where the file is expected ('' = root; listing decides in the end)."""
        return self.format_info.coco_folder.format(size=self.size) if self.hf_repo == COCO_REPO else ""

    @cached_property
    def file_patterns(self) -> tuple[str, ...]:
        """Globs a file name of this card matches: the known names, plus the same stem with any metric value."""
        patterns = list(self.filenames)
        for base in self.basenames:
            stem, sep, _metric = base.rpartition("_AP_")
            if sep:
                patterns.append(f"{stem}_AP_*{self.format_info.suffix}")
        return tuple(dict.fromkeys(patterns))

    def matches(self, filename: str) -> bool:
        return any(fnmatch.fnmatchcase(filename, p) for p in self.file_patterns)

    @property
    def keypoint_schema_name(self) -> str | None:
        return VARIANT_OUTPUTS[(self.task, self.variant)][0]

    @property
    def class_schema_name(self) -> str | None:
        return VARIANT_OUTPUTS[(self.task, self.variant)][1]

    @property
    def output_channels(self) -> int:
        if self.keypoint_schema_name:
            return len(keypoint_schema(self.keypoint_schema_name))
        if self.class_schema_name:
            return len(class_schema(self.class_schema_name))
        return task_spec(self.task).default_channels

    @property
    def output_shape(self) -> tuple[int, int, int]:
        h, w = task_spec(self.task).output_size
        return (self.output_channels, h, w)

    @property
    def patch_padding(self) -> int:
        return task_spec(self.task).patch_padding

    @property
    def approx_bytes(self) -> float:
        return APPROX_BYTES[(self.format_info.dtype, self.size)]

    def describe(self) -> dict:
        """JSON-ready summary, stored with predictions as provenance."""
        return {
            "card": self.id,
            "task": self.task,
            "variant": self.variant,
            "size": self.size,
            "format": self.format,
            "hf_repo": self.hf_repo,
            "output_shape": list(self.output_shape),
        }


def _build_cards() -> tuple[ModelCard, ...]:
    return tuple(
        ModelCard(task, variant, size, fmt, names)
        for (task, variant, size), names in OFFICIAL_BASENAMES.items()
        for fmt in FORMATS
    )


CARDS: tuple[ModelCard, ...] = _build_cards()


@dataclass(frozen=True)
class DetectorCard:
    """The person detector the Sapiens pose demos use (RTMDet-m, mmdet layout; spec rtmdet §3): boxes, not maps.

    Downloaded and discovered like the Sapiens cards (``models download detector-rtmdet-m``), opened by
    :mod:`sapiens_core.detect`, never by the pipeline's task backends.
    """

    id: str
    size: str
    hf_repo: str
    filenames: tuple[str, ...]
    file_patterns: tuple[str, ...]
    approx_bytes: float
    task: str = "detect"
    format: str = "pth"
    backend_format: str = "pth"
    outputs: str = "person boxes"

    def matches(self, filename: str) -> bool:
        return any(fnmatch.fnmatchcase(filename, p) for p in self.file_patterns)

    def describe(self) -> dict:
        return {"card": self.id, "task": self.task, "size": self.size, "format": self.format, "hf_repo": self.hf_repo}


DETECTOR_CARDS: tuple[DetectorCard, ...] = (
    DetectorCard(
        id="detector-rtmdet-m",
        size="m",
        hf_repo="facebook/sapiens-pose-bbox-detector",
        filenames=("rtmdet_m_8xb32-100e_coco-obj365-person-235e8209.pth",),
        # OpenMMLab's publish script appends the first 8 hex digits of the file's sha256 to the name.
        file_patterns=("rtmdet_m_8xb32-100e_coco-obj365-person-*.pth",),
        approx_bytes=1.1e8,  # 27.4 M float32 values in the legacy (non-zip) torch format
    ),
)


def find_card(card_id: str) -> ModelCard | Sapiens2Card | DetectorCard:
    for card in (*CARDS, *SAPIENS2_CARDS, *DETECTOR_CARDS):
        if card.id == card_id:
            return card
    raise KeyError(f"no model card {card_id!r}; `python -m sapiens_core models list` shows them all")


TRAINED_CARD_SUFFIX = ".card.json"


@dataclass(frozen=True)
class TrainedCard:
    """The card ``python -m trainer export`` writes beside a finetuned model (``MODEL_FILE.card.json``).

    Quacks like ModelCard where the pipeline reads one: the schemas its outputs follow and a provenance summary.
    A custom keypoint set travels inside the card and is registered by name when the card is read.
    """

    task: str
    data: dict

    @property
    def keypoint_schema_name(self) -> str | None:
        schema = self.data.get("keypoint_schema")
        return schema.get("name") if isinstance(schema, dict) else schema

    @property
    def class_schema_name(self) -> str | None:
        return self.data.get("class_schema")

    def describe(self) -> dict:
        # family and licence: a model finetuned from Sapiens2 weights stays under the Sapiens2 License.
        keys = ("task", "arch", "family", "licence", "base_checkpoint", "epochs", "steps", "final_metrics")
        return {"card": "trained", **{k: self.data[k] for k in keys if k in self.data}}


def trained_card_path(model_path) -> Path:
    model_path = Path(model_path)
    return model_path.with_name(model_path.name + TRAINED_CARD_SUFFIX)


def read_trained_card(model_path) -> TrainedCard | None:
    """The trained-model card beside ``model_path``, or None; a card that cannot be read is an error, not None."""
    path = trained_card_path(model_path)
    if not path.is_file():
        return None
    from .errors import CheckpointError
    from .schema import KeypointSchema, register_keypoint_schema

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        schema = data.get("keypoint_schema")
        if isinstance(schema, dict):
            register_keypoint_schema(KeypointSchema.from_dict(schema))
        return TrainedCard(str(data["task"]), data)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"{path.name} is not a readable model card ({error})") from None


def card_for_path(model_path) -> ModelCard | Sapiens2Card | TrainedCard | None:
    """A finetuned model's own card when one lies beside the file, else the official Sapiens card its name matches.

    Never a detector's card: callers read task outputs (schemas, shapes) from the answer, which a detector lacks.
    """
    card = read_trained_card(model_path) or card_for_filename(Path(model_path).name)
    return None if isinstance(card, DetectorCard) else card


def card_for_filename(filename: str) -> ModelCard | Sapiens2Card | DetectorCard | None:
    """The card an official file name belongs to, or None for a file of our own or a stranger's."""
    return next((c for c in (*CARDS, *SAPIENS2_CARDS, *DETECTOR_CARDS) if c.matches(filename)), None)


def cards(task: str | None = None, size: str | None = None, fmt: str | None = None) -> list[ModelCard]:
    return [
        c
        for c in CARDS
        if (task is None or c.task == task) and (size is None or c.size == size) and (fmt is None or c.format == fmt)
    ]
