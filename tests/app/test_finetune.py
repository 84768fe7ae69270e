"""Run → Finetune… drives the real trainer as a child process: a tiny run on a hand-built project, its curves,
then the exported model loaded and run on the current image (one undoable step); a failing trainer is reported
and the app carries on."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from sapiens_core.export.split import parse_split

from .workflow_fixtures import make_project

pytest.importorskip("pyqtgraph")

SPLIT = "train=0.5,val=0.5"
# A tiny, quick run: the 2-layer test architecture on small crops (the images are 80x60 anyway).
FAST = "--input-size 96 128 --sigma 2 --warmup 0 --no-augment"


def open_project(main_window, qtbot, folder: Path, n: int):
    images = make_project(folder, n=n)
    main_window.add_paths([str(folder)])
    qtbot.waitUntil(lambda: main_window.annotation is not None, timeout=20000)
    main_window.actions["finetune"].trigger()
    dialog = main_window.finetune.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.arch_combo.setCurrentText("sapiens_tiny")
    dialog.epochs.setValue(1)
    dialog.batch_size.setValue(2)
    dialog.device_combo.setCurrentText("cpu")
    dialog.split_edit.setText(SPLIT)
    return images, dialog


def test_finetune_trains_plots_exports_and_loads_the_model(main_window, qtbot, tmp_path):
    # Precondition worked out with the split's own rule: these four names give both parts images.
    split = parse_split(SPLIT)
    assert {split.part_of(f"../img{i}.png") for i in range(4)} == {"train", "val"}
    images, dialog = open_project(main_window, qtbot, tmp_path / "images", 4)
    dialog.extra_edit.setText(FAST)
    before = main_window.annotation.persons[0].keypoints.copy()

    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.state in ("finished", "failed"), timeout=120000)
    assert dialog.state == "finished", dialog.log.toPlainText()[-3000:]
    run_dir = dialog.run_dir
    assert (run_dir / "final.pth").is_file() and (run_dir / "data" / "train_train.json").is_file()
    # The curves hold what the trainer logged: one loss per step, an eval before the first step and after the epoch.
    steps, losses = dialog.curves.loss_curve.getData()
    assert steps is not None and len(steps) >= 1 and np.isfinite(losses).all()
    assert "AP" in dialog.curves.eval_curves
    assert len(dialog.curves.eval_curves["AP"].getData()[0]) == 2

    with qtbot.waitSignal(main_window.inference.image_done, timeout=120000):
        dialog.export_button.click()
        qtbot.waitUntil(lambda: dialog.state in ("exported", "failed"), timeout=60000)
        assert dialog.state == "exported", dialog.log.toPlainText()[-3000:]
    exported = dialog.exported_path
    assert exported.parent == Path(os.environ["SAPIENS_MODELS_DIR"]) and exported.is_file()
    assert main_window.settings.model_path("pose") == str(exported)
    assert main_window.model_paths()["pose"] == str(exported)
    # The new model's output replaced the model-made points as one step; Undo brings the previous result back.
    qtbot.waitUntil(lambda: not np.array_equal(main_window.annotation.persons[0].keypoints, before), timeout=10000)
    main_window.documents.undo()
    np.testing.assert_array_equal(main_window.annotation.persons[0].keypoints, before)


def test_a_failing_trainer_is_reported_and_the_app_carries_on(main_window, qtbot, tmp_path):
    images, dialog = open_project(main_window, qtbot, tmp_path / "images", 2)
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"not a checkpoint")
    dialog.set_init(str(bad))
    dialog.extra_edit.setText(FAST)
    dialog.split_edit.setText("train=1")

    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.state in ("finished", "failed"), timeout=120000)
    assert dialog.state == "failed"
    # The trainer's own one-line reason, naming the file, in the status line and at the end of the log.
    assert dialog.message.startswith("The trainer exited with status 2: error:")
    assert "broken.pth" in dialog.message
    assert dialog.status.text() == dialog.message
    assert dialog.message in dialog.log.toPlainText()
    assert dialog.start_button.isEnabled() and not dialog.export_button.isEnabled()
    # The window still answers: the next image opens.
    main_window.actions["next"].trigger()
    qtbot.waitUntil(lambda: main_window.current_path == str(images[1]), timeout=10000)


def test_stop_saves_a_checkpoint_and_resume_finishes_the_run(main_window, qtbot, tmp_path):
    images, dialog = open_project(main_window, qtbot, tmp_path / "images", 2)
    dialog.extra_edit.setText(FAST)
    dialog.split_edit.setText("train=1")
    # 2 steps an epoch, 80 in all: long enough that Stop (sent once the curve, read every 500 ms, shows a step)
    # lands well before the end even on a fast machine.
    dialog.epochs.setValue(40)
    dialog.batch_size.setValue(1)

    dialog.start_button.click()
    # Stop once training has begun (the trainer's SIGTERM handler is in place from its first step on).
    ended = ("finished", "failed", "stopped")
    qtbot.waitUntil(lambda: len(dialog.curves.curves.steps) >= 1 or dialog.state in ended, timeout=120000)
    assert dialog.state == "training", dialog.log.toPlainText()[-3000:]
    dialog.stop_button.click()
    qtbot.waitUntil(lambda: dialog.state != "training", timeout=60000)
    assert dialog.state == "stopped", dialog.log.toPlainText()[-3000:]
    run_dir = dialog.run_dir
    assert (run_dir / "last.pth").is_file() and not (run_dir / "final.pth").exists()
    stopped_at = dialog.curves.curves.steps[-1]
    assert stopped_at < 80
    assert dialog.resume_button.isEnabled()

    dialog.resume_button.click()
    qtbot.waitUntil(lambda: dialog.state in ("finished", "failed"), timeout=120000)
    assert dialog.state == "finished", dialog.log.toPlainText()[-3000:]
    assert (run_dir / "final.pth").is_file()
    # The curve carries on from where it stopped: every step once, up to the last.
    assert dialog.curves.curves.steps == [float(s) for s in range(1, 81)]
