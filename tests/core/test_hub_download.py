"""The real download path (hub.download through huggingface_hub) against a small Hub on 127.0.0.1.

No fake of huggingface_hub: a child process points HF_ENDPOINT at an HTTP server in this test that answers the
two requests a download makes (list the repository's files, fetch one file), so the staging folder, the rename,
the digest record and the progress reports are what users get. The server only listens on the loopback, serves
one repository from memory and stops with the test (and by itself after a minute at most).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
REPO = "facebook/sapiens-pose-0.3b-torchscript"
NAME = "sapiens_0.3b_goliath_best_goliath_AP_573_torchscript.pt2"


def _checkpoint_bytes() -> bytes:
    """A real (small) state-dict file of a few chunks and not a round size, so ``verify`` can load it."""
    buffer = io.BytesIO()
    weights = torch.from_numpy(np.random.default_rng(7).standard_normal(786_459).astype(np.float32))
    torch.save({"state_dict": {"backbone.weight": weights}}, buffer)
    return buffer.getvalue()


PAYLOAD = _checkpoint_bytes()
COMMIT = "0123456789abcdef0123456789abcdef01234567"


class _Hub(BaseHTTPRequestHandler):
    repo = REPO
    files = {"README.md": b"# card\n", NAME: PAYLOAD}
    published: dict[str, bytes] = {}  # name -> the content whose sha256 the listing publishes (Git LFS metadata)
    requests: list[str] = []

    def log_message(self, *args):  # keep pytest's output clean
        pass

    def _file(self):
        prefix = f"/{self.repo}/resolve/main/"
        path = self.path.split("?")[0]
        return self.files.get(path[len(prefix) :]) if path.startswith(prefix) else None

    def _headers(self, body: bytes, kind: str = "application/octet-stream"):
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("ETag", f'"{hashlib.sha256(body).hexdigest()}"')
        self.end_headers()

    def do_HEAD(self):
        self.requests.append(f"HEAD {self.path}")
        body = self._file()
        if body is None:
            self.send_error(404)
            return
        self._headers(body)

    def do_GET(self):
        self.requests.append(f"GET {self.path}")
        if self.path.startswith(f"/api/models/{self.repo}/tree/main"):
            listing = [
                {"type": "file", "path": name, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
                for name, data in self.files.items()
            ]
            for entry in listing:
                if entry["path"] in self.published:
                    real = self.published[entry["path"]]
                    entry["lfs"] = {"oid": hashlib.sha256(real).hexdigest(), "size": len(real), "pointerSize": 134}
            body = json.dumps(listing).encode()
            self._headers(body, "application/json")
            self.wfile.write(body)
            return
        body = self._file()
        if body is None:
            self.send_error(404)
            return
        self._headers(body)
        for start in range(0, len(body), 256 * 1024):  # streamed, so the client sees progress
            self.wfile.write(body[start : start + 256 * 1024])


@pytest.fixture
def hub():
    _Hub.requests = []
    _Hub.published = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    stop_anyway = threading.Timer(60, server.shutdown)  # bounded even if a test hangs
    stop_anyway.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    stop_anyway.cancel()
    server.shutdown()
    server.server_close()
    thread.join(5)


def _download(
    endpoint: str, models_dir: Path, cancel_after: int | None = None, card: str = "pose-0.3b-torchscript"
) -> dict:
    """Run hub.download in a child process (HF_ENDPOINT is read when huggingface_hub is imported)."""
    code = f"""
import json, sys
from pathlib import Path
from sapiens_core.cards import find_card
from sapiens_core.hub import download, DownloadCancelled
calls = []
def progress(done, total):
    calls.append([done, total])
    return None if {cancel_after!r} is None or len(calls) < {cancel_after!r} else False
try:
    path = download(find_card({card!r}), Path({str(models_dir)!r}), progress=progress)
    print(json.dumps({{"path": str(path), "calls": calls}}))
except DownloadCancelled as exc:
    print(json.dumps({{"cancelled": str(exc), "calls": calls}}))
