"""Which person detector runs: a file the user names, or ``auto`` (spec: issue 11's order of preference).

``auto``: the installed official RTMDet-m (found in the models folder like every other installed model), else the
seg model's foreground when a seg model runs, else none (each frame is one whole-image box). The returned
sentence says which was chosen, for the log and the terminal.
"""

from __future__ import annotations

from pathlib import Path

from ..backends.formats import detect_format
from ..cards import DETECTOR_CARDS
from ..errors import CheckpointError
from ..models_dir import installed_for
from .detector import PersonDetector, RTMDetDetector
from .from_mask import ForegroundDetector
from .onnx_detector import OnnxDetector
from .postfilter import PersonFilter

AUTO = "auto"


def open_detector(path: str | Path, person_filter: PersonFilter | None = None, device: str = "auto") -> PersonDetector:
    """An RTMDet ``.pth`` or an ONNX detector, chosen by the file's content; CheckpointError for anything else."""
    fmt = detect_format(path)
    if fmt == "pth":
        return RTMDetDetector.from_checkpoint(path, person_filter, device)
    if fmt == "onnx":
        return OnnxDetector(path, person_filter, device)
    raise CheckpointError(f"{Path(path).name} is a {fmt} file; a detector is an RTMDet .pth or an ONNX model")


def choose_detector(
    choice: str | Path | None,
    person_filter: PersonFilter | None = None,
    device: str = "auto",
    seg_runs: bool = False,
    models_dir: Path | None = None,
) -> tuple[PersonDetector | None, str]:
    """(detector or None, one sentence saying where person boxes come from)."""
    if choice is None:
        return None, "person boxes: the whole image"
    if str(choice) != AUTO:
        detector = open_detector(choice, person_filter, device)
        return detector, f"person boxes: {detector.name}"
    for card in DETECTOR_CARDS:
        installed = installed_for(card, models_dir)
        if installed is not None:
            detector = RTMDetDetector.from_checkpoint(installed, person_filter, device)
            return detector, f"person boxes (auto): the official detector {card.id} ({installed})"
    if seg_runs:
        return ForegroundDetector(person_filter), "person boxes (auto): the seg model's foreground (no detector found)"
    return None, "person boxes (auto): the whole image (no detector installed and no seg model running)"
