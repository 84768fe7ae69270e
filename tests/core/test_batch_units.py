"""The dataset runner's parts on their own: output names, shares, manifests, the resume check, stale temporary
files, the precision rule and the out-of-memory retry. Expectations are written out by hand."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from sapiens_core.backends.base import Backend
from sapiens_core.backends.precision import choose_precision
from sapiens_core.batch.manifest import read_manifest
from sapiens_core.batch.names import unique_stems
from sapiens_core.batch.shard import Rank, rank_from_env, take_share
from sapiens_core.errors import BackendError, SapiensError
from sapiens_core.io.atomic import atomic_path, is_temp_name, remove_stale_temps

# ------------------------------------------------------------------------------------------ names


def test_same_stems_and_a_real_suffixed_name_give_three_output_sets():
    # The probe's case: a/x.png, b/x.png and a real x_2.png used to give two result files for three inputs.
    assert unique_stems(["a/x.png", "b/x.png", "x_2.png"]) == ["x", "x_3", "x_2"]


def test_names_differ_by_case_too_and_keep_unique_stems():
    assert unique_stems(["p/Cat.jpg", "q/cat.png", "dog.jpg"]) == ["Cat", "cat_2", "dog"]
    assert unique_stems(["a/x.png", "b/x.png", "c/x.png", "x_3.png"]) == ["x", "x_2", "x_4", "x_3"]


# ------------------------------------------------------------------------------------------ shares


def test_shares_cover_every_input_once_and_are_stable():
    items = [f"img{i:03d}" for i in range(41)]
    shares = [take_share(items, Rank(r, 3)) for r in range(3)]
    assert sorted(sum(shares, [])) == items
    assert [len(s) for s in shares] == [14, 14, 13]
    assert shares[1][:3] == ["img001", "img004", "img007"]
    assert take_share(items, Rank(1, 3)) == shares[1]  # the same share on a restart


def test_rank_from_the_torchrun_environment():
    assert rank_from_env({}) == Rank(0, 1, 0)
    assert rank_from_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == Rank(3, 4, 1)
    with pytest.raises(SapiensError, match="RANK=4"):
        rank_from_env({"RANK": "4", "WORLD_SIZE": "4"})
    with pytest.raises(SapiensError, match="WORLD_SIZE"):
        rank_from_env({"WORLD_SIZE": "two"})


# ------------------------------------------------------------------------------------------ manifest


def test_manifest_skips_comments_and_resolves_from_its_folder(tmp_path):
    folder = tmp_path / "lists"
    folder.mkdir()
    listing = folder / "train.txt"
    listing.write_text("# training images\n\nimgs/a.jpg\n  /data/b.png  \n#imgs/c.jpg\n")
    assert read_manifest(listing) == [folder / "imgs" / "a.jpg", Path("/data/b.png")]


def test_manifest_that_cannot_be_read_is_one_line(tmp_path):
    with pytest.raises(SapiensError, match="no such file"):
        read_manifest(tmp_path / "missing.txt")
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(SapiensError, match="UTF-8"):
        read_manifest(tmp_path / "bin.txt")


# ------------------------------------------------------------------------------------------ temp files


def test_temp_files_older_than_the_run_are_removed_newer_ones_and_others_kept(tmp_path):
    with atomic_path(tmp_path / "keep.json") as tmp:  # learn the real temporary name format from the writer
        assert is_temp_name(tmp.name)
        tmp.write_text("{}")
    stale = tmp_path / ".photo.0123456789abcdef.tmp.json"
    fresh = tmp_path / ".photo.fedcba9876543210.tmp.png"
    hidden = tmp_path / ".notes.txt"
    for path in (stale, fresh, hidden):
        path.write_text("x")
    started = time.time() - 10
    old = started - 1  # a killed writer's file: last touched before the run started
    os.utime(stale, (old, old))
    os.utime(hidden, (old, old))
    assert remove_stale_temps(tmp_path, before=started) == [stale]
    assert fresh.exists() and hidden.exists() and (tmp_path / "keep.json").exists()


# ------------------------------------------------------------------------------------------ precision


@pytest.mark.parametrize(
    "requested,weights,device,family,expected",
    [
        ("auto", "fp32", "cuda", "sapiens", ("fp32", False)),  # TorchScript / .pth: fp32 as the official demos
        ("auto", "bf16", "cuda", "sapiens", ("bf16", False)),  # the bf16 ExportedProgram as it is
        ("bf16", "fp32", "cuda", "sapiens", ("bf16", True)),  # opted in: autocast
        ("bf16", "fp32", "cpu", "sapiens", ("bf16", True)),
        ("auto", "fp32", "cpu", "sapiens", ("fp32", False)),
        ("auto", "fp32", "cuda", "sapiens2", ("bf16", True)),  # Sapiens2's documented default on CUDA
        ("auto", "fp32", "cpu", "sapiens2", ("fp32", False)),
        ("fp32", "fp32", "cuda", "sapiens2", ("fp32", False)),
    ],
)
def test_precision_rule(requested, weights, device, family, expected):
    assert choose_precision(requested, weights, device, "m.pt2", family) == expected


def test_fp32_refuses_bf16_weights_in_one_line():
    with pytest.raises(BackendError, match="m_bfloat16.pt2 holds bf16 weights"):
        choose_precision("fp32", "bf16", "cuda", "m_bfloat16.pt2")


def test_fp32_files_run_fp32_on_the_cpu_and_record_it(tiny_checkpoint):
    from sapiens_core.backends import open_backend

    for fmt, weights in (("torchscript", "fp32"), ("pth", "fp32"), ("exported", "bf16")):
        backend = open_backend(tiny_checkpoint("depth", fmt), task="depth", device="cpu")
        assert backend.precision == weights and weights in backend.provider
        backend.close()
    backend = open_backend(tiny_checkpoint("depth", "torchscript"), task="depth", device="cpu", precision="bf16")
    assert (backend.precision, backend.provider) == ("bf16", "torch cpu bf16 autocast")
    backend.close()


# ------------------------------------------------------------------------------------------ out of memory


class _SmallDevice(Backend):
    """A backend whose device holds at most ``fits`` images: larger chunks raise the error torch raises."""

    format = "test-oom"

    def __init__(self, fits: int, max_batch: int) -> None:
        super().__init__(Path("small.pt2"), "depth")
        self.fits, self.max_batch, self.device, self.provider = fits, max_batch, "cuda", "test"
        self.sizes: list[int] = []

    def _run(self, chunk):
        self.sizes.append(len(chunk))
        if len(chunk) > self.fits:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return np.asarray(chunk)[:, :1, ::8, ::8] * 2


def test_out_of_memory_retries_at_half_the_batch():
    backend = _SmallDevice(fits=3, max_batch=8)
    batch = np.random.default_rng(0).random((10, 3, 16, 8), dtype=np.float32)
    out = backend.infer(batch)
    np.testing.assert_array_equal(out, batch[:, :1, ::8, ::8] * 2)  # every image once, in order
    assert backend.sizes == [8, 4, 2, 2, 2, 2, 2] and backend.max_batch == 2


def test_out_of_memory_at_one_image_is_one_line():
    backend = _SmallDevice(fits=0, max_batch=2)
    with pytest.raises(BackendError, match="small.pt2 ran out of memory on a batch of 1"):
        backend.infer(np.zeros((2, 3, 16, 8), np.float32))


# ------------------------------------------------------------------------------------------ resume check


def test_an_output_set_counts_as_finished_only_when_whole(tmp_path):
    from sapiens_core.annotation import Annotation
    from sapiens_core.batch.resume import Expected, finished_document

    image = tmp_path / "photo.png"
    image.write_bytes(b"not read")
    out = tmp_path / "out"
    doc = Annotation(
        image_path=str(image),
        image_size=(4, 3),
        keypoint_schema=None,
        class_schema="sapiens_28",
        persons=[],
        part_map=np.zeros((3, 4), np.uint8),
        foreground=np.zeros((3, 4), bool),
        depth=None,
        normal=None,
        models={"seg": {"file": "seg.pt2"}},
    )
    doc.save(out / "photo.json")
    (out / "photo_seg_color.png").write_bytes(b"x")
    (out / "photo_overlay.png").write_bytes(b"x")
    expected = Expected({"seg": "seg.pt2"}, overlay=True)
    assert finished_document(out, "photo", str(image), expected) is not None
    assert finished_document(out, "photo", str(tmp_path / "other.png"), expected) is None  # another image's name
    assert finished_document(out, "photo", str(image), Expected({"seg": "seg2.pt2"})) is None  # another model
    assert finished_document(out, "photo", str(image), Expected({"seg": "seg.pt2", "pose": "p.pt2"})) is None
    (out / "photo_overlay.png").unlink()  # killed before the overlay was written
    assert finished_document(out, "photo", str(image), expected) is None
    assert finished_document(out, "photo", str(image), Expected({"seg": "seg.pt2"}, overlay=False)) is not None
    (out / "photo_seg.png").unlink()  # a side file gone
    assert finished_document(out, "photo", str(image), Expected({"seg": "seg.pt2"}, overlay=False)) is None
    (out / "photo.json").write_text('{"format": "sapiens-studio-annotation", "vers')  # cut short
    assert finished_document(out, "photo", str(image), Expected({"seg": "seg.pt2"}, overlay=False)) is None


def test_runtime_messages_name_the_checkpoint_without_its_folder(tiny_checkpoint, tmp_path):
    from sapiens_core.backends import open_backend
    from tests.tiny_models import write_truncated_copy

    folder = tmp_path / "private_models_folder"
    folder.mkdir()
    for fmt, name in (("onnx", "cut.onnx"), ("torchscript", "cut_torchscript.pt2"), ("exported", "cut_bfloat16.pt2")):
        cut = write_truncated_copy(tiny_checkpoint("pose", fmt), folder / name, 0.99)
        with pytest.raises(SapiensError) as error:
            open_backend(cut, task="pose", device="cpu")
        assert name in str(error.value) and "private_models_folder" not in str(error.value)
