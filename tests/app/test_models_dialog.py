"""The model manager dialog, driven through its real widgets: cards, import, choosing models, download, diagnostics.

Nothing reaches the network: the download path runs a slow local function (injected through the constructor)
that honours the same progress/cancel contract as ``hub.download``.
"""

import os
import shutil
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QFileDialog

from app.models.dialog import ModelManagerDialog
from app.settings import Settings
from app.workers import JobRunner
from sapiens_core import hub
from sapiens_core.cards import CARDS, SAPIENS2_CARDS, cards, find_card

OFFICIAL_POSE = "sapiens_0.3b_goliath_best_goliath_AP_573_torchscript.pt2"  # card pose-0.3b-torchscript


@pytest.fixture
def models_dir() -> Path:
    return Path(os.environ["SAPIENS_MODELS_DIR"])  # set per test by tests/conftest.py


@pytest.fixture
def make_dialog(qtbot, tmp_path):
    runners = []

    def make(**kwargs) -> ModelManagerDialog:
        settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        runner = JobRunner()
        runners.append(runner)
        dialog = ModelManagerDialog(settings, runner, **kwargs)
        qtbot.addWidget(dialog)
        dialog.show()
        return dialog

    yield make
    for runner in runners:
        runner.cancel_all()
        runner.wait(10000)


def choose_file(monkeypatch, path) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(path), ""))


def click(qtbot, dialog, name: str) -> None:
    button = dialog.findChild(object, name)
    assert button.isEnabled(), f"{name} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def wait_idle(qtbot, dialog) -> None:
    qtbot.waitUntil(lambda: dialog.job is None, timeout=30000)


def combo_paths(dialog, task: str) -> list[str]:
    combo = dialog.findChild(object, f"modelCombo_{task}")
    return [combo.itemData(i) for i in range(combo.count())]


def select_combo_path(dialog, task: str, path) -> None:
    combo = dialog.findChild(object, f"modelCombo_{task}")
    combo.setCurrentIndex(combo.findData(str(path)))


def table_column(dialog, column: int) -> list[str]:
    model = dialog.table.model()
    return [model.index(row, column).data() for row in range(model.rowCount())]


def test_the_table_lists_every_card_and_filters_by_task(make_dialog):
    dialog = make_dialog()
    assert table_column(dialog, 0) == [c.id for c in (*CARDS, *SAPIENS2_CARDS)] + ["detector-rtmdet-m"]
    assert set(table_column(dialog, 6)) == {"—"}  # nothing installed in a fresh models folder
    assert "308×256×192 (goliath_308)" in table_column(dialog, 4)
    task_filter = dialog.findChild(object, "taskFilter")
    task_filter.setCurrentIndex(task_filter.findData("depth"))
    assert table_column(dialog, 0) == [c.id for c in cards(task="depth")]
    assert set(table_column(dialog, 1)) == {"depth"}
    task_filter.setCurrentIndex(task_filter.findData("pointmap"))  # Sapiens2 only
    assert table_column(dialog, 0) == [f"sapiens2-pointmap-{s}" for s in ("0.4b", "0.8b", "1b", "5b")]
    assert set(table_column(dialog, 7)) == {"Sapiens2 License"}


def test_import_copies_a_checkpoint_in_and_offers_it_for_its_task(
    make_dialog, qtbot, monkeypatch, tiny_checkpoints, models_dir, tmp_path
):
    dialog = make_dialog()
    source = Path(tiny_checkpoints["pose"])  # tiny_pose_torchscript.pt2: the name says pose
    choose_file(monkeypatch, source)
    click(qtbot, dialog, "importButton")
    wait_idle(qtbot, dialog)
    copied = models_dir / "imported" / "pose" / source.name
    assert copied.read_bytes() == source.read_bytes() and source.is_file()  # copied, not moved
    assert str(copied) in combo_paths(dialog, "pose") and str(copied) not in combo_paths(dialog, "seg")
    # The first model of a task is taken into use right away; the user sees it chosen.
    assert dialog.settings.model_path("pose") == str(copied)
    assert dialog.findChild(object, "modelCombo_pose").currentData() == str(copied)
    assert "now runs for pose" in dialog.findChild(object, "statusLabel").text()

    # A name that says nothing: "import as" decides; with the automatic choice it is offered for every task.
    neutral = tmp_path / "finetuned.pt2"
    shutil.copy(source, neutral)
    import_as = dialog.findChild(object, "importTaskCombo")
    import_as.setCurrentIndex(import_as.findData("normal"))
    choose_file(monkeypatch, neutral)
    click(qtbot, dialog, "importButton")
    wait_idle(qtbot, dialog)
    as_normal = models_dir / "imported" / "normal" / "finetuned.pt2"
    assert str(as_normal) in combo_paths(dialog, "normal") and str(as_normal) not in combo_paths(dialog, "pose")

    import_as.setCurrentIndex(0)  # task from file name
    other = tmp_path / "other" / "finetuned.pt2"  # same name, different content: lands beside, nothing overwritten
    other.parent.mkdir()
    other.write_bytes(Path(tiny_checkpoints["depth"]).read_bytes())
    choose_file(monkeypatch, other)
    click(qtbot, dialog, "importButton")
    wait_idle(qtbot, dialog)
    unknown = models_dir / "imported" / "unknown" / "finetuned.pt2"
    assert all(str(unknown) in combo_paths(dialog, t) for t in ("pose", "seg", "depth", "normal"))
    assert as_normal.read_bytes() == neutral.read_bytes()

    # Choosing in the per-task selector writes the setting; so do the enabled boxes and the device.
    select_combo_path(dialog, "depth", unknown)
    assert dialog.settings.model_path("depth") == str(unknown)
    dialog.findChild(object, "enabled_seg").click()
    assert "seg" not in dialog.settings.enabled_tasks() and "pose" in dialog.settings.enabled_tasks()
    dialog.findChild(object, "deviceCombo").setCurrentText("cpu")
    assert dialog.settings.device == "cpu"


