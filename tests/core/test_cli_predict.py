"""``python -m sapiens_core predict`` end to end: tiny models with the official architecture, in every file format,
run through the real runtimes on real image files; the written files are read back as a user's tools would.

Most runs call ``cli.main`` in this process (a fresh interpreter costs seconds of imports); the cases where the
process matters (a hostile pickle, the entry point, mediapipe missing) run ``python -m sapiens_core``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from sapiens_core.annotation import Annotation
from sapiens_core.cli import main
from sapiens_core.quick import quick_available
from tests.tiny_models import FORMATS, rename_copy, write_malicious_pth, write_truncated_copy
from tests.without_mediapipe import BLOCK_MEDIAPIPE

ROOT = Path(__file__).resolve().parents[2]
ASTRONAUT = ROOT / "resources" / "astronaut.png"
GOLIATH = 308
# One dense task per format besides pose, so that together with the mixed run every task meets several runtimes.
DENSE_FOR_FORMAT = {"torchscript": "normal", "exported": "seg", "pth": "seg", "onnx": "depth"}


def predict(capsys, *args) -> tuple[int, str, str]:
    rc = main(["predict", *map(str, args), "--device", "cpu"])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def synthetic_image(path: Path, width: int, height: int, seed: int) -> Path:
    """Noise with a bright upright "figure", written with OpenCV (PNG or JPEG by suffix)."""
    rng = np.random.default_rng(seed)
    bgr = rng.integers(0, 120, (height, width, 3), dtype=np.uint8)
    cv2.rectangle(bgr, (width // 3, height // 5), (2 * width // 3, 9 * height // 10), (40, 180, 230), -1)
    cv2.circle(bgr, (width // 2, height // 8), max(3, width // 10), (200, 200, 240), -1)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), bgr)
    return path


def check_person_doc(doc: Annotation, persons: int = 1) -> None:
    assert doc.keypoint_schema == "goliath_308"
    assert len(doc.persons) == persons
    for person in doc.persons:
        assert person.keypoints.shape == (GOLIATH, 3) and np.isfinite(person.keypoints).all()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """astronaut.png at the top, a same-stem synthetic PNG and a JPEG in subfolders (recursion, unique stems)."""
    root = tmp_path_factory.mktemp("inputs")
    shutil.copyfile(ASTRONAUT, root / "astronaut.png")
    synthetic_image(root / "sub" / "astronaut.png", 96, 128, seed=1)
    synthetic_image(root / "sub" / "deeper" / "street.jpg", 160, 120, seed=2)
    (root / "sub" / "notes.txt").write_text("not an image, skipped")
    return root


@pytest.fixture(scope="module")
def mixed_run(tiny_checkpoint, folder, tmp_path_factory):
    """All four tasks, each in another format, on the folder: (exit status, stderr, output folder)."""
    out = tmp_path_factory.mktemp("mixed_out")
    rc = main(
        [
            "predict",
            str(folder),
            "--out",
            str(out),
            "--device",
            "cpu",
            "--pose",
            str(tiny_checkpoint("pose", "torchscript")),
            "--seg",
            str(tiny_checkpoint("seg", "onnx")),
            "--depth",
            str(tiny_checkpoint("depth", "onnx")),
            "--normal",
            str(tiny_checkpoint("normal", "pth")),
        ]
    )
    return rc, out


# ------------------------------------------------------------------------------------------ outputs


def test_mixed_run_writes_every_contract_file(mixed_run):
    rc, out = mixed_run
    assert rc == 0
    for stem in ("astronaut", "astronaut_2", "street"):  # recursed; the second astronaut got a unique stem
        for suffix in (".json", "_seg.png", "_depth.npy", "_normal.npy", "_overlay.png"):
            assert (out / f"{stem}{suffix}").is_file(), f"{stem}{suffix}"
    assert (out / "coco.json").is_file()
    assert not list(out.glob("notes*"))


@pytest.mark.parametrize("stem,size", [("astronaut", (512, 512)), ("astronaut_2", (96, 128)), ("street", (160, 120))])
def test_mixed_run_layers_read_back(mixed_run, stem, size):
    _, out = mixed_run
    w, h = size
    doc = Annotation.load(out / f"{stem}.json")
    assert doc.image_size == (w, h)
    check_person_doc(doc)
    assert doc.class_schema == "sapiens_28"
    assert {t: doc.models[t]["format"] for t in doc.models} == {
        "pose": "torchscript",
        "seg": "onnx",
        "depth": "onnx",
        "normal": "pth",
    }

    seg = cv2.imread(str(out / f"{stem}_seg.png"), cv2.IMREAD_UNCHANGED)
    assert seg.dtype == np.uint8 and seg.shape == (h, w) and seg.max() < 28
    assert np.array_equal(seg, doc.part_map)

    depth = np.load(out / f"{stem}_depth.npy", allow_pickle=False)
    assert depth.dtype == np.float32 and depth.shape == (h, w)
    normal = np.load(out / f"{stem}_normal.npy", allow_pickle=False)
    assert normal.dtype == np.float32 and normal.shape == (h, w, 3)
    # The seg model's foreground masks both: background NaN, the person finite (and the normals unit length).
    fg = seg != 0
    assert np.array_equal(np.isfinite(depth), fg) and np.array_equal(np.isfinite(normal).all(axis=2), fg)
    if fg.any():
        assert np.allclose(np.linalg.norm(normal[fg], axis=1), 1.0, atol=1e-2)

    overlay = cv2.imread(str(out / f"{stem}_overlay.png"), cv2.IMREAD_UNCHANGED)
    assert overlay.shape == (h, w, 3)


def test_mixed_run_coco_loads_in_pycocotools(mixed_run):
    from pycocotools.coco import COCO

    _, out = mixed_run
    coco = COCO(str(out / "coco.json"))
    assert len(coco.getImgIds()) == 3 and len(coco.getAnnIds()) == 3
    (category,) = coco.loadCats(coco.getCatIds())
    assert len(category["keypoints"]) == GOLIATH
    for ann in coco.loadAnns(coco.getAnnIds()):
        assert len(ann["keypoints"]) == 3 * GOLIATH
        assert set(ann["keypoints"][2::3]) <= {0, 1, 2}
    names = sorted(img["file_name"] for img in coco.loadImgs(coco.getImgIds()))
    assert names == ["astronaut.png", "sub/astronaut.png", "sub/deeper/street.jpg"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_runs_pose_and_a_dense_task(tiny_checkpoint, tmp_path, capsys, fmt):
    image = synthetic_image(tmp_path / "in" / "person.png", 120, 160, seed=3)
    dense = DENSE_FOR_FORMAT[fmt]
    out = tmp_path / "out"
    rc, stdout, err = predict(
        capsys, image, "--out", out, "--pose", tiny_checkpoint("pose", fmt), f"--{dense}", tiny_checkpoint(dense, fmt)
    )
    assert (rc, lines(err)) == (0, [])
    doc = Annotation.load(out / "person.json")
    check_person_doc(doc)
    assert doc.models["pose"]["format"] == fmt and doc.models[dense]["format"] == fmt
    layer = {"seg": doc.part_map, "depth": doc.depth, "normal": doc.normal}[dense]
    assert layer is not None and layer.shape[:2] == (160, 120)
    side = {"seg": "person_seg.png", "depth": "person_depth.npy", "normal": "person_normal.npy"}[dense]
    assert (out / side).is_file() and (out / "person_overlay.png").is_file()
    coco = json.loads((out / "coco.json").read_text())
    assert len(coco["annotations"]) == 1 and len(coco["annotations"][0]["keypoints"]) == 3 * GOLIATH


# ------------------------------------------------------------------------------------------ options


def test_boxes_file_gives_one_person_per_box(tiny_checkpoint, tmp_path, capsys):
    shutil.copyfile(ASTRONAUT, tmp_path / "astronaut.png")
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({"astronaut.png": [[40, 20, 300, 500], [200, 10, 500, 400, 0.7]]}))
    rc, _, err = predict(
        capsys,
        tmp_path / "astronaut.png",
        "--out",
        tmp_path / "out",
        "--boxes",
        boxes,
        "--pose",
        tiny_checkpoint("pose", "onnx"),
    )
    assert (rc, lines(err)) == (0, [])
    doc = Annotation.load(tmp_path / "out" / "astronaut.json")
    check_person_doc(doc, persons=2)
    assert [p.id for p in doc.persons] == [0, 1]
    assert np.array_equal(doc.persons[0].box, [40, 20, 300, 500]) and doc.persons[1].score == pytest.approx(0.7)
    coco = json.loads((tmp_path / "out" / "coco.json").read_text())
    assert [a["bbox"] for a in coco["annotations"]] == [[40, 20, 260, 480], [200, 10, 300, 390]]


def test_batch_size_two_matches_batch_size_one(tiny_checkpoint, tmp_path, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copyfile(ASTRONAUT, inputs / "a.png")
    synthetic_image(inputs / "b.png", 90, 70, seed=4)
    synthetic_image(inputs / "c.png", 50, 80, seed=5)  # three images: the last batch of two is short
    boxes = tmp_path / "boxes.json"  # crops of several images share a batch too
    boxes.write_text(json.dumps({"a.png": [[10, 10, 300, 500], [250, 0, 512, 512]]}))
    docs = {}
    for n in (1, 2):
        out = tmp_path / f"bs{n}"
        rc, _, err = predict(
            capsys,
            inputs,
            "--out",
            out,
            "--batch-size",
            n,
            "--boxes",
            boxes,
            "--pose",
            tiny_checkpoint("pose", "onnx"),
            "--seg",
            tiny_checkpoint("seg", "torchscript"),
        )
        assert (rc, lines(err)) == (0, [])
        docs[n] = [Annotation.load(out / f"{s}.json") for s in "abc"]
    for one, two in zip(docs[1], docs[2]):
        assert len(one.persons) == len(two.persons) > 0
        for p, q in zip(one.persons, two.persons):
            assert np.allclose(p.keypoints, q.keypoints, atol=1e-3)
            assert np.array_equal(p.visibility, q.visibility)
        assert (one.part_map != two.part_map).mean() < 1e-3


def test_flip_test_runs_and_changes_the_average(tiny_checkpoint, tmp_path, capsys):
    image = synthetic_image(tmp_path / "p.png", 100, 150, seed=6)
    pose = tiny_checkpoint("pose", "torchscript")
    keypoints = {}
    for flag in ((), ("--flip-test",)):
        out = tmp_path / ("flip" if flag else "plain")
        rc, _, err = predict(capsys, image, "--out", out, "--pose", pose, *flag)
        assert (rc, lines(err)) == (0, [])
        keypoints[bool(flag)] = Annotation.load(out / "p.json").persons[0].keypoints
    assert keypoints[True].shape == keypoints[False].shape
    assert not np.allclose(keypoints[True], keypoints[False])  # random weights are not mirror-symmetric


# ------------------------------------------------------------------------------------------ failures


def test_a_corrupt_image_fails_alone(tiny_checkpoint, tmp_path, capsys):
    inputs = tmp_path / "in"
    synthetic_image(inputs / "good1.png", 80, 100, seed=7)
    synthetic_image(inputs / "good2.jpg", 100, 80, seed=8)
    data = (inputs / "good1.png").read_bytes()
    (inputs / "broken.png").write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    rc, _, err = predict(capsys, inputs, "--out", out, "--pose", tiny_checkpoint("pose", "onnx"))
    assert rc == 1
    (line,) = lines(err)
    assert "broken.png" in line and "Traceback" not in err
    assert (out / "good1.json").is_file() and (out / "good2.json").is_file() and not (out / "broken.json").exists()
    assert len(json.loads((out / "coco.json").read_text())["images"]) == 2


def test_a_missing_input_fails(tiny_checkpoint, tmp_path, capsys):
    rc, _, err = predict(
        capsys, tmp_path / "nowhere.png", "--out", tmp_path / "out", "--pose", tiny_checkpoint("pose", "onnx")
    )
    assert rc == 1 and lines(err) == [f"failed: {tmp_path / 'nowhere.png'}: no such file or folder"]


def _bad_model(kind: str, tiny_checkpoint, folder: Path) -> tuple[str, Path]:
    """(flag, file) of a checkpoint that must be refused in one line."""
    if kind.startswith("truncated-"):
        fmt = kind.split("-", 1)[1]
        return "--pose", write_truncated_copy(tiny_checkpoint("pose", fmt), folder / f"cut_{fmt}.bin")
    if kind == "foreign":
        return "--pose", rename_copy(ASTRONAUT, folder / "model_torchscript.pt2")
    if kind == "malicious-legacy":
        return "--pose", write_malicious_pth(folder / "evil.pth", folder / "MARKER", zipped=False)
    if kind == "seg-pth-as-pose":  # a .pth says its task
        return "--pose", tiny_checkpoint("seg", "pth")
    if kind == "seg-onnx-as-depth":  # an ONNX file does not: its output shows it
        return "--depth", tiny_checkpoint("seg", "onnx")
    if kind == "pose-missing":
        return "--pose", folder / "absent_model.pt2"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "truncated-torchscript",
        "truncated-pth",
        "truncated-onnx",
        "truncated-exported",
        "foreign",
        "malicious-legacy",
        "seg-pth-as-pose",
        "seg-onnx-as-depth",
        "pose-missing",
    ],
)
def test_model_errors_exit_2_with_one_line(tiny_checkpoint, tmp_path, capsys, kind):
    flag, model = _bad_model(kind, tiny_checkpoint, tmp_path)
    rc, _, err = predict(capsys, ASTRONAUT, "--out", tmp_path / "out", flag, model)
    assert rc == 2
    (line,) = lines(err)
    assert line.startswith("error: ") and model.name in line
    assert not (tmp_path / "MARKER").exists()
    assert not list(tmp_path.glob("out/*.json"))


def test_malicious_pickle_through_the_entry_point(tmp_path):
    marker = tmp_path / "pwned"
    evil = write_malicious_pth(tmp_path / "pose.pth", marker)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sapiens_core",
            "predict",
            str(ASTRONAUT),
            "--out",
            str(tmp_path / "out"),
            "--pose",
            str(evil),
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    (line,) = lines(proc.stderr)
    assert "pose.pth" in line and "Traceback" not in proc.stderr
    assert not marker.exists()


def test_usage_errors_exit_2(tmp_path, capsys):
    assert predict(capsys, ASTRONAUT, "--out", tmp_path / "o")[0] == 2  # no model at all
    with pytest.raises(SystemExit) as exit_:
        main(["predict", str(ASTRONAUT), "--out", str(tmp_path / "o"), "--pose", "x.pt2", "--quick"])
    assert exit_.value.code == 2 and "not allowed with" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    rc, _, err = predict(capsys, ASTRONAUT, "--out", tmp_path / "file", "--pose", "x.pt2")
    assert rc == 2 and len(lines(err)) == 1


@pytest.mark.parametrize(
    "command,words",
    [("predict", ["--pose", "--quick", "--boxes", "--batch-size"]), ("models", ["list", "download", "verify"])],
)
def test_help(capsys, command, words):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert all(word in text for word in words)


# ------------------------------------------------------------------------------------------ --quick

needs_quick = pytest.mark.skipif(not quick_available(), reason="mediapipe with the legacy Holistic solution missing")


@needs_quick
def test_quick_on_the_astronaut(tmp_path, capsys):
    out = tmp_path / "out"
    rc, _, _ = predict(capsys, ASTRONAUT, "--out", out, "--quick")
    assert rc == 0
    doc = Annotation.load(out / "astronaut.json")
    assert doc.keypoint_schema == "goliath_308" and len(doc.persons) == 1
    assert doc.models["pose"]["file"] == "quick" and doc.models["pose"]["format"] == "mediapipe-holistic"
    person = doc.persons[0]
    labeled = person.visibility > 0
    assert labeled.sum() > 100
    assert np.all(person.keypoints[person.keypoints[:, 2] == 0, 2] == 0)
    nose = person.keypoints[0, :2]  # Goliath point 0 is the nose
    assert person.visibility[0] == 2 and 0 <= nose[0] < 512 and 0 <= nose[1] < 512 * 0.5
    assert doc.foreground is not None and 0.25 < doc.foreground.mean() < 0.65
    assert doc.part_map is None and (out / "astronaut_fg.png").is_file() and (out / "astronaut_overlay.png").is_file()
    coco = json.loads((out / "coco.json").read_text())
    assert coco["info"]["keypoint_schema"] == "goliath_308" and coco["annotations"][0]["num_keypoints"] > 100


def test_quick_without_mediapipe_exits_2_with_the_install_hint(tmp_path):
    code = BLOCK_MEDIAPIPE + (
        "from sapiens_core.cli import main\n"
        f"raise SystemExit(main(['predict', {str(ASTRONAUT)!r}, '--out', {str(tmp_path / 'out')!r}, '--quick']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 2, proc.stderr
    (line,) = lines(proc.stderr)
    assert "mediapipe is not installed" in line and "pip install --no-deps mediapipe" in line
    assert not (tmp_path / "out").exists()


def test_the_image_reader_handles_a_pillow_written_image(tiny_checkpoint, tmp_path, capsys):
    # A greyscale PNG from another writer: the CLI sees it as RGB of the same size.
    Image.fromarray(np.tile(np.arange(64, dtype=np.uint8), (48, 1))).save(tmp_path / "grey.png")
    rc, _, err = predict(
        capsys, tmp_path / "grey.png", "--out", tmp_path / "out", "--seg", tiny_checkpoint("seg", "onnx")
    )
    assert (rc, lines(err)) == (0, [])
    assert cv2.imread(str(tmp_path / "out" / "grey_seg.png"), cv2.IMREAD_UNCHANGED).shape == (48, 64)
    assert not (tmp_path / "out" / "coco.json").exists()  # no pose model ran
