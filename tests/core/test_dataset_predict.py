"""``predict`` at dataset scale, end to end in real processes: two torchrun ranks give exactly what one process
gives; a run killed half-way and resumed gives the same outputs and never redoes a finished image; a manifest's
missing and corrupt entries are listed as failures; memory stays flat from 100 to 1,000 images.

The models are TorchScript files with the official I/O contract (1024x768 in; 17 heatmaps at 256x192 for pose,
28 class logits at 512x384 for seg) and a trivial body (pool + 1x1 conv), so the per-image cost is the runner's,
not a transformer's; the networks themselves are tested elsewhere.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from sapiens_core.batch.state import STATE_DIR

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


class _Trivial(torch.nn.Module):
    def __init__(self, channels: int, pool: int) -> None:
        super().__init__()
        self.pool = pool
        self.proj = torch.nn.Conv2d(3, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(torch.nn.functional.avg_pool2d(x, self.pool))


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("trivial_models")
    torch.manual_seed(0)
    files = {}
    for task, channels, pool in (("pose", 17, 4), ("seg", 28, 2)):
        files[task] = folder / f"trivial_{task}_torchscript.pt2"
        torch.jit.save(torch.jit.script(_Trivial(channels, pool).eval()), str(files[task]))
    return files


def make_images(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """Small PNGs in two sub-folders, with stems that repeat across them (names must stay unique)."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        path = folder / ("a" if i % 2 else "b") / f"img{i // 2:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        h, w = rng.integers(20, 40, 2)
        assert cv2.imwrite(str(path), rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
        paths.append(path)
    return paths


def predict_command(inputs: Path, out: Path, models: dict, *extra: str) -> list[str]:
    return [
        "-m",
        "sapiens_core",
        "predict",
        str(inputs),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--pose",
        str(models["pose"]),
        "--seg",
        str(models["seg"]),
        "--batch-size",
        "2",
        *extra,
    ]


def run_python(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=timeout)


def documents(out: Path) -> dict[str, dict]:
    """Each document's JSON without its revision (a document saved twice counts its saves)."""
    docs = {}
    for path in sorted(out.glob("*.json")):
        if path.name == "coco.json":
            continue
        data = json.loads(path.read_text())
        data.pop("revision")
        docs[path.name] = data
    return docs


def coco_text(out: Path) -> str:
    # Side files are named relative to the images' folder, so the output folder's own name appears in them.
    return (out / "coco.json").read_text().replace(str(out.parent.name), "RUN")


def log_events(out: Path, rank: int = 0) -> list[tuple[str, str]]:
    lines = (out / STATE_DIR / f"log-{rank:05d}.txt").read_text().splitlines()
    return [tuple(line.split("\t")[:2]) for line in lines if line]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("dataset")
    make_images(root / "in", 40)
    return root


@pytest.fixture(scope="module")
def reference(dataset, models):
    """One process, workers and writer threads on: the outputs every other run must reproduce."""
    out = dataset / "one" / "out"
    proc = run_python(predict_command(dataset / "in", out, models, "--workers", "2", "--no-overlay"))
    assert proc.returncode == 0, proc.stderr
    return out


def test_reference_run_writes_every_input_and_reports_its_stages(reference, dataset):
    docs = documents(reference)
    assert len(docs) == 40  # a/img0000.png and b/img0000.png both have their own document
    assert {d["image"]["path"] for d in docs.values()} == {
        os.path.relpath(p, reference) for p in sorted((dataset / "in").rglob("*.png"))
    }
    coco = json.loads((reference / "coco.json").read_text())
    assert len(coco["images"]) == 40 and len(coco["annotations"]) == 40
    assert all(d["models"]["pose"]["precision"] == "fp32" for d in docs.values())
    done = [stem for event, stem in log_events(reference) if event == "done"]
    assert len(done) == len(set(done)) == 40


def test_two_torchrun_ranks_give_the_outputs_of_one_process(reference, dataset, models):
    out = dataset / "two" / "out"
    command = [
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        *predict_command(dataset / "in", out, models, "--workers", "1", "--no-overlay"),
    ]
    proc = run_python(command)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert documents(out) == documents(reference)
    assert coco_text(out) == coco_text(reference)
    # Each rank took every second input of the sorted list, and nothing twice.
    done = [{stem for event, stem in log_events(out, r) if event == "done"} for r in (0, 1)]
    assert len(done[0]) == len(done[1]) == 20 and not done[0] & done[1]
    assert "rank 0/2" in proc.stdout and "rank 1/2" in proc.stdout and "overlap" in proc.stdout


def test_a_killed_run_resumes_without_redoing_finished_images(reference, dataset, models):
    out = dataset / "killed" / "out"
    command = [sys.executable, *predict_command(dataset / "in", out, models, "--workers", "1", "--no-overlay")]
    proc = subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while len(list(out.glob("*.json"))) < 12 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    first = log_events(out)
    done_first = {stem for event, stem in first if event == "done"}
    assert 0 < len(done_first) < 40  # documents in flight (written, not yet logged) are fine: they are checked
    assert not (out / "coco.json").exists()

    resumed = run_python(predict_command(dataset / "in", out, models, "--workers", "1", "--no-overlay", "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    second = log_events(out)[len(first) :]
    forward = [stem for event, stem in second if event == "forward"]
    skipped = {stem for event, stem in second if event == "skip"}
    # No finished image went through the model again; every other image did, once.
    assert not set(forward) & done_first and done_first <= skipped
    assert len(forward) == len(set(forward)) == 40 - len(skipped)
    assert documents(out) == documents(reference)
    assert coco_text(out) == coco_text(reference)


def test_merge_builds_coco_from_a_run_cut_short(reference, dataset, models, tmp_path):
    import shutil

    out = dataset / "cut" / "out"  # as deep as the reference: the documents' relative image paths still resolve
    shutil.copytree(reference, out)
    (out / "coco.json").unlink()
    part = out / STATE_DIR / "coco-part-00000.jsonl"
    lines = part.read_text().splitlines()
    part.write_text("\n".join(lines[:10]) + "\n" + lines[10][:15])  # killed while writing the 11th line
    proc = run_python(["-m", "sapiens_core", "merge", str(out)])
    assert proc.returncode == 0, proc.stderr
    assert "1 unreadable lines" in proc.stderr
    coco = json.loads((out / "coco.json").read_text())
    expected = [json.loads(line)["image"] for line in lines[:10]]
    root = os.path.commonpath([os.path.dirname(p) for p in expected])  # names are relative to the images' folder
    assert [img["file_name"] for img in coco["images"]] == [os.path.relpath(p, root) for p in expected]
    assert run_python(["-m", "sapiens_core", "merge", str(tmp_path)]).returncode == 2


def test_manifest_with_missing_and_corrupt_entries_lists_them_as_failures(dataset, models, tmp_path):
    good = sorted((dataset / "in" / "a").glob("*.png"))[:3]
    corrupt = tmp_path / "data" / "corrupt.png"
    corrupt.parent.mkdir()
    corrupt.write_bytes(good[0].read_bytes()[:60])
    (tmp_path / "data" / "anim.gif").write_bytes(b"GIF89a")
    listing = tmp_path / "data" / "list.txt"
    entries = [str(p) for p in good] + ["missing.png", "corrupt.png", "anim.gif"]
    listing.write_text("# three good, three bad\n" + "\n".join(entries) + "\n")
    out = tmp_path / "out"
    # The manifest is the only input besides one image also named on the command line (listed once).
    command = ["-m", "sapiens_core", "predict", str(good[0]), "--list", str(listing), "--out", str(out)]
    proc = run_python([*command, "--device", "cpu", "--pose", str(models["pose"]), "--no-overlay"])
    assert proc.returncode == 1, proc.stderr
    failures = dict(line.split("\t", 1) for line in (out / "failures.txt").read_text().splitlines())
    assert set(failures) == {str(tmp_path / "data" / n) for n in ("missing.png", "corrupt.png", "anim.gif")}
    assert "no such file" in failures[str(tmp_path / "data" / "missing.png")]
    assert "corrupt" in failures[str(tmp_path / "data" / "corrupt.png")]
    assert "not an image type" in failures[str(tmp_path / "data" / "anim.gif")]
    assert len(documents(out)) == 3 and len(json.loads((out / "coco.json").read_text())["images"]) == 3


def test_memory_stays_flat_from_100_to_1000_images(models, tmp_path):
    """The resident memory of the running process, sampled as documents appear: after the first hundred images
    (the allocator and the loader warm up) it must not grow with the number of images."""
    import psutil

    make_images(tmp_path / "in", 1000, seed=1)
    out = tmp_path / "out"
    args = predict_command(tmp_path / "in", out, models, "--no-overlay")
    args.remove("--seg")
    args.remove(str(models["seg"]))
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL)
    process = psutil.Process(proc.pid)
    samples: list[tuple[int, float]] = []  # (documents written, resident MB)
    while proc.poll() is None:
        try:
            samples.append((sum(1 for _ in os.scandir(out)) if out.exists() else 0, process.memory_info().rss / 2**20))
        except (psutil.Error, FileNotFoundError):
            pass
        time.sleep(0.1)
    assert proc.wait() == 0
    assert len(documents(out)) == 1000
    early = max(mb for n, mb in samples if 100 <= n < 400)
    late = max(mb for n, mb in samples if n >= 700)
    # 600 more images: state kept per image (an image, a document, a decoded map) would add tens of MB.
    assert late - early < 20, (early, late)
