"""The Sapiens2 licence in the model manager, through the real dialog: the selected card shows its licence and use
restrictions; the first download of a Sapiens2 model asks for acceptance (Decline downloads nothing, Accept
downloads and remembers it per licence and text); a copy of the licence lands beside the weights.
No network: the download is a local function injected through the constructor."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt

from app.models.dialog import ModelManagerDialog
from app.settings import Settings
from app.workers import JobRunner
from sapiens_core.licences import SAPIENS2


@pytest.fixture
def models_dir(tmp_path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def downloads():
    return []


@pytest.fixture
def dialog(qtbot, tmp_path, models_dir, downloads):
    def download(card, folder, progress=None):
        downloads.append(card.id)
        target = Path(folder) / card.id / card.filenames[0]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"weights")
        progress(7, 7)
        return target

    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    runner = JobRunner()
    dialog = ModelManagerDialog(settings, runner, models_dir=models_dir, download_fn=download)
    qtbot.addWidget(dialog)
    dialog.show()
    yield dialog
    runner.cancel_all()
    runner.wait(10000)


def click(qtbot, parent, name: str) -> None:
    button = parent.findChild(object, name)
    assert button is not None and button.isEnabled() and button.isVisible(), name
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def licence_dialog(dialog):
    return dialog.licence_dialog if dialog.licence_dialog is not None and dialog.licence_dialog.isVisible() else None


def test_a_sapiens2_card_shows_its_licence_and_use_restrictions(dialog):
    info = dialog.findChild(object, "licenceInfo")
    assert dialog.select_card("sapiens2-normal-1b")
    text = info.text()
    assert info.isVisible() and "Sapiens2 License" in text and "commercial use allowed" in text
    assert all(restriction in text for restriction in ("surveillance", "biometric processing"))
    assert text.count("<li>") == len(SAPIENS2.restrictions) == 8
    assert "asked for before the download" in text
    assert dialog.select_card("seg-1b-torchscript")
    assert "CC-BY-NC-4.0" in info.text() and "Sapiens2" not in info.text()


def test_decline_downloads_nothing_and_accept_downloads_with_a_copy_of_the_licence(
    dialog, qtbot, models_dir, downloads
):
    assert dialog.select_card("sapiens2-pose-0.4b")
    click(qtbot, dialog, "downloadButton")
    shown = licence_dialog(dialog)
    assert shown is not None and "biometric processing" in shown.findChild(object, "licenceText").toPlainText()
    assert downloads == [] and dialog.job is None

    click(qtbot, shown, "declineLicence")
    qtbot.waitUntil(lambda: dialog.licence_dialog is None)
    assert downloads == [] and not (models_dir / "sapiens2-pose-0.4b").exists()
    assert "declined" in dialog.findChild(object, "statusLabel").text()
    assert not dialog.settings.licence_accepted(SAPIENS2.key, SAPIENS2.digest)

    click(qtbot, dialog, "downloadButton")
    shown = licence_dialog(dialog)
    assert shown is not None
    click(qtbot, shown, "acceptLicence")
    qtbot.waitUntil(lambda: downloads == ["sapiens2-pose-0.4b"] and dialog.job is None, timeout=30000)
    folder = models_dir / "sapiens2-pose-0.4b"
    assert (folder / "sapiens2_0.4b_pose.safetensors").read_bytes() == b"weights"
    assert (folder / "LICENSE-sapiens2.md").read_text(encoding="utf-8") == SAPIENS2.text
    assert dialog.settings.licence_accepted(SAPIENS2.key, SAPIENS2.digest)
    assert "accepted" in dialog.findChild(object, "licenceInfo").text()

    # Accepted once per licence: another Sapiens2 model downloads without asking again.
    assert dialog.select_card("sapiens2-seg-0.4b")
    click(qtbot, dialog, "downloadButton")
    assert licence_dialog(dialog) is None
    qtbot.waitUntil(lambda: downloads[-1:] == ["sapiens2-seg-0.4b"] and dialog.job is None, timeout=30000)
    assert (models_dir / "sapiens2-seg-0.4b" / "LICENSE-sapiens2.md").is_file()


def test_enter_declines_and_a_changed_text_asks_again(dialog, qtbot, downloads):
    dialog.settings.accept_licence(SAPIENS2.key, "an older text")
    assert dialog.select_card("sapiens2-pointmap-0.8b")
    click(qtbot, dialog, "downloadButton")
    shown = licence_dialog(dialog)
    assert shown is not None  # an acceptance of another text does not count
    qtbot.keyClick(shown, Qt.Key.Key_Return)  # Enter alone never agrees to a licence
    qtbot.waitUntil(lambda: dialog.licence_dialog is None)
    assert downloads == [] and not dialog.settings.licence_accepted(SAPIENS2.key, SAPIENS2.digest)


def test_a_v1_card_downloads_without_a_licence_dialog(dialog, qtbot, models_dir, downloads):
    assert dialog.select_card("depth-0.3b-torchscript")
    click(qtbot, dialog, "downloadButton")
    assert licence_dialog(dialog) is None
    qtbot.waitUntil(lambda: downloads == ["depth-0.3b-torchscript"] and dialog.job is None, timeout=30000)
    assert not (models_dir / "depth-0.3b-torchscript" / "LICENSE-sapiens2.md").exists()
