"""Model cards of the Sapiens2 releases (Sapiens2 spec §2.1): one ``facebook/sapiens2-{task}-{size}`` repository per
task and size, each holding ``sapiens2_{size}_{task}.safetensors``; plus matting at 1B.

Sizes come from the shipped table (``nn/data/sapiens2_models.tsv``: a size row with head widths has the four task
repositories; a "+matting-1b" in its repository column adds that one). The cards quack like ``cards.ModelCard``
where downloads, listings and provenance read one, and carry the licence they come under: the "Sapiens2 License",
which allows commercial use with use restrictions (v1's weights are CC-BY-NC-4.0).
"""

from __future__ import annotations

import csv
import fnmatch
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .nn.sapiens2_config import INPUT_SIZE, table_numbers

FAMILY = "sapiens2"
LICENCE = "Sapiens2 License"
LICENCE_URL = "https://github.com/facebookresearch/sapiens2/blob/main/LICENSE.md"
TASKS = ("pose", "seg", "normal", "pointmap")
# Output (C, h, w) per task at the 1024x768 input; pointmap carries XYZ plus the scale (nn.sapiens2_heads).
# Matting: alpha + premultiplied foreground RGB per the transformers docs; its head is UNVERIFIED (spec §4.7).
OUTPUT_SHAPES = {
    "pose": (308, 256, 192),
    "seg": (29, *INPUT_SIZE),
    "normal": (3, *INPUT_SIZE),
    "pointmap": (4, *INPUT_SIZE),
    "matting": (4, *INPUT_SIZE),
}
SCHEMAS = {"pose": ("goliath_308", None), "seg": (None, "sapiens2_29")}
# Stored dtype is UNVERIFIED (spec §2.2); download estimates assume float32, the larger of the two.
BYTES_PER_PARAM = 4


@dataclass(frozen=True)
class Sapiens2Card:
    task: str
    size: str
    format: str = "safetensors"
    backend_format: str = "safetensors"
    family: str = FAMILY
    variant: str = FAMILY
    licence: str = LICENCE
    licence_url: str = LICENCE_URL
    patch_padding: int = 0
    repo_folder: str = ""

    @property
    def id(self) -> str:
        return f"sapiens2-{self.task}-{self.size}"

    @property
    def hf_repo(self) -> str:
        return f"facebook/sapiens2-{self.task}-{self.size}"

    @property
    def filenames(self) -> tuple[str, ...]:
        return (f"sapiens2_{self.size}_{self.task}.safetensors",)

    @property
    def file_patterns(self) -> tuple[str, ...]:
        return self.filenames

    def matches(self, filename: str) -> bool:
        return any(fnmatch.fnmatchcase(filename, p) for p in self.file_patterns)

    @property
    def keypoint_schema_name(self) -> str | None:
        return SCHEMAS.get(self.task, (None, None))[0]

    @property
    def class_schema_name(self) -> str | None:
        return SCHEMAS.get(self.task, (None, None))[1]

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return OUTPUT_SHAPES[self.task]

    @property
    def output_channels(self) -> int:
        return self.output_shape[0]

    @property
    def approx_bytes(self) -> float:
        numbers = table_numbers(self.size)
        return (numbers["backbone"] + numbers.get(self.task, 0.0)) * BYTES_PER_PARAM

    def describe(self) -> dict:
        """JSON-ready summary, stored with predictions as provenance."""
        return {
            "card": self.id,
            "family": self.family,
            "task": self.task,
            "size": self.size,
            "format": self.format,
            "hf_repo": self.hf_repo,
            "licence": self.licence,
            "output_shape": list(self.output_shape),
        }


@cache
def _table() -> tuple[dict[str, str], ...]:
    text = (resources.files("sapiens_core.nn") / "data" / "sapiens2_models.tsv").read_text(encoding="utf-8")
    return tuple(csv.DictReader(text.splitlines(), delimiter="\t"))


def _build() -> tuple[Sapiens2Card, ...]:
    cards: list[Sapiens2Card] = []
    for row in _table():
        size = row["arch"].removeprefix("sapiens2_")
        if row["pose_head(deconv_out;conv_out)"].strip() != "-":
            cards += [Sapiens2Card(task, size) for task in TASKS]
        cards += [Sapiens2Card(m.group(1), m.group(2)) for m in re.finditer(r"\+(matting)-([\w.]+)", row["hf_repos"])]
    return tuple(cards)


SAPIENS2_CARDS: tuple[Sapiens2Card, ...] = _build()
