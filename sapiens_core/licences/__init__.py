"""Licences that model weights come under, which a user must accept before the first download (Sapiens2 spec §5).

The Sapiens2 License binds whoever accepts it *or uses* the weights, so the app shows it, asks before
downloading, and keeps a copy beside the weights. The text shipped here (package data, ``data/*.md``) is a summary
of the terms with the address of the binding text; its use restrictions are read from its "Use restrictions"
section, so the summary and what the model manager lists cannot drift apart. Where the model's repository holds
its own licence file, the download keeps that binding text beside the weights too (``hub``).

Acceptance is remembered per licence *and text*: ``Licence.digest`` changes when the shipped text changes (Meta
may change the terms at any time), and a stored acceptance of an older text no longer counts.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

from ..io.atomic import atomic_write_text

__all__ = ["Licence", "LICENCES", "licence_for", "write_licence_copy"]


@dataclass(frozen=True)
class Licence:
    name: str  # as the cards name it, e.g. "Sapiens2 License"
    key: str  # short and stable: where acceptance is stored, and the copy's file name
    url: str  # the binding text
    data_file: str  # the shipped summary, under sapiens_core/licences/data/

    @cached_property
    def text(self) -> str:
        return (resources.files(__name__) / "data" / self.data_file).read_text(encoding="utf-8")

    @cached_property
    def digest(self) -> str:
        """Identifies the text a user accepted (sha256, first 16 hex digits)."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:16]

    @cached_property
    def restrictions(self) -> tuple[str, ...]:
        """The bullet points of the "Use restrictions" section, without the trailing ';' or '.'."""
        section = re.search(r"^## Use restrictions\n(.*?)(?=^## |\Z)", self.text, re.MULTILINE | re.DOTALL)
        if section is None:
            raise ValueError(f"{self.data_file} has no '## Use restrictions' section")
        items = re.findall(r"^- (.+?)[;.]?$", section.group(1), re.MULTILINE)
        return tuple(items)

    @property
    def copy_name(self) -> str:
        """The file written beside downloaded weights."""
        return f"LICENSE-{self.key}.md"


SAPIENS2 = Licence(
    name="Sapiens2 License",
    key="sapiens2",
    url="https://github.com/facebookresearch/sapiens2/blob/main/LICENSE.md",
    data_file="sapiens2.md",
)
LICENCES: dict[str, Licence] = {SAPIENS2.name: SAPIENS2}


def licence_for(card) -> Licence | None:
    """The licence a card's weights come under that must be accepted first; None where none is known to us."""
    return LICENCES.get(getattr(card, "licence", None) or "")


def write_licence_copy(licence: Licence, folder: str | Path) -> Path:
    """Write the licence text into ``folder`` (beside the weights), atomically; returns its path."""
    path = Path(folder) / licence.copy_name
    atomic_write_text(path, licence.text)
    return path
