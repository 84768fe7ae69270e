"""The model manager offers a model only where its weights fit this machine, and says why not (Sapiens2-5B on an
8 GB GPU), driven through the real dialog: selection, the Download button, the device combo, the row's colour."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from sapiens_core.memory_fit import MachineMemory

from .test_models_dialog import make_dialog  # noqa: F401  (the fixture)

SMALL_GPU = MachineMemory(8 * 10**9, "RTX 3070", 64 * 10**9)


def _select(dialog, qtbot, card_id: str) -> None:
    row = dialog.table_model.row_of(card_id)
    dialog.table.scrollTo(dialog.table_model.index(row, 0))
    rect = dialog.table.visualRect(dialog.table_model.index(row, 0))
    qtbot.mouseClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert dialog.selected_card().id == card_id


def test_5b_is_not_offered_on_an_8_gb_gpu_and_the_dialog_says_why(make_dialog, qtbot):  # noqa: F811
    calls = []
    dialog = make_dialog(machine=SMALL_GPU, download_fn=lambda *a, **k: calls.append(a))
    _select(dialog, qtbot, "sapiens2-pose-5b")
    assert not dialog.download_button.isEnabled()
    assert dialog.memory_info.isVisible()
    assert dialog.memory_info.text() == (
        "Not offered on this machine: sapiens2-pose-5b needs about 13.8 GB of GPU memory in bf16; RTX 3070 has 8.0 GB."
    )
    row = dialog.table_model.row_of("sapiens2-pose-5b")
    grey = QApplication.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    assert dialog.table_model.index(row, 0).data(Qt.ItemDataRole.ForegroundRole).color() == grey
    assert "Not offered: sapiens2-pose-5b needs about 13.8 GB" in dialog.table_model.index(row, 0).data(
        Qt.ItemDataRole.ToolTipRole
    )
    dialog.download_selected()  # the slot refuses too, not only the button
    assert calls == [] and dialog.licence_dialog is None
    assert dialog.status.text().startswith("Not downloaded: sapiens2-pose-5b needs about 13.8 GB")

    _select(dialog, qtbot, "sapiens2-pose-0.4b")  # 0.4B fits in 8 GB
    assert dialog.download_button.isEnabled() and not dialog.memory_info.isVisible()
    row = dialog.table_model.row_of("sapiens2-pose-0.4b")
    assert dialog.table_model.index(row, 0).data(Qt.ItemDataRole.ForegroundRole) is None


def test_choosing_the_cpu_judges_by_ram_instead(make_dialog, qtbot):  # noqa: F811
    dialog = make_dialog(machine=SMALL_GPU)
    _select(dialog, qtbot, "sapiens2-seg-5b")
    assert not dialog.download_button.isEnabled()
    dialog.device_combo.setCurrentText("cpu")  # 64 GB of RAM hold 5B in fp32 (~26 GB)
    assert dialog.download_button.isEnabled() and not dialog.memory_info.isVisible()
    dialog.device_combo.setCurrentText("auto")
    assert not dialog.download_button.isEnabled()
