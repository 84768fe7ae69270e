"""Download official checkpoints from Hugging Face on request, with progress and cancel, and verify them.

Never called at import or test time. The repository is listed first and the file picked by the
card's patterns, because official names changed over time (spec §1.2). Where the Hub publishes the file's
sha256 (Git LFS), the download must match it. A ``.sha256`` file written beside each download lets ``verify``
detect a damaged or truncated copy later, offline; ``verify`` also loads the file (safely: never an unpickle of
code) and checks the sha256 prefix an OpenMMLab file name carries (``...-235e8209.pth``).

A card that comes under a licence (Sapiens2) also gets the repository's own licence file, where the repository
holds one, saved beside the weights: that is the binding text, which the summary we ship only points to.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from .cards import DETECTOR_CARDS, DetectorCard, ModelCard
from .errors import CheckpointError, SapiensError
from .models_dir import default_models_dir

log = logging.getLogger(__name__)

# progress(done_bytes, total_bytes) -> return False to cancel
ProgressCallback = Callable[[int, int], "bool | None"]


# The top-level licence file of a repository, as Hugging Face and GitHub name it.
LICENCE_FILE = re.compile(r"(?i)licen[cs]e(\.md|\.txt)?")


class DownloadCancelled(SapiensError):
    """The user cancelled a download; the partial file was removed."""


def pick_remote_file(card: ModelCard | DetectorCard, repo_files: list[str]) -> str:
    """The repository path of the card's file: a known name first (preferred order), else a pattern match."""
    by_name = {Path(f).name: f for f in repo_files}
    for name in card.filenames:
        if name in by_name:
            return by_name[name]
    matches = sorted(f for f in repo_files if card.matches(Path(f).name))
    if not matches:
        raise SapiensError(f"{card.hf_repo} holds no file for {card.id} (looked for {', '.join(card.file_patterns)})")
    return matches[-1]