"""
    env = dict(
        os.environ,
        HF_ENDPOINT=endpoint,
        HF_HUB_OFFLINE="0",
        HF_HOME=str(models_dir.parent / "hf-home"),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_ETAG_TIMEOUT="10",
        HF_HUB_DOWNLOAD_TIMEOUT="10",
        NO_PROXY="127.0.0.1",
        no_proxy="127.0.0.1",
    )
    env.pop("HF_TOKEN", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_download_stages_renames_records_the_digest_and_reports_progress(hub, tmp_path):
    models = tmp_path / "models"
    result = _download(hub, models)
    folder = models / "pose-0.3b-torchscript"
    final = folder / NAME
    assert Path(result["path"]) == final
    assert final.read_bytes() == PAYLOAD
    # The digest record is the sha256 of what the server sent, computed here with hashlib.
    assert (folder / f"{NAME}.sha256").read_text() == hashlib.sha256(PAYLOAD).hexdigest() + "\n"
    # The staging folder is gone: only the checkpoint and its record remain.
    assert sorted(p.name for p in folder.iterdir()) == [NAME, f"{NAME}.sha256"]
    # Progress: cumulative bytes, never decreasing, ending at the file's size, with the size as the total.
    calls = np.array(result["calls"])
    assert len(calls) >= 1 and np.all(np.diff(calls[:, 0]) >= 0)
    assert calls[-1].tolist() == [len(PAYLOAD), len(PAYLOAD)]
    assert set(calls[:, 1]) == {len(PAYLOAD)}
    # It listed the repository and fetched only the card's file (not the README).
    fetched = [r for r in _Hub.requests if r.startswith("GET") and "/resolve/" in r]
    assert fetched and all(r.split("?")[0].endswith(f"/resolve/main/{NAME}") for r in fetched)
    assert any(r.startswith(f"GET /api/models/{REPO}/tree/main") for r in _Hub.requests)

    from sapiens_core.hub import verify_file

    assert verify_file(final) == f"{NAME}: sha256 matches the download record; loads as pth (1 tensor)"


def test_cancelled_download_leaves_no_partial_file(hub, tmp_path):
    models = tmp_path / "models"
    result = _download(hub, models, cancel_after=1)
    assert "cancelled" in result and len(result["calls"]) == 1
    folder = models / "pose-0.3b-torchscript"
    assert not (folder / ".incoming").exists()
    assert not (folder / NAME).exists() and not (folder / f"{NAME}.sha256").exists()


def test_a_repository_without_the_file_is_one_clear_error(hub, tmp_path, monkeypatch):
    monkeypatch.setattr(_Hub, "files", {"README.md": b"# card\n"})
    code = (
        f"from pathlib import Path\nfrom sapiens_core.cards import find_card\nfrom sapiens_core.hub import download\n"
        f"download(find_card('pose-0.3b-torchscript'), Path({str(tmp_path / 'm')!r}))\n"
    )
    env = dict(
        os.environ,
        HF_ENDPOINT=hub,
        HF_HUB_OFFLINE="0",
        HF_HOME=str(tmp_path / "hf-home"),
        NO_PROXY="127.0.0.1",
        no_proxy="127.0.0.1",
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.returncode != 0 and f"{REPO} holds no file for pose-0.3b-torchscript" in out.stderr


def _download_error(endpoint: str, tmp_path: Path) -> str:
    code = (
        f"from pathlib import Path\nfrom sapiens_core.cli import main\n"
        f"models = {str(tmp_path / 'm')!r}\n"
        "raise SystemExit(main(['models', '--models-dir', models, 'download', 'pose-0.3b-torchscript']))\n"
    )
    env = dict(
        os.environ,
        HF_ENDPOINT=endpoint,
        HF_HUB_OFFLINE="0",
        HF_HOME=str(tmp_path / "hf-home"),
        HF_HUB_ETAG_TIMEOUT="5",
        HF_HUB_DOWNLOAD_TIMEOUT="5",
        NO_PROXY="127.0.0.1",
        no_proxy="127.0.0.1",
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.returncode == 2, out.stderr[-3000:]
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    return out.stderr


def test_a_download_that_differs_from_the_published_digest_keeps_nothing(hub, tmp_path, monkeypatch):
    damaged = bytearray(PAYLOAD)
    damaged[1000] ^= 0x01
    monkeypatch.setattr(_Hub, "files", {NAME: bytes(damaged)})
    _Hub.published = {NAME: PAYLOAD}
    err = _download_error(hub, tmp_path)
    assert "download of pose-0.3b-torchscript is damaged" in err
    expected = hashlib.sha256(PAYLOAD).hexdigest()[:12]
    assert f"the Hub publishes {expected}" in err
    folder = tmp_path / "m" / "pose-0.3b-torchscript"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_no_network_is_one_clear_line(tmp_path):
    with socket.socket() as probe:  # a loopback port nobody listens on: the connection is refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    err = _download_error(f"http://127.0.0.1:{port}", tmp_path)
    assert err.startswith("error: cannot reach Hugging Face for pose-0.3b-torchscript")
