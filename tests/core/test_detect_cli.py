"""``predict --detector`` end to end, ``auto``'s three choices, the flags' checks, and the detector's model card.

A detector with fixed outputs (an ONNX graph) stands in where the number of persons must be known: random RTMDet
weights find arbitrary boxes. No network: the card is checked against a file listing, and "installed" is a file in
a models folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from sapiens_core.annotation import Annotation
from sapiens_core.cards import DETECTOR_CARDS, card_for_filename, card_for_path, find_card
from sapiens_core.cli import main
from sapiens_core.hub import pick_remote_file
from sapiens_core.models_dir import MODELS_DIR_ENV, installed_for
from tests.detect_models import OFFICIAL_NAME, dets_onnx, random_rtmdet, save_official_pth

# Two figures on a 640 x 480 image: letterboxing at ratio 1, so the detector's boxes are image pixels.
PEOPLE = [[60, 40, 220, 460, 0.92], [380, 60, 560, 470, 0.81]]


@pytest.fixture(scope="module")
def two_people(tmp_path_factory):
    folder = tmp_path_factory.mktemp("people")
    bgr = np.full((480, 640, 3), 40, np.uint8)
    for x1, y1, x2, y2, _ in PEOPLE:
        cv2.rectangle(bgr, (x1 + 30, y1 + 60), (x2 - 30, y2), (60, 150, 220), -1)
        cv2.circle(bgr, ((x1 + x2) // 2, y1 + 35), 30, (180, 190, 230), -1)
    path = folder / "two.png"
    cv2.imwrite(str(path), bgr)
    return path


@pytest.fixture(scope="module")
def fixed_detector(tmp_path_factory):
    return dets_onnx(tmp_path_factory.mktemp("det") / "people.onnx", PEOPLE, labels=[0, 0])


@pytest.fixture
def no_models(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv(MODELS_DIR_ENV, str(folder))
    return folder


def predict(capsys, *args):
    rc = main(["predict", *map(str, args), "--device", "cpu", "--no-overlay"])
    captured = capsys.readouterr()
    return rc, captured.err


def test_two_people_two_persons(capsys, tmp_path, tiny_checkpoint, two_people, fixed_detector):
    rc, err = predict(
        capsys, two_people, "--out", tmp_path, "--pose", tiny_checkpoint("pose", "pth"), "--detector", fixed_detector
    )
    assert rc == 0, err
    assert "person boxes: ONNX detector (people.onnx)" in err
    doc = Annotation.load(tmp_path / "two.json")
    assert len(doc.persons) == 2
    np.testing.assert_allclose([p.box for p in doc.persons], np.array(PEOPLE)[:, :4])
    assert doc.models["detector"]["layout"] == "dets" and doc.models["detector"]["score_threshold"] == 0.3
    coco = json.loads((tmp_path / "coco.json").read_text())
    assert len(coco["annotations"]) == 2


def test_thresholds_and_max_persons_reach_the_detector(capsys, tmp_path, tiny_checkpoint, two_people, fixed_detector):
    pose = tiny_checkpoint("pose", "pth")
    rc, err = predict(
        capsys, two_people, "--out", tmp_path / "a", "--pose", pose, "--detector", fixed_detector, "--max-persons", 1
    )
    assert rc == 0, err
    assert [p.score for p in Annotation.load(tmp_path / "a" / "two.json").persons] == pytest.approx([0.92])
    # no box scores above 0.95: the whole image is the one person
    rc, err = predict(
        capsys, two_people, "--out", tmp_path / "b", "--pose", pose, "--detector", fixed_detector, "--det-score", 0.95
    )
    assert rc == 0, err
    (person,) = Annotation.load(tmp_path / "b" / "two.json").persons
    np.testing.assert_array_equal(person.box, [0, 0, 640, 480])


def test_given_boxes_win_over_the_detector(capsys, tmp_path, tiny_checkpoint, two_people, fixed_detector):
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({"two.png": [[10, 10, 100, 200]]}))
    rc, err = predict(
        capsys,
        two_people,
        "--out",
        tmp_path / "o",
        "--pose",
        tiny_checkpoint("pose", "pth"),
        "--boxes",
        boxes,
        "--detector",
        fixed_detector,
    )
    assert rc == 0, err
    doc = Annotation.load(tmp_path / "o" / "two.json")
    assert [list(p.box) for p in doc.persons] == [[10, 10, 100, 200]] and "detector" not in doc.models


def test_auto_uses_the_installed_official_detector(capsys, tmp_path, tiny_checkpoint, two_people, no_models):
    card = find_card("detector-rtmdet-m")
    (no_models / card.id).mkdir()
    installed = save_official_pth(random_rtmdet(seed=2).state_dict(), no_models / card.id / OFFICIAL_NAME)
    assert installed_for(card) == installed
    rc, err = predict(
        capsys, two_people, "--out", tmp_path, "--pose", tiny_checkpoint("pose", "pth"), "--detector", "auto"
    )
    assert rc == 0, err
    assert "person boxes (auto): the official detector detector-rtmdet-m" in err
    doc = Annotation.load(tmp_path / "two.json")
    assert doc.models["detector"]["detector"] == "rtmdet-m" and doc.models["detector"]["file"] == OFFICIAL_NAME
    assert len(doc.persons) >= 1


def test_auto_without_a_detector_uses_the_seg_foreground_else_the_whole_image(
    capsys, tmp_path, tiny_checkpoint, two_people, no_models
):
    pose, seg = tiny_checkpoint("pose", "onnx"), tiny_checkpoint("seg", "onnx")
    rc, err = predict(capsys, two_people, "--out", tmp_path / "s", "--pose", pose, "--seg", seg, "--detector", "auto")
    assert rc == 0, err
    assert "person boxes (auto): the seg model's foreground" in err
    assert Annotation.load(tmp_path / "s" / "two.json").models["detector"]["detector"] == "seg-foreground"
    rc, err = predict(capsys, two_people, "--out", tmp_path / "w", "--pose", pose, "--detector", "auto")
    assert rc == 0, err
    assert "person boxes (auto): the whole image" in err
    (person,) = Annotation.load(tmp_path / "w" / "two.json").persons
    np.testing.assert_array_equal(person.box, [0, 0, 640, 480])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--pose", "POSE", "--det-score", "0.5"], "--det-score only applies with --detector"),
        (["--seg", "SEG", "--detector", "auto"], "--detector gives boxes for pose"),
        (["--pose", "POSE", "--detector", "auto", "--det-nms", "1.5"], "NMS IoU threshold must be within 0..1"),
        (["--pose", "POSE", "--detector", "auto", "--max-persons", "0"], "max persons must be at least 1"),
        (["--pose", "POSE", "--detector", "NOTES"], "notes.txt is not a model file"),
    ],
)
def test_bad_detector_flags_exit_2_with_one_line(capsys, tmp_path, tiny_checkpoint, two_people, extra, message):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model")
    names = {"POSE": tiny_checkpoint("pose", "pth"), "SEG": tiny_checkpoint("seg", "onnx"), "NOTES": notes}
    rc, err = predict(capsys, two_people, "--out", tmp_path / "o", *[names.get(a, a) for a in extra])
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and message in err


def test_the_detector_card(capsys, no_models):
    (card,) = DETECTOR_CARDS
    assert card.hf_repo == "facebook/sapiens-pose-bbox-detector" and card.id == "detector-rtmdet-m"
    assert card_for_filename(OFFICIAL_NAME) is card
    assert card_for_path(Path("/anywhere") / OFFICIAL_NAME) is None  # pose/seg callers never get a detector card
    listing = ["README.md", "rtmdet_m_640-8xb32_coco-person_no_nms.py", OFFICIAL_NAME]
    assert pick_remote_file(card, listing) == OFFICIAL_NAME
    assert main(["models", "list", "--task", "detect"]) == 0
    (row,) = capsys.readouterr().out.splitlines()[1:]
    assert row.split()[:3] == ["detector-rtmdet-m", "detect", "m"] and row.split()[-1] == card.hf_repo
