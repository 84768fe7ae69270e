"""Download official checkpoints from Hugging Face on request, with progress and cancel.

Never called at import or test time. The repository is listed first and the file picked by the
card's patterns, because official names changed over time (spec §1.2). A ``.sha256`` file written
beside each download lets ``verify`` detect a damaged or truncated copy later, offline.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from .cards import DetectorCard, ModelCard
from .errors import CheckpointError, SapiensError
from .models_dir import default_models_dir

log = logging.getLogger(__name__)

# progress(done_bytes, total_bytes) -> return False to cancel
ProgressCallback = Callable[[int, int], "bool | None"]


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
    target_dir.mkdir(parents=True, exist_ok=True)
    try:
        remote = pick_remote_file(card, hf.list_repo_files(card.hf_repo, token=token))
        kwargs = {"tqdm_class": _progress_tqdm(progress)} if progress else {}
        staging = target_dir / ".incoming"
        local = Path(hf.hf_hub_download(card.hf_repo, remote, local_dir=staging, token=token, **kwargs))
    except DownloadCancelled:
        shutil.rmtree(target_dir / ".incoming", ignore_errors=True)
        raise
    except hf.errors.HfHubHTTPError as exc:
        raise SapiensError(f"download of {card.id} from {card.hf_repo} failed: {exc}") from exc
    except OSError as exc:
        raise SapiensError(f"download of {card.id} failed: {exc}") from exc
    final = target_dir / local.name
    local.replace(final)
    shutil.rmtree(target_dir / ".incoming", ignore_errors=True)
    (final.parent / (final.name + ".sha256")).write_text(sha256_of(final) + "\n")
    log.info("downloaded %s to %s", card.id, final)
    return final


def verify_file(path: Path) -> str:
    """Check a checkpoint against the digest recorded at download; raise CheckpointError on mismatch.

    Returns a one-line verdict. Files without a recorded digest are checked for readability only.
    """
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise CheckpointError(f"{path}: missing or empty")
    record = path.parent / (path.name + ".sha256")
    if not record.is_file():
        return f"{path.name}: no recorded digest (not downloaded by this program); size {path.stat().st_size} bytes"
    expected = record.read_text().split()[0]
    actual = sha256_of(path)
    if actual != expected:
        raise CheckpointError(
            f"{path}: content differs from the downloaded file (sha256 {actual[:12]}… ≠ {expected[:12]}…); "
            "download it again"
        )
    return f"{path.name}: sha256 matches the download record"