def _progress_tqdm(callback: ProgressCallback):
    """A tqdm class that reports to ``callback`` and raises to cancel (huggingface_hub drives tqdm)."""
    from tqdm.auto import tqdm

    class CallbackTqdm(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True  # we report through the callback, not to the terminal
            super().__init__(*args, **kwargs)
            self._done = 0

        def update(self, n=1):
            self._done += n or 0
            if callback(self._done, int(self.total or 0)) is False:
                raise DownloadCancelled("download cancelled")
            return super().update(n)

    return CallbackTqdm


def sha256_of(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def download(
    card: ModelCard | DetectorCard,
    models_dir: Path | None = None,
    progress: ProgressCallback | None = None,
    token: str | None = None,
) -> Path:
    """Fetch the card's checkpoint into ``models_dir/<card id>/`` and return its path."""
    import huggingface_hub as hf  # imported here: nothing touches the network module at import time

    target_dir = (Path(models_dir) if models_dir else default_models_dir()) / card.id
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SapiensError(f"cannot create the models folder {target_dir} ({exc.strerror or exc})") from None
    staging = target_dir / ".incoming"
    # huggingface_hub imports its modules lazily on first use, and each import sets its log level again: touch
    # them before quieting the logs.
    hf.list_repo_tree, hf.hf_hub_download, hf.errors.HfHubHTTPError  # noqa: B018
    with _quiet_hub_logging():
        return _download(hf, card, target_dir, staging, progress, token)


@contextlib.contextmanager
def _quiet_hub_logging():
    """huggingface_hub logs every retry with a traceback; our one-line error says what happened instead."""
    hub_log = logging.getLogger("huggingface_hub")
    previous = hub_log.level
    hub_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        hub_log.setLevel(previous)


def _download(hf, card, target_dir: Path, staging: Path, progress, token) -> Path:
    try:
        entries = {e.path: e for e in hf.list_repo_tree(card.hf_repo, recursive=True, token=token)}
        remote = pick_remote_file(card, [path for path, e in entries.items() if hasattr(e, "size")])
        kwargs = {"tqdm_class": _progress_tqdm(progress)} if progress else {}
        local = Path(hf.hf_hub_download(card.hf_repo, remote, local_dir=staging, token=token, **kwargs))
    except (DownloadCancelled, SapiensError):
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except hf.errors.HfHubHTTPError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise SapiensError(f"download of {card.id} from {card.hf_repo} failed: {_first_line(exc)}") from None
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise SapiensError(f"download of {card.id} failed: {exc.strerror or _first_line(exc)}") from None
    except Exception as exc:  # the HTTP client's own errors (no network, DNS, TLS, proxy): one line, no traceback
        shutil.rmtree(staging, ignore_errors=True)
        raise SapiensError(
            f"cannot reach Hugging Face for {card.id} ({type(exc).__name__}: {_first_line(exc)}); "
            "check the network connection (or HF_ENDPOINT)"
        ) from None
    digest = sha256_of(local)
    lfs = getattr(entries.get(remote), "lfs", None)
    published = getattr(lfs, "sha256", None) if lfs is not None else None
    if published and digest != published:
        shutil.rmtree(staging, ignore_errors=True)
        raise SapiensError(
            f"download of {card.id} is damaged: sha256 {digest[:12]}… but the Hub publishes {published[:12]}…; "
            "nothing was kept, try again"
        )
    final = target_dir / local.name
    local.replace(final)
    shutil.rmtree(staging, ignore_errors=True)
    (final.parent / (final.name + ".sha256")).write_text(digest + "\n")
    log.info("downloaded %s to %s", card.id, final)
    if getattr(card, "licence", None):
        _fetch_licence_file(hf, card, [path for path, e in entries.items() if hasattr(e, "size")], target_dir, token)
    return final


def _fetch_licence_file(hf, card, repo_files: list[str], target_dir: Path, token) -> Path | None:
    """Keep the repository's licence file beside the weights. The weights are already in place, so a failure
    here is logged, not raised: the shipped summary with the binding text's address is written anyway."""
    names = sorted(name for name in repo_files if LICENCE_FILE.fullmatch(name))
    if not names:
        log.info("%s holds no licence file; the shipped summary is kept with the weights", card.hf_repo)
        return None
    staging = target_dir / ".incoming-licence"
    try:
        local = Path(hf.hf_hub_download(card.hf_repo, names[0], local_dir=staging, token=token))
        final = target_dir / local.name
        local.replace(final)
        return final
    except Exception as exc:  # the network went away after the weights came: say so, keep the weights
        log.warning("the licence file of %s was not downloaded: %s", card.hf_repo, _first_line(exc))
        return None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# OpenMMLab's publish script names a file <name>-<first 8 hex digits of its sha256>.pth (rtmdet spec §3.1).
_OPENMMLAB_NAME = re.compile(r"-([0-9a-f]{8})\.pth$")


def verify_file(path: Path) -> str:
    """Check a checkpoint: its content against the digest recorded at download or published in its official
    name, and that it loads (safely) as the app would open it. Raise CheckpointError with one line when not.

    Returns a one-line verdict.
    """
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise CheckpointError(f"{path}: missing or empty")
    checks = []
    record = path.parent / (path.name + ".sha256")
    published = _OPENMMLAB_NAME.search(path.name)
    official = any(path.name in card.filenames for card in DETECTOR_CARDS)
    if record.is_file() or (published and official):
        actual = sha256_of(path)
        if record.is_file():
            expected = record.read_text().split()[0]
            if actual != expected:
                raise CheckpointError(
                    f"{path}: content differs from the downloaded file (sha256 {actual[:12]}… ≠ {expected[:12]}…); "
                    "download it again"
                )
            checks.append("sha256 matches the download record")
        if published and official:
            if not actual.startswith(published.group(1)):
                raise CheckpointError(
                    f"{path}: content differs from the official file (sha256 starts {actual[:8]}, its name says "
                    f"{published.group(1)}); download it again"
                )
            checks.append("sha256 matches the official name")
    else:
        checks.append(f"no recorded digest (not downloaded by this program), size {path.stat().st_size} bytes")
    checks.append(_loads(path))
    return f"{path.name}: " + "; ".join(checks)


def _loads(path: Path) -> str:
    """Open the file the way the app does (``.pth`` through the safe loader, never an unpickle of code)."""
    from .backends import detect_format, open_backend
    from .io.checkpoints import load_checkpoint

    fmt = detect_format(path)  # CheckpointError for a foreign or truncated file
    if fmt == "pth":
        state_dict, _ = load_checkpoint(path)
        count = len(state_dict)
        return f"loads as {fmt} ({count} tensor{'' if count == 1 else 's'})"
    backend = open_backend(path, task=None, device="cpu")
    backend.close()
    return f"loads as {fmt}"
