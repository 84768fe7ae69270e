"""Safe loading of original Sapiens ``.pth`` checkpoints (spec §0.10, §1.1, §5.2).

The originals pickle an ``mmengine.config.config.ConfigDict`` (and numpy values) in ``meta``, which torch's
``weights_only`` unpickler refuses. We never fall back to plain unpickling: the second attempt still runs torch's
weights_only unpickler, with a short allow-list that maps the mmengine config classes to plain containers and admits
numpy's array/scalar rebuilders. Any other global is reported by name and nothing in the file is executed.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import CheckpointError, UnsafeCheckpointError

_ZIP_MAGIC = b"PK\x03\x04"


class ConfigStub:
    """Stands in for ``mmengine.config.config.Config`` (not a dict): keeps whatever state it was pickled with."""

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _mmengine_allow_list() -> list[tuple[Any, str]]:
    # ConfigDict is a dict subclass (addict.Dict). Mapping it to OrderedDict, rather than a dict subclass of our own,
    # is what torch's unpickler accepts for every opcode a dict subclass pickles with (NEWOBJ, SETITEMS, BUILD).
    config_dicts = [
        "mmengine.config.config.ConfigDict",
        "mmengine.config.ConfigDict",
        "mmengine.ConfigDict",
        "mmcv.utils.config.ConfigDict",
        "mmcv.ConfigDict",
        "addict.addict.Dict",
        "addict.Dict",
    ]
    configs = ["mmengine.config.config.Config", "mmengine.config.Config", "mmengine.Config", "mmcv.utils.config.Config"]
    return [(OrderedDict, name) for name in config_dicts] + [(ConfigStub, name) for name in configs]


def _numpy_allow_list() -> list[tuple[Any, str]]:
    # Files written with numpy 1.x name numpy.core.*, numpy 2.x numpy._core.*; both resolve to today's objects.
    multiarray = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray
    entries: list[tuple[Any, str]] = []
    for package in ("numpy.core", "numpy._core"):
        entries += [
            (multiarray._reconstruct, f"{package}.multiarray._reconstruct"),
            (multiarray.scalar, f"{package}.multiarray.scalar"),
        ]
    entries += [(np.ndarray, "numpy.ndarray"), (np.dtype, "numpy.dtype")]
    dtypes = getattr(np, "dtypes", None)  # numpy >= 1.25 pickles dtypes by their class, e.g. numpy.dtypes.Float64DType
    if dtypes is not None:
        entries += [
            (cls, f"numpy.dtypes.{name}")
            for name, cls in vars(dtypes).items()
            if isinstance(cls, type) and issubclass(cls, np.dtype)
        ]
    return entries


def allow_list() -> list[tuple[Any, str]]:
    return _mmengine_allow_list() + _numpy_allow_list()


def _torch_default_safe_names() -> set[str]:
    try:  # private in torch 2.13; only used to name offenders in an error message, never to decide what is safe
        from torch._weights_only_unpickler import _get_allowed_globals

        return set(_get_allowed_globals())
    except Exception:
        return set()


def _pickle_bytes(path: Path) -> bytes:
    """The main pickle of a checkpoint: ``<root>/data.pkl`` of a zip, or the file itself (legacy / raw pickle)."""
    with path.open("rb") as handle:
        if handle.read(4) != _ZIP_MAGIC:
            return path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.endswith("data.pkl")]
        return archive.read(min(names, key=len)) if names else b""


def globals_in_pickle(data: bytes) -> set[str]:
    """Every module.name a pickle stream would import, found by disassembly only (nothing is executed)."""
    found: set[str] = set()
    strings: list[str] = []  # recent string pushes, for protocol-4 STACK_GLOBAL
    memo: dict[int, str] = {}
    memo_count, last_string = 0, None
    stream = io.BytesIO(data)
    while stream.tell() < len(data):  # legacy torch files are several pickles back to back
        try:
            for op, arg, _ in pickletools.genops(stream):
                name, pushed = op.name, None
                if name in ("GLOBAL", "INST"):
                    found.add(str(arg).replace(" ", "."))
                elif name == "STACK_GLOBAL" and len(strings) >= 2:
                    found.add(f"{strings[-2]}.{strings[-1]}")
                elif "UNICODE" in name or "STRING" in name:
                    pushed = arg.decode("latin-1") if isinstance(arg, bytes) else str(arg)
                elif name in ("BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE"):
                    index = memo_count if name == "MEMOIZE" else int(arg)
                    memo_count += 1
                    if last_string is not None:
                        memo[index] = last_string
                    pushed = last_string  # memoizing leaves the top of the stack as it was
                elif name in ("BINGET", "LONG_BINGET", "GET"):
                    pushed = memo.get(int(arg))
                if pushed is not None and name not in ("BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE"):
                    strings.append(pushed)
                last_string = pushed
        except Exception:
            break  # trailing tensor bytes of a legacy file, or a truncated stream: report what was seen
    return found


def _unsafe_globals(path: Path) -> list[str]:
    safe = _torch_default_safe_names() | {name for _, name in allow_list()}
    try:
        return sorted(globals_in_pickle(_pickle_bytes(path)) - safe)
    except (OSError, zipfile.BadZipFile, KeyError):
        return []


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0].split(". ")[0][:160] if text else type(error).__name__


def _unpickling_reason(error: BaseException) -> str:
    # torch wraps the useful line ("Unsupported global: GLOBAL x.y ...") in a page of advice; keep only that line.
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    useful = [line for line in lines if "GLOBAL" in line or "Unsupported" in line or "unrecognized" in line]
    return (useful or lines or [type(error).__name__])[0][:200]


def _torch_load(path: Path, zipped: bool) -> Any:
    # mmap keeps multi-GB weights in the page cache instead of a second copy in memory (zip format only).
    return torch.load(path, map_location="cpu", weights_only=True, mmap=zipped)


def _is_torchscript(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("/constants.pkl") for name in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False  # torch.load reports the damage below


def _load_object(path: Path) -> Any:
    with path.open("rb") as handle:
        head = handle.read(4)
    zipped = head == _ZIP_MAGIC
    pickled = len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5
    if not zipped and not pickled:
        # Neither torch's zip format nor a pickle (the pre-1.6 format): refuse before any parser sees it.
        raise CheckpointError(f"{path.name} is not a PyTorch checkpoint (neither a torch zip archive nor a pickle)")
    if zipped and _is_torchscript(path):
        raise CheckpointError(f"{path.name} is a TorchScript archive, not a .pth checkpoint")
    try:
        return _torch_load(path, zipped)
    except pickle.UnpicklingError:
        pass  # a global outside torch's own allow-list (the mmengine meta), or a stream it cannot parse
    except Exception as error:
        raise CheckpointError(f"{path.name} is truncated or corrupt ({_first_line(error)})") from None
    # Still torch's weights_only unpickler, so safety never depends on our own scan, which only names offenders.
    try:
        with torch.serialization.safe_globals(allow_list()):
            return _torch_load(path, zipped)
    except pickle.UnpicklingError as error:
        offenders = _unsafe_globals(path)
        if offenders:
            shown = ", ".join(offenders[:4]) + (f" (+{len(offenders) - 4} more)" if len(offenders) > 4 else "")
            raise UnsafeCheckpointError(
                f"{path.name} refers to code outside the allow-list ({shown}); refused without executing anything"
            ) from None
        raise UnsafeCheckpointError(
            f"{path.name} is corrupt or cannot be unpickled safely ({_unpickling_reason(error)})"
        ) from None
    except Exception as error:
        raise CheckpointError(f"{path.name} is truncated or corrupt ({_first_line(error)})") from None


def _plain(value: Any) -> Any:
    """Turn the config stand-ins in ``meta`` into plain dicts/lists so callers never see loader artefacts."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    if isinstance(value, ConfigStub):
        return {"config_state": _plain(getattr(value, "state", None))}
    return value


def _strip_module_prefix(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # (Distributed)DataParallel wrappers save every key under "module.".
    if state_dict and all(key.startswith("module.") for key in state_dict):
        return {key[len("module.") :]: value for key, value in state_dict.items()}
    return dict(state_dict)


def load_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Return ``(state_dict, meta)`` from a ``.pth``: ``{'state_dict', 'meta'}`` or a bare state dict."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path.name} does not exist or is not a file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path.name} is empty")
    obj = _load_object(path)
    meta: Any = {}
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        state_dict, meta = obj["state_dict"], obj.get("meta") or {}
    else:
        state_dict = obj
    if not isinstance(state_dict, Mapping) or not state_dict:
        raise CheckpointError(f"{path.name} holds no state dict (found {type(obj).__name__})")
    bad = [key for key, value in state_dict.items() if not isinstance(key, str) or not isinstance(value, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{path.name} holds no state dict ('{bad[0]}' is not a named tensor)")
    meta = _plain(meta)
    return _strip_module_prefix(state_dict), meta if isinstance(meta, dict) else {"meta": meta}
