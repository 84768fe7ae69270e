"""Where documents live: beside the images, in an opened project folder, or per user when the image folder is
read-only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from sapiens_core.annotation import Annotation, Person
from sapiens_core.locations import DocumentLocator, can_write


def _image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (20, 10)).save(path)
    return path


def test_default_is_the_results_folder_beside_the_image(tmp_path):
    image = _image(tmp_path / "photos" / "a.png")
    locator = DocumentLocator(tmp_path / "fallback")
    assert locator.path_for(image) == tmp_path / "photos" / "sapiens_studio" / "a.json"
    assert not locator.is_fallback(image)


def test_a_project_folders_documents_stay_in_it(tmp_path):
    images = [_image(tmp_path / "photos" / n) for n in ("b.png", "a.png")]
    person = Person(0, np.zeros((308, 3)), np.zeros(308), np.zeros(308))
    for image in images:
        Annotation(str(image), (20, 10), "goliath_308", persons=[person]).save(tmp_path / "out" / f"{image.stem}.json")
    Annotation(str(tmp_path / "photos" / "gone.png"), (20, 10)).save(tmp_path / "out" / "gone.json")
    (tmp_path / "out" / "coco.json").write_text("{}")
    locator = DocumentLocator(tmp_path / "fallback")
    # Documents in name order; the one whose image is gone is remembered but not listed.
    assert locator.add_project(tmp_path / "out") == [images[1], images[0]]
    assert locator.path_for(images[0]) == tmp_path / "out" / "b.json"
    assert locator.path_for(tmp_path / "photos" / "gone.png") == tmp_path / "out" / "gone.json"
    assert not locator.is_fallback(images[0])


def test_a_read_only_image_folder_keeps_its_labels_in_the_per_user_folder(tmp_path):
    # Tests run as root, for whom every folder is writable: the permission check is the one thing replaced.
    read_only = tmp_path / "share"
    locator = DocumentLocator(tmp_path / "fallback", writable=lambda folder: not str(folder).startswith(str(read_only)))
    a, b = read_only / "x" / "a.png", read_only / "y" / "a.png"
    pa, pb = locator.path_for(a), locator.path_for(b)
    assert pa.parent.parent == tmp_path / "fallback" and pa.name == "a.json" and pa.parent.name.startswith("x-")
    assert pa.parent != pb.parent  # two folders with the same image names never share a labels folder
    assert locator.path_for(a) == pa  # stable
    assert locator.is_fallback(a)


def test_can_write_looks_at_the_nearest_existing_folder(tmp_path):
    assert can_write(tmp_path / "not" / "yet" / "made")
    (tmp_path / "file.txt").write_text("x")
    assert not can_write(tmp_path / "file.txt" / "below")  # the nearest existing thing is a file, not a folder
