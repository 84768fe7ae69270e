"""Tell a model file's format from its content (spec §0.2: ``*_torchscript.pt2`` is TorchScript, not torch.export).

Names lie (a TorchScript file renamed ``.pth`` is still TorchScript), so only the bytes decide. Every check is cheap:
a zip's central directory, or the first bytes of the file; nothing is unpickled or parsed in full.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..errors import CheckpointError
from ..io.safetensors_files import looks_like_safetensors

FORMAT_NAMES = ("torchscript", "exported", "pth", "onnx", "safetensors")
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
# onnx.ModelProto fields and their protobuf wire types (0 varint, 2 length-delimited); ir_version (1) comes first.
_ONNX_FIELDS = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2}


def _classify_zip(names: list[str]) -> str | None:
    # torch archives put everything under one root folder, whose name is the original file stem.
    leaves = {name.split("/", 1)[-1] for name in names}
    if "constants.pkl" in leaves or any(leaf.startswith("code/") for leaf in leaves):
        return "torchscript"
    if "archive_format" in leaves or any(leaf.startswith("models/") and leaf.endswith(".json") for leaf in leaves):
        return "exported"  # torch.export.save layout since torch 2.7 (pt2 archive)
    if "serialized_exported_program.json" in leaves:
        return "exported"  # the older torch.export.save layout (the official bf16 files, torch 2.3)
    if "data.pkl" in leaves:
        return "pth"
    return None


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise ValueError("bad varint")


def looks_like_onnx(head: bytes) -> bool:
    """The first one or two protobuf fields must be ModelProto fields with the right wire type."""
    try:
        pos = fields = 0
        while pos < len(head) and fields < 2:
            tag, pos = _varint(head, pos)
            number, wire = tag >> 3, tag & 7
            if _ONNX_FIELDS.get(number) != wire:
                return False
            if fields == 0 and not (number == 1 and 1 <= _varint(head, pos)[0] <= 100):
                return False  # exporters always write a plausible ir_version first
            value, pos = _varint(head, pos)
            if wire == 2:
                pos += value  # skip the payload; the next tag may lie beyond the bytes read, which is fine
            fields += 1
        return fields >= 1
    except ValueError:
        return False


def detect_format(path: str | Path) -> str:
    """One of FORMAT_NAMES; CheckpointError (one line, naming the file) for anything else."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path.name} does not exist")
    if not path.is_file():
        raise CheckpointError(f"{path.name} is not a file")
    with path.open("rb") as handle:
        head = handle.read(256)
    if not head:
        raise CheckpointError(f"{path.name} is empty")
    if head[:4] in _ZIP_MAGICS:
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            raise CheckpointError(f"{path.name} is truncated or corrupt (unreadable zip archive)") from None
        kind = _classify_zip(names)
        if kind is None:
            raise CheckpointError(f"{path.name} is a zip archive but not a PyTorch model")
        return kind
    if head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pth"  # a bare pickle: torch.save's legacy (pre-1.6) format
    if looks_like_safetensors(head, path.stat().st_size):  # before ONNX: a header length can parse as protobuf
        return "safetensors"
    if looks_like_onnx(head):
        return "onnx"
    raise CheckpointError(
        f"{path.name} is not a model file this app reads (TorchScript, ExportedProgram, .pth, ONNX, safetensors)"
    )
