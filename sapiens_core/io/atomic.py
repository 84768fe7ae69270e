"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Every writer goes through a temporary file in the target's own folder (so the final ``os.replace`` is a
rename within one file system, which POSIX and Windows both perform atomically), flushed to disk with
``fsync`` before the rename. If anything fails, the temporary file is removed and the old file is untouched.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_path", "is_temp_name", "remove_stale_temps"]

# What ``_temp_name`` makes: ".<stem>.<16 hex digits>.tmp<suffix>".
_TEMP_NAME = re.compile(r"^\..*\.[0-9a-f]{16}\.tmp(\.[^.]*)?$")


def atomic_write_bytes(path: str | os.PathLike, data: bytes | bytearray | memoryview) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "xb") as f:
            f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (``\\n`` line endings on every platform, so files diff cleanly)."""
    atomic_write_bytes(path, text.encode(encoding))


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block ends without error it replaces ``path``.

    For writers that want a file name (``cv2.imwrite``, ``np.save``, ``Image.save``): the temporary name
    keeps the target's suffix because such writers choose the format from it (and ``np.save`` would
    otherwise append ``.npy``). The writer must create the file; an exception inside the block, or a
    writer that silently wrote nothing, leaves the old file as it was.
    """
    target = Path(path)
    tmp = _temp_name(target)
    try:
        yield tmp
        if not tmp.is_file():
            raise OSError(errno.EIO, "the writer produced no file", str(target))
        _copy_mode_of_existing(target, tmp)
        _fsync_file(tmp)
        os.replace(tmp, target)
        _fsync_folder(target.parent)
    except OSError as exc:
        _remove_quietly(tmp)
        raise _naming_target(exc, target) from exc
    except BaseException:
        _remove_quietly(tmp)
        raise


def _temp_name(target: Path) -> Path:
    """An unused name beside ``target``; not created, so that a writer which silently fails is noticed.

    A dot-name so folder scans (``find_images``) skip it; 64 random bits make a clash with another writer
    practically impossible (``atomic_write_bytes`` also opens it exclusively). Files created by ``open``
    get the usual permissions from the umask (``mkstemp`` would make them 0o600).
    """
    for _ in range(100):
        tmp = target.parent / f".{target.stem}.{secrets.token_hex(8)}.tmp{target.suffix}"
        if not os.path.lexists(tmp):
            return tmp
    raise FileExistsError(errno.EEXIST, "could not find a free temporary name", str(target))


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is one of our temporary names (a writer killed before its rename leaves one behind)."""
    return bool(_TEMP_NAME.match(name))


def remove_stale_temps(folder: str | os.PathLike, before: float) -> list[Path]:
    """Remove our temporary files in ``folder`` (not recursive) last modified before the time ``before``.

    Give the moment the current run started: a file untouched since before then belongs to a writer that was
    killed (a temporary file lives only while one file is written), while one that a writer of this run, or of
    another process writing into the same folder right now, is filling is newer. Returns what was removed;
    files that vanish or resist are left to the next run.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not is_temp_name(entry.name):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < before:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _copy_mode_of_existing(target: Path, tmp: Path) -> None:
    """Keep the permissions a user gave the file we are replacing."""
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return
    os.chmod(tmp, mode & 0o7777)


def _fsync_file(path: Path) -> None:
    # Opened read-write because Windows refuses to flush a read-only handle.
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows cannot open folders this way and needs no such step."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems (network shares) do not support it; the data itself is already flushed
        pass
    finally:
        os.close(fd)


def _remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _naming_target(exc: OSError, target: Path) -> OSError:
    """The same kind of error, but naming the file the caller asked for rather than our temporary file."""
    if exc.errno == errno.ENOSPC:
        why = "no space left on the disk; the previous version (if any) is unchanged"
    else:
        why = f"{exc.strerror or exc}; the previous version (if any) is unchanged"
    # OSError(errno, ...) picks the matching subclass (PermissionError, FileNotFoundError, ...).
    return (
        OSError(exc.errno, f"could not write {target}: {why}", str(target))
        if exc.errno
        else OSError(f"could not write {target}: {why}")
    )
