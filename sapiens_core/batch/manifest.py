"""``--list FILE``: the inputs of a dataset that is not one folder, one path per line.

Blank lines and lines starting with ``#`` are skipped; surrounding whitespace is not part of a path. A relative
path is relative to the list file's folder, so a list travels with its dataset (``find . -name '*.jpg' > list.txt``
run in the dataset's folder works from anywhere). Entries are checked later with the rest of the inputs: a
missing file is that entry's failure, not the run's.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import SapiensError

__all__ = ["read_manifest"]


def read_manifest(path: str | Path) -> list[Path]:
    """The paths the list names, in its order; SapiensError when the list itself cannot be read."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SapiensError(f"--list {path}: no such file") from None
    except UnicodeDecodeError:
        raise SapiensError(f"--list {path}: not a UTF-8 text file with one path per line") from None
    except OSError as exc:
        raise SapiensError(f"--list {path}: cannot read it ({exc.strerror or exc})") from None
    base = path.parent
    entries = []
    for line in text.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        item = Path(entry)
        entries.append(item if item.is_absolute() else base / item)
    return entries
