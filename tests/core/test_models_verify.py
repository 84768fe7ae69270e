"""``models verify`` really checks: it loads each file the safe way the app does (a malicious pickle is refused and
never runs), compares the digest recorded at download, and the sha256 prefix an official OpenMMLab name carries
(bit-flipped weights load fine, so only a digest can tell); ``models download`` fails with one line, no traceback."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import torch

from sapiens_core.cli import main
from sapiens_core.errors import CheckpointError
from sapiens_core.hub import sha256_of, verify_file

DETECTOR_NAME = "rtmdet_m_8xb32-100e_coco-obj365-person-235e8209.pth"


class _RunsCode:
    """Unpickling this calls os.system: what a malicious checkpoint does."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _verify(capsys, *files: Path) -> tuple[int, str, str]:
    rc = main(["models", "verify", *map(str, files)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_a_malicious_pickle_is_bad_and_never_runs(capsys, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "payload": _RunsCode(marker)}, path)
    rc, out, err = _verify(capsys, path)
    assert rc == 1 and out == "" and err.startswith("bad: evil.pth refers to code outside the allow-list")
    assert not marker.exists()


def test_a_good_state_dict_loads_and_says_how_many_tensors(capsys, tmp_path):
    path = tmp_path / "weights.pth"
    torch.save({"state_dict": {"a": torch.zeros(3), "b": torch.ones(2, 2)}}, path)
    rc, out, err = _verify(capsys, path)
    assert rc == 0 and err == ""
    assert out.strip() == (
        f"ok: weights.pth: no recorded digest (not downloaded by this program), size {path.stat().st_size} bytes; "
        "loads as pth (2 tensors)"
    )


def test_a_truncated_torchscript_file_is_bad(capsys, tmp_path, tiny_checkpoint):
    good = tiny_checkpoint("pose", "torchscript")
    assert _verify(capsys, good)[0] == 0
    cut = tmp_path / "cut.pt2"
    data = good.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    rc, _, err = _verify(capsys, cut)
    assert rc == 1 and err == "bad: cut.pt2 is truncated or corrupt (unreadable zip archive)\n"


def test_flipped_bits_are_caught_by_the_download_record(tmp_path):
    path = tmp_path / "weights.pth"
    torch.save({"state_dict": {"a": torch.arange(1000, dtype=torch.float32)}}, path)
    (tmp_path / "weights.pth.sha256").write_text(hashlib.sha256(path.read_bytes()).hexdigest() + "\n")
    assert "sha256 matches the download record" in verify_file(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10  # one bit inside the weights: the file still loads
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="content differs from the downloaded file"):
        verify_file(path)


def test_the_official_detector_name_carries_its_digest(tmp_path):
    path = tmp_path / DETECTOR_NAME
    torch.save({"state_dict": {"a": torch.zeros(4)}}, path)
    # Our stand-in's digest does not start with 235e8209: the name says the content is not the official file's.
    assert not sha256_of(path).startswith("235e8209")
    with pytest.raises(CheckpointError, match="its name says 235e8209"):
        verify_file(path)


def test_download_of_an_unknown_card_is_one_line(capsys, tmp_path):
    rc = main(["models", "--models-dir", str(tmp_path), "download", "no-such-card"])
    err = capsys.readouterr().err
    assert (
        rc == 2 and err == "error: no model card 'no-such-card'; `python -m sapiens_core models list` shows them all\n"
    )


def test_download_into_a_folder_under_a_file_is_one_line(capsys, tmp_path):
    blocker = tmp_path / "models"
    blocker.write_text("a file where the models folder should be")
    rc = main(["models", "--models-dir", str(blocker / "sub"), "download", "pose-0.3b-torchscript"])
    err = capsys.readouterr().err
    assert rc == 2 and "cannot create the models folder" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