def test_use_stores_the_installed_file_of_the_selected_card(
    make_dialog, qtbot, monkeypatch, tiny_checkpoints, models_dir, tmp_path
):
    dialog = make_dialog()
    dialog.settings.set_model_path("pose", "/elsewhere/kept.pt2")  # an earlier choice stays listed, not lost
    dialog.refresh()
    assert "/elsewhere/kept.pt2" in combo_paths(dialog, "pose")
    official = tmp_path / OFFICIAL_POSE
    shutil.copy(tiny_checkpoints["pose"], official)
    choose_file(monkeypatch, official)
    click(qtbot, dialog, "importButton")
    wait_idle(qtbot, dialog)
    installed = models_dir / "pose-0.3b-torchscript" / OFFICIAL_POSE
    assert installed.is_file() and dialog.settings.model_path("pose") == "/elsewhere/kept.pt2"

    assert dialog.select_card("pose-0.3b-torchscript")
    use = dialog.findChild(object, "useButton")
    assert use.text() == "Use for pose"
    click(qtbot, dialog, "useButton")
    assert dialog.settings.model_path("pose") == str(installed)
    assert dialog.table.model().index(dialog.table.currentIndex().row(), 6).data() == "in use"
    assert not dialog.findChild(object, "downloadButton").isEnabled()  # installed already

    # Verify: the verdict shows; a damaged copy is named as such.
    click(qtbot, dialog, "verifyButton")
    wait_idle(qtbot, dialog)
    assert "OK" in dialog.findChild(object, "statusLabel").text()


