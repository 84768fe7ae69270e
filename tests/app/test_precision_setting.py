"""Run → Precision: Faithful (the default) or bf16. The choice is kept in the preferences, the status badge names
it before a run and names what ran after it, and the models run in it (each document's provenance says so)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolBar

from app.settings import Settings

RUN_TIMEOUT = 60_000


def _menu_action(window, menu_title: str, text: str):
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == menu_title)
    return next(a for a in menu.actions() if a.text() == text)


def _run(qtbot, window) -> None:
    action = window.actions["run"]
    button = next(b for bar in window.findChildren(QToolBar) if (b := bar.widgetForAction(action)) is not None)
    with qtbot.waitSignal(window.annotation_shown, timeout=RUN_TIMEOUT):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.runner.active, timeout=RUN_TIMEOUT)


def test_bf16_chosen_in_the_run_menu_runs_the_models_in_bf16_and_says_so(
    qtbot, main_window, sample_image, tiny_checkpoints
):
    window = main_window
    window.add_paths([sample_image])
    window.model_overrides = {"pose": tiny_checkpoints["pose"]}
    window.refresh_models()
    faithful = _menu_action(window, "&Run", "Precision: &Faithful (default)")
    bf16 = _menu_action(window, "&Run", "Precision: &bf16 (faster on GPU)")
    assert faithful.isChecked() and not bf16.isChecked()
    assert "bf16" not in window.device_badge.text()

    bf16.trigger()
    assert bf16.isChecked() and not faithful.isChecked()  # one choice of the two
    assert Settings().precision == "bf16"  # kept in the preferences store
    assert window.device_badge.text() == "pose: tiny_pose_torchscript.pt2 · bf16"

    _run(qtbot, window)
    assert window.annotation.models["pose"]["precision"] == "bf16"
    assert window.device_badge.text().endswith(" · bf16")  # what the loaded pipeline ran
    assert "bf16 autocast" in window.device_badge.text()

    faithful.trigger()  # back to the default: the pipeline is opened again, in fp32
    assert Settings().precision == "auto"
    assert window.device_badge.text() == "pose: tiny_pose_torchscript.pt2"
    _run(qtbot, window)
    assert window.annotation.models["pose"]["precision"] == "fp32"
    assert "bf16" not in window.device_badge.text()


def test_the_precision_choice_is_restored_in_a_new_window(qtbot, tiny_checkpoints):
    from app.main_window import MainWindow

    Settings().precision = "bf16"
    window = MainWindow()
    qtbot.addWidget(window)
    assert window.actions["precision_bf16"].isChecked()
    window.model_overrides = {"pose": tiny_checkpoints["pose"]}
    window.refresh_models()
    assert window.device_badge.text().endswith(" · bf16")
