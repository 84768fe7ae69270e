"""A Sapiens2 download keeps the repository's own licence file beside the weights (the binding text; the app
ships only a summary with its address), through the real download path against the loopback Hub of
``test_hub_download``."""

from __future__ import annotations

import hashlib

from .test_hub_download import PAYLOAD, _download, _Hub, hub  # noqa: F401  (hub: the fixture)

V2_REPO = "facebook/sapiens2-pose-0.4b"
V2_NAME = "sapiens2_0.4b_pose.safetensors"
LICENCE_TEXT = b"SAPIENS2 LICENSE\nThe binding text, served by the repository.\n"


def test_a_sapiens2_download_keeps_the_repositorys_licence_file(hub, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setattr(_Hub, "repo", V2_REPO)
    monkeypatch.setattr(_Hub, "files", {"README.md": b"# card\n", "LICENSE.md": LICENCE_TEXT, V2_NAME: PAYLOAD})
    result = _download(hub, tmp_path / "models", card="sapiens2-pose-0.4b")
    folder = tmp_path / "models" / "sapiens2-pose-0.4b"
    assert result["path"] == str(folder / V2_NAME)
    assert (folder / "LICENSE.md").read_bytes() == LICENCE_TEXT
    assert (folder / f"{V2_NAME}.sha256").read_text() == hashlib.sha256(PAYLOAD).hexdigest() + "\n"
    assert sorted(p.name for p in folder.iterdir()) == ["LICENSE.md", V2_NAME, f"{V2_NAME}.sha256"]
    gets = [r.split("?")[0] for r in _Hub.requests if r.startswith("GET /") and "/resolve/" in r]
    fetched = sorted(r.rsplit("/", 1)[1] for r in gets)
    assert fetched == ["LICENSE.md", V2_NAME]  # not the README


def test_without_a_licence_file_the_weights_still_arrive(hub, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setattr(_Hub, "repo", V2_REPO)
    monkeypatch.setattr(_Hub, "files", {"README.md": b"# card\n", V2_NAME: PAYLOAD})
    _download(hub, tmp_path / "models", card="sapiens2-pose-0.4b")
    folder = tmp_path / "models" / "sapiens2-pose-0.4b"
    assert sorted(p.name for p in folder.iterdir()) == [V2_NAME, f"{V2_NAME}.sha256"]


def test_a_v1_card_under_no_licence_to_accept_fetches_only_its_weights(hub, tmp_path, monkeypatch):  # noqa: F811
    files = dict(_Hub.files, LICENSE=b"CC-BY-NC-4.0\n")
    monkeypatch.setattr(_Hub, "files", files)
    _download(hub, tmp_path / "models")
    folder = tmp_path / "models" / "pose-0.3b-torchscript"
    assert "LICENSE" not in {p.name for p in folder.iterdir()}
