"""A folder written by `predict --out` opens as a project: its documents' images are listed (not its PNG side
files), their labels come from it, and edits are saved back into it."""

from __future__ import annotations

import numpy as np
from PIL import Image

from sapiens_core.annotation import SOURCE_HUMAN, Annotation, Person
from sapiens_core.annotation.edits import move_keypoints


def test_a_predict_out_folder_opens_as_a_project_and_saves_into_it(main_window, qtbot, tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "results"
    photos.mkdir()
    for name in ("a", "b"):
        Image.new("RGB", (64, 48), (80, 80, 80)).save(photos / f"{name}.png")
        xy = np.stack([np.linspace(5, 60, 308), np.linspace(5, 40, 308)], axis=1)
        person = Person.from_prediction(0, xy, np.full(308, 0.9))
        doc = Annotation(
            str(photos / f"{name}.png"),
            (64, 48),
            "goliath_308",
            "sapiens_28",
            persons=[person],
            part_map=np.zeros((48, 64), np.uint8),
        )
        doc.save(out / f"{name}.json")  # writes results/a_seg.png beside it, as predict does
    assert main_window.add_paths([str(out)]) == 2
    assert main_window.files.paths() == [str(photos / "a.png"), str(photos / "b.png")]  # no a_seg.png
    qtbot.waitUntil(lambda: main_window.annotation is not None, timeout=10000)
    assert main_window.current_path == str(photos / "a.png")
    main_window.documents.push(move_keypoints(main_window.annotation, 0, [3], [[30, 20]]))
    main_window.actions["save"].trigger()
    saved = Annotation.load(out / "a.json")
    assert tuple(saved.persons[0].keypoints[3, :2]) == (30, 20) and saved.persons[0].source[3] == SOURCE_HUMAN
    assert not (photos / "sapiens_studio").exists()  # nothing went beside the images
