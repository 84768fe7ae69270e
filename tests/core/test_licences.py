"""The Sapiens2 licence: shipped with the package, its use restrictions listed, acceptance required before the
command line downloads a Sapiens2 model, and a copy written beside the weights. No network: the download itself
is replaced by a function that writes a file where hub.download would."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sapiens_core import hub
from sapiens_core.cards import SAPIENS2_CARDS, find_card
from sapiens_core.cli import main
from sapiens_core.licences import SAPIENS2, licence_for, write_licence_copy


def test_every_sapiens2_card_names_the_shipped_licence_and_v1_cards_none():
    assert {licence_for(card) for card in SAPIENS2_CARDS} == {SAPIENS2}
    assert licence_for(find_card("pose-0.3b-torchscript")) is None
    assert SAPIENS2.url in SAPIENS2.text and "commercial use is allowed" in SAPIENS2.text


def test_use_restrictions_are_the_eight_of_the_licence():
    assert len(SAPIENS2.restrictions) == 8
    assert SAPIENS2.restrictions[:3] == ("surveillance", "biometric processing", "identifying or re-identifying people")
    assert SAPIENS2.restrictions[-1] == "ITAR-controlled, military, weapons, drug or critical-infrastructure use"


def test_the_digest_follows_the_text():
    assert SAPIENS2.digest == hashlib.sha256(SAPIENS2.text.encode()).hexdigest()[:16]


def test_the_copy_is_the_text(tmp_path):
    path = write_licence_copy(SAPIENS2, tmp_path)
    assert path == tmp_path / "LICENSE-sapiens2.md" and path.read_text(encoding="utf-8") == SAPIENS2.text
    assert [p.name for p in tmp_path.iterdir()] == ["LICENSE-sapiens2.md"]  # no temporary file left behind


@pytest.fixture
def fake_download(monkeypatch):
    calls = []

    def download(card, models_dir, progress=None, token=None):
        calls.append(card.id)
        path = Path(models_dir) / card.id / card.filenames[0]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"weights")
        return path

    monkeypatch.setattr(hub, "download", download)
    return calls


def test_download_of_a_sapiens2_card_needs_accept_license(fake_download, capsys, tmp_path):
    rc = main(["models", "--models-dir", str(tmp_path), "download", "sapiens2-pose-0.4b"])
    err = capsys.readouterr().err
    assert rc == 2 and fake_download == [] and not (tmp_path / "sapiens2-pose-0.4b").exists()
    assert "Sapiens2 License" in err and "--accept-license" in err and SAPIENS2.url in err
    assert "models license sapiens2-pose-0.4b" in err and len(err.strip().splitlines()) == 1

    rc = main(["models", "--models-dir", str(tmp_path), "download", "sapiens2-pose-0.4b", "--accept-license"])
    out = capsys.readouterr().out
    folder = tmp_path / "sapiens2-pose-0.4b"
    assert rc == 0 and fake_download == ["sapiens2-pose-0.4b"]
    assert out.strip() == str(folder / "sapiens2_0.4b_pose.safetensors")
    assert (folder / "LICENSE-sapiens2.md").read_text(encoding="utf-8") == SAPIENS2.text


def test_a_v1_card_downloads_without_the_flag_and_without_a_copy(fake_download, tmp_path):
    assert main(["models", "--models-dir", str(tmp_path), "download", "pose-0.3b-torchscript"]) == 0
    assert fake_download == ["pose-0.3b-torchscript"]
    assert not (tmp_path / "pose-0.3b-torchscript" / "LICENSE-sapiens2.md").exists()


def test_models_license_prints_the_text(capsys):
    assert main(["models", "license", "sapiens2-seg-1b"]) == 0
    assert capsys.readouterr().out == SAPIENS2.text
    assert main(["models", "license", "pose-0.3b-torchscript"]) == 0
    assert "no licence to accept here" in capsys.readouterr().out
