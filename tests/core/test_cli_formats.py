"""``python -m sapiens_core export|import|stats``: exit codes, messages, splits and the round trip through files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sapiens_core.annotation import SOURCE_HUMAN, Annotation, Person
from sapiens_core.cli import main
from sapiens_core.export import format_names

K = 308
ROOT = Path(__file__).resolve().parents[2]


def _project(tmp_path: Path, count: int = 5) -> Path:
    folder = tmp_path / "project"
    for i in range(count):
        image = tmp_path / "images" / f"im{i}.png"
        image.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 48)).save(image)
        xy = np.stack([np.linspace(3, 60, K), np.linspace(2, 45, K)], axis=1)
        person = Person.from_prediction(0, xy, np.full(K, 0.9), box=[1, 1, 62, 46])
        person.source[:4] = SOURCE_HUMAN
        Annotation(str(image), (64, 48), "goliath_308", persons=[person], reviewed=i % 2 == 0).save(
            folder / f"im{i}.json"
        )
    return folder


def test_every_registered_format_is_offered_by_the_cli(capsys):
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    text = capsys.readouterr().out
    assert all(name in text for name in format_names(writable=True))
    assert "sapiens-lite" not in text  # import only
    with pytest.raises(SystemExit):
        main(["import", "--help"])
    assert "sapiens-lite" in capsys.readouterr().out


def test_export_import_export_through_the_cli_gives_the_same_file(tmp_path, capsys):
    project = _project(tmp_path)
    first = tmp_path / "out" / "train.json"
    assert main(["export", str(project), "--format", "coco-goliath308", "--out", str(first)]) == 0
    assert "5 images, 5 persons" in capsys.readouterr().out
    assert main(["import", str(first), "--format", "coco-goliath308", "--out", str(tmp_path / "again")]) == 0
    assert "5 documents created" in capsys.readouterr().out
    second = tmp_path / "out2" / "train.json"  # the same folder depth, so relative image names agree
    assert main(["export", str(tmp_path / "again"), "--format", "coco-goliath308", "--out", str(second)]) == 0
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    assert a["annotations"] == b["annotations"] and a["categories"] == b["categories"]
    assert [i["file_name"] for i in a["images"]] == [i["file_name"] for i in b["images"]]


def test_split_and_only_reviewed(tmp_path, capsys):
    project = _project(tmp_path, 12)
    out = tmp_path / "out" / "coco.json"
    assert (
        main(
            [
                "export",
                str(project),
                "--format",
                "coco17",
                "--out",
                str(out),
                "--split",
                "train=0.5,val=0.5",
                "--seed",
                "7",
                "--only-reviewed",
            ]
        )
        == 0
    )
    names = [json.loads((tmp_path / "out" / f"coco_{p}.json").read_text())["images"] for p in ("train", "val")]
    files = sorted(i["file_name"] for part in names for i in part)
    assert files == sorted(f"../images/im{i}.png" for i in range(0, 12, 2))  # reviewed ones, each once
    assert set(i["file_name"] for i in names[0]).isdisjoint(i["file_name"] for i in names[1])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["export", "{tmp}/nothing", "--format", "coco17", "--out", "{tmp}/x.json"], "is not a folder"),
        (["export", "{project}", "--format", "coco17", "--out", "{tmp}"], "is a folder; coco17 writes one file"),
        (["export", "{project}", "--format", "coco17", "--out", "{tmp}/x.json", "--split", "a=0.5"], "add up to 0.5"),
        (["export", "{empty}", "--format", "coco17", "--out", "{tmp}/x.json"], "holds no annotation documents"),
        (["import", "{tmp}/none.json", "--format", "coco17", "--out", "{tmp}/p"], "no such file or folder"),
    ],
)
def test_usage_errors_exit_2_with_one_line(tmp_path, capsys, argv, message):
    project = _project(tmp_path, 1)
    (tmp_path / "empty").mkdir()
    argv = [a.format(tmp=tmp_path, project=project, empty=tmp_path / "empty") for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_a_broken_document_fails_the_export_with_exit_1_naming_it(tmp_path, capsys):
    project = _project(tmp_path, 3)
    (project / "im1.json").write_text('{"format": "sapiens-studio/annotation", "version": 1, "image": 3}')
    assert main(["export", str(project), "--format", "coco-goliath308", "--out", str(tmp_path / "c.json")]) == 1
    captured = capsys.readouterr()
    assert "2 images" in captured.out and "im1.json" in captured.err and "field 'image' must be a dict" in captured.err


def test_import_of_a_malformed_file_exits_2_naming_it(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["import", str(bad), "--format", "coco-goliath308", "--out", str(tmp_path / "p")]) == 2
    assert "bad.json" in capsys.readouterr().err


def test_stats_prints_counts_and_json(tmp_path, capsys):
    project = _project(tmp_path, 4)
    assert main(["stats", str(project), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["images"] == 4 and figures["persons"] == 4
    assert figures["states"] == {"reviewed": 2, "edited": 2}  # every image has human points; even ones reviewed
    assert figures["human_points"] == 16 and figures["model_points"] == 4 * (K - 4)
    assert main(["stats", str(project)]) == 0
    assert "reviewed: 2" in capsys.readouterr().out


def test_python_m_entry_point_has_help_for_each_command():
    for command in ("export", "import", "stats"):
        result = subprocess.run(
            [sys.executable, "-m", "sapiens_core", command, "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0 and "usage:" in result.stdout