@pytest.mark.parametrize("kind", ["text", "truncated"])
def test_importing_a_foreign_or_truncated_file_explains_and_copies_nothing(
    make_dialog, qtbot, monkeypatch, tiny_checkpoints, models_dir, tmp_path, kind
):
    dialog = make_dialog()
    bad = tmp_path / "pose_model_torchscript.pt2"
    if kind == "text":
        bad.write_text("these are my notes, not a model\n")
        expected = "is not a model file this app reads"
    else:
        data = Path(tiny_checkpoints["pose"]).read_bytes()
        bad.write_bytes(data[: len(data) // 2])
        expected = "truncated or corrupt"
    choose_file(monkeypatch, bad)
    click(qtbot, dialog, "importButton")
    qtbot.waitUntil(lambda: dialog.error_box is not None, timeout=30000)
    assert expected in dialog.error_box.text() and bad.name in dialog.error_box.text()
    assert expected in dialog.findChild(object, "statusLabel").text()
    assert [p for p in models_dir.rglob("*") if p.is_file()] == []
    assert bad.is_file()  # the user's file is untouched
    assert dialog.settings.model_path("pose") == ""
    dialog.error_box.close()
    wait_idle(qtbot, dialog)
    assert dialog.findChild(object, "importButton").isEnabled()  # the dialog carries on


def test_diagnostics_view_says_where_models_run_and_why_not_cuda(make_dialog, qtbot):
    import torch

    dialog = make_dialog()
    click(qtbot, dialog, "diagnosticsButton")
    view = dialog.findChild(object, "diagnosticsText")
    assert view.isReadOnly() and dialog.diagnostics_dialog.isVisible()
    qtbot.waitUntil(lambda: "ONNX Runtime" in view.toPlainText(), timeout=30000)
    text = view.toPlainText()
    if torch.cuda.is_available():
        assert "run on: CUDA" in text
    else:
        assert "run on: CPU" in text and "CUDA is not used: " in text


def slow_download(card, models_dir, progress=None):
    """Like hub.download: stages a growing file in <card>/.incoming, stops with DownloadCancelled on False."""
    staging = Path(models_dir) / card.id / ".incoming"
    staging.mkdir(parents=True, exist_ok=True)
    total = 5_000_000_000  # more than a C int holds: the dialog must still show it
    with open(staging / "part.incomplete", "ab") as part:
        for step in range(1, 2001):
            part.write(b"\0" * 1024)
            part.flush()
            if progress(step * 50_000_000 % total, total) is False:
                raise hub.DownloadCancelled("download cancelled")
            time.sleep(0.01)
    raise AssertionError("the download was never cancelled")


def test_download_shows_progress_and_cancel_removes_partial_files(make_dialog, qtbot, models_dir):
    dialog = make_dialog(download_fn=slow_download)
    card = find_card("pose-0.3b-torchscript")
    assert dialog.select_card(card.id)
    click(qtbot, dialog, "downloadButton")
    bar = dialog.findChild(object, "progressBar")
    qtbot.waitUntil(lambda: bar.isVisible() and bar.value() > 0, timeout=30000)
    assert bar.maximum() == 5_000_000_000 >> 10
    assert (models_dir / card.id / ".incoming" / "part.incomplete").is_file()
    assert not dialog.findChild(object, "downloadButton").isEnabled()
    assert not dialog.findChild(object, "importButton").isEnabled()
    click(qtbot, dialog, "cancelButton")
    wait_idle(qtbot, dialog)
    assert "cancelled" in dialog.findChild(object, "statusLabel").text()
    assert not (models_dir / card.id).exists()
    assert not bar.isVisible() and dialog.findChild(object, "downloadButton").isEnabled()


def test_a_finished_download_is_installed_and_verified(make_dialog, qtbot, models_dir, tiny_checkpoints):
    def quick_download(card, models_dir, progress=None):
        target = Path(models_dir) / card.id / card.filenames[0]
        target.parent.mkdir(parents=True)
        shutil.copy(tiny_checkpoints["pose"], target)
        progress(target.stat().st_size, target.stat().st_size)
        (target.parent / (target.name + ".sha256")).write_text(hub.sha256_of(target) + "\n")
        return target

    dialog = make_dialog(download_fn=quick_download)
    card = find_card("pose-0.3b-torchscript")
    dialog.select_card(card.id)
    click(qtbot, dialog, "downloadButton")
    wait_idle(qtbot, dialog)
    row = dialog.table.currentIndex().row()
    assert dialog.table.model().index(row, 6).data() == "yes"
    click(qtbot, dialog, "verifyButton")
    wait_idle(qtbot, dialog)
    assert "sha256 matches" in dialog.findChild(object, "statusLabel").text()

    with open(models_dir / card.id / card.filenames[0], "ab") as damaged:
        damaged.write(b"junk")
    click(qtbot, dialog, "verifyButton")
    qtbot.waitUntil(lambda: dialog.error_box is not None, timeout=30000)
    assert "content differs" in dialog.error_box.text()


def test_the_person_detector_is_listed_downloadable_and_used_as_the_detector(
    make_dialog, qtbot, monkeypatch, models_dir, tmp_path
):
    from tests.detect_models import OFFICIAL_NAME, random_rtmdet, save_official_pth

    dialog = make_dialog()
    assert table_column(dialog, 0)[-1] == "detector-rtmdet-m"
    row = len(CARDS) + len(SAPIENS2_CARDS)
    assert [dialog.table.model().index(row, c).data() for c in (1, 4)] == ["detect", "person boxes"]

    official = save_official_pth(random_rtmdet().state_dict(), tmp_path / OFFICIAL_NAME)
    choose_file(monkeypatch, official)
    click(qtbot, dialog, "importButton")
    wait_idle(qtbot, dialog)
    installed = models_dir / "detector-rtmdet-m" / OFFICIAL_NAME
    assert installed.is_file()
    assert dialog.select_card("detector-rtmdet-m")
    use = dialog.findChild(object, "useButton")
    assert use.text() == "Use as person detector"
    dialog.settings.detect_persons = False
    click(qtbot, dialog, "useButton")
    assert dialog.settings.model_path("detector") == str(installed) and dialog.settings.detect_persons
    assert dialog.table.model().index(dialog.table.currentIndex().row(), 6).data() == "in use"
