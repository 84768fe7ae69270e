"""Safetensors files (the Sapiens2 releases): the header read on its own, the tensors loaded without any code.

A safetensors file is an 8-byte little-endian header length, a JSON header (name -> dtype, shape, offsets, plus an
optional ``__metadata__``), then raw tensor bytes. Nothing in it can execute: that is why Sapiens2 ships it and why
no allow-list is needed here. Reading the header alone tells the family and task of a multi-GB file in
microseconds.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import torch

from ..errors import CheckpointError

# A header larger than this is no model's (the reference implementation refuses 100 MB as well).
MAX_HEADER_BYTES = 100 * 2**20


def looks_like_safetensors(head: bytes, file_size: int) -> bool:
    """The first bytes of a file: a plausible header length, then the JSON object's opening brace."""
    if len(head) < 9:
        return False
    (length,) = struct.unpack("<Q", head[:8])
    return 2 <= length <= min(MAX_HEADER_BYTES, file_size - 8) and head[8:9] == b"{"


def read_header(path: str | Path) -> dict[str, dict]:
    """name -> {"dtype", "shape", "data_offsets"} (``__metadata__`` left out); CheckpointError for a bad header."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise CheckpointError(f"{path.name} is too short to be a safetensors file")
            (length,) = struct.unpack("<Q", prefix)
            if length > MAX_HEADER_BYTES:
                raise CheckpointError(f"{path.name} has a safetensors header of {length} bytes (corrupt)")
            raw = handle.read(length)
    except OSError as error:
        raise CheckpointError(f"{path.name} cannot be read ({error.strerror or error})") from None
    if len(raw) < length:
        raise CheckpointError(f"{path.name} is truncated (its safetensors header is cut short)")
    try:
        header = json.loads(raw)
    except ValueError:
        raise CheckpointError(f"{path.name} has a corrupt safetensors header (not JSON)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path.name} has a corrupt safetensors header (not a JSON object)")
    header.pop("__metadata__", None)
    return header


def load_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    """All tensors on the CPU. Truncation and corruption are CheckpointErrors naming the file, in one line."""
    from safetensors.torch import load_file

    path = Path(path)
    header = read_header(path)  # a clear message for a bad header before the library's own
    end = max((int(v["data_offsets"][1]) for v in header.values() if isinstance(v, dict)), default=0)
    with path.open("rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
    size, needed = path.stat().st_size, 8 + length + end
    if size < needed:
        raise CheckpointError(f"{path.name} is truncated ({size} bytes; its header needs {needed})")
    try:
        return load_file(str(path), device="cpu")
    except Exception as error:  # SafetensorError and friends: the file is damaged in a way the header did not show
        text = str(error).strip().splitlines()
        raise CheckpointError(f"{path.name} is corrupt ({text[0][:160] if text else type(error).__name__})") from None
