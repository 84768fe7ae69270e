"""Fixtures for the GUI tests: tiny models saved once per session, a sample image, a fresh main window."""

import shutil
from pathlib import Path

import pytest

RESOURCES = Path(__file__).resolve().parents[2] / "resources"


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory):
    """TorchScript files of tiny models with the official architecture: {"pose": path, "seg": ..., ...}."""
    from tests.tiny_models import build_tiny_model, save_checkpoint

    folder = tmp_path_factory.mktemp("tiny_models")
    paths = {}
    for task in ("pose", "seg", "depth", "normal"):
        path = folder / f"tiny_{task}_torchscript.pt2"
        save_checkpoint(build_tiny_model(task), path, "torchscript")
        paths[task] = str(path)
    return paths


@pytest.fixture
def sample_image(tmp_path) -> Path:
    target = tmp_path / "images" / "astronaut.png"
    target.parent.mkdir()
    shutil.copy(RESOURCES / "astronaut.png", target)
    return target


@pytest.fixture
def main_window(qtbot):
    from app.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    yield window
    window.runner.cancel_all()
    window.runner.wait(10000)
    # Dialogs the test opened (finetune, export) are top-level windows that outlive a closed parent until it is
    # deleted; left visible they keep hover events from the next test's window.
    from PySide6.QtWidgets import QApplication

    for widget in QApplication.topLevelWidgets():
        if widget is not window and widget.isVisible() and widget.window() is not None:
            if widget.parent() is window:
                widget.close()


@pytest.fixture
def panel(qtbot):
    """The capture panel, shown, and shut down after the test (its threads must end)."""
    from app.capture import CapturePanel

    widget = CapturePanel()
    qtbot.addWidget(widget)
    widget.resize(640, 520)
    widget.show()
    yield widget
    assert widget.shutdown(timeout=30), "capture threads did not end"
