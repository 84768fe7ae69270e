"""The quick pose model as the app's default: chosen when no Sapiens pose checkpoint is, kept on request,
labelled as the quick model, and run for real (MediaPipe Holistic) on the astronaut photo."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QComboBox, QLabel, QMenu, QMessageBox

from app.models.choice import QUICK_LABEL, choose_models, describe_models, quick_note
from app.settings import Settings
from sapiens_core.pipeline import QUICK_MODEL_ID
from sapiens_core.quick import load_mapping, quick_available
from sapiens_core.schema import keypoint_schema
from tests.app.test_main_window import click_toolbar, close_to, isolated_points, render

needs_mediapipe = pytest.mark.skipif(not quick_available(), reason="mediapipe 0.10.14 is not installed")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat))


def available() -> bool:
    return True


def missing() -> bool:
    return False


# ------------------------------------------------------------------------------------------------ the rules


def test_fresh_install_gets_the_quick_pose_model(settings):
    assert settings.quick_pose == "auto"
    # Several people per image: person boxes come first (auto: the detector, else the seg foreground).
    assert choose_models(settings, {}, available) == {"pose": QUICK_MODEL_ID, "detector": "auto"}
    assert choose_models(settings, {}, missing) == {}


def test_a_sapiens_pose_checkpoint_replaces_it_unless_the_user_keeps_it(settings):
    settings.set_model_path("pose", "/models/sapiens_0.3b_goliath_best_goliath_AP_573_torchscript.pt2")
    settings.set_model_path("seg", "/models/seg.pt2")
    pose = settings.model_path("pose")
    assert choose_models(settings, {}, available) == {"pose": pose, "seg": "/models/seg.pt2", "detector": "auto"}
    settings.quick_pose = "on"
    assert choose_models(settings, {}, available) == {
        "pose": QUICK_MODEL_ID,
        "seg": "/models/seg.pt2",
        "detector": "auto",
    }
    assert choose_models(settings, {}, missing)["pose"] == settings.model_path("pose")  # falls back, never fails
    settings.quick_pose = "off"
    settings.set_model_path("pose", None)
    assert choose_models(settings, {}, available) == {"seg": "/models/seg.pt2"}


def test_person_detection_follows_its_setting_and_a_chosen_detector_file(settings):
    settings.set_model_path("pose", "/models/pose.pt2")
    settings.detect_persons = False
    assert choose_models(settings, {}, missing) == {"pose": "/models/pose.pt2"}  # one whole-image box
    settings.detect_persons = True
    settings.set_model_path("detector", "/models/rtmdet.onnx")
    assert choose_models(settings, {}, missing) == {"pose": "/models/pose.pt2", "detector": "/models/rtmdet.onnx"}
    settings.set_model_path("pose", None)
    settings.quick_pose = "off"
    assert choose_models(settings, {}, missing) == {}  # no pose: no boxes to find


def test_pose_switched_off_in_the_model_manager_stays_off(settings):
    settings.set_enabled_tasks({"seg"})
    settings.quick_pose = "on"
    assert choose_models(settings, {}, available) == {}


def test_models_named_on_the_command_line_are_exactly_what_runs(settings):
    settings.set_model_path("depth", "/models/depth.pt2")
    asked = []
    assert choose_models(settings, {"seg": "/x/seg.pt2"}, lambda: asked.append(1) or True) == {"seg": "/x/seg.pt2"}
    assert asked == []  # mediapipe is not even probed


def test_a_damaged_preference_reads_as_auto_and_bad_values_are_refused(settings):
    settings.q.setValue("models/quick_pose", "sometimes")
    assert settings.quick_pose == "auto"
    with pytest.raises(ValueError):
        settings.quick_pose = "yes"


def test_the_model_manager_note_follows_every_state(settings):
    assert "not installed: pip install x" in quick_note(settings, False, "pip install x")
    assert "pose comes from the quick pose model" in quick_note(settings, True, "")
    settings.set_model_path("pose", "/m/pose.pt2")
    assert "The pose checkpoint gives pose" in quick_note(settings, True, "")
    settings.quick_pose = "on"
    assert "even beside a pose checkpoint" in quick_note(settings, True, "")
    settings.quick_pose = "off"
    assert "switched off" in quick_note(settings, True, "")
    settings.set_enabled_tasks({"seg"})
    assert "Pose is switched off" in quick_note(settings, True, "")


def test_the_badge_names_the_quick_model_not_a_file_called_quick():
    assert describe_models({"pose": QUICK_MODEL_ID, "seg": "/m/seg_x.pt2"}) == f"pose: {QUICK_LABEL}, seg: seg_x.pt2"
    assert describe_models({}) == "no models chosen"


# ------------------------------------------------------------------------------------------------ the window


def run_menu_action(window, action_id: str):
    menus = {m.title(): m for m in window.menuBar().findChildren(QMenu)}
    assert window.actions[action_id] in menus["&Run"].actions()
    return window.actions[action_id]


@needs_mediapipe
def test_dropping_a_photo_on_a_fresh_install_shows_real_keypoints_and_the_person_mask(qtbot, main_window, sample_image):
    window = main_window
    action = run_menu_action(window, "quick_pose")
    assert action.isChecked() and QUICK_LABEL in window.device_badge.text()
    window.add_paths([sample_image])
    with qtbot.waitSignal(window.annotation_shown, timeout=60_000):
        click_toolbar(qtbot, window, "run")
    doc = window.annotation
    assert doc.models["pose"]["file"] == QUICK_MODEL_ID and doc.models["pose"]["format"] == "mediapipe-holistic"
    assert len(keypoint_schema(doc.keypoint_schema)) == 308
    assert len(doc.persons) == 1
    assert doc.foreground is not None and 0.05 < doc.foreground.mean() < 0.9
    qtbot.waitUntil(lambda: QUICK_LABEL in window.device_badge.text(), timeout=5000)

    # Keypoints are drawn in their schema colours where the model put them (points crowded by others of
    # another colour, as on the face, are left out of the pixel check).
    schema = keypoint_schema(doc.keypoint_schema)
    points = isolated_points(doc, window.scene.style.threshold, window.scene.skeletons[0].radius)
    assert len(points) >= 10
    pixels = render(window)
    for x, y, rgb, _ in points:
        assert close_to(pixels[y, x], rgb, tol=8), f"({x}, {y}) is {pixels[y, x]}, not the keypoint colour {rgb}"
    # Points the quick model has no honest counterpart for (teeth, eyelid creases, small toes...) are never
    # shown, however low the threshold.
    person = doc.persons[0]
    unlabeled = ~load_mapping().mapped_mask()
    assert unlabeled.any() and person.visibility[schema.names.index("nose")] > 0
    assert not person.visibility[unlabeled].any() and not person.keypoints[unlabeled, 2].any()


@needs_mediapipe
def test_unchecking_the_quick_model_persists_and_checking_it_beats_a_pose_checkpoint(
    qtbot, main_window, tiny_checkpoints
):
    window = main_window
    action = run_menu_action(window, "quick_pose")
    action.trigger()  # what a click in the Run menu does
    assert not action.isChecked() and window.settings.quick_pose == "off"
    assert window.model_paths() == {} and window.device_badge.text() == "no models chosen"

    window.settings.set_model_path("pose", tiny_checkpoints["pose"])
    window.refresh_models()
    assert not action.isChecked()
    assert window.model_paths() == {"pose": tiny_checkpoints["pose"], "detector": "auto"}
    action.trigger()
    assert action.isChecked() and window.settings.quick_pose == "on"
    assert window.model_paths() == {"pose": QUICK_MODEL_ID, "detector": "auto"}
    assert Settings().quick_pose == "on"  # a new window starts with it

    detect = run_menu_action(window, "detect_persons")
    assert detect.isChecked() and "person boxes: auto" in window.device_badge.text()
    detect.trigger()  # off: the whole image is one person
    assert not detect.isChecked() and window.model_paths() == {"pose": QUICK_MODEL_ID}
    assert not Settings().detect_persons and "person boxes" not in window.device_badge.text()


def test_without_mediapipe_the_app_says_how_to_install_it(qtbot, main_window, sample_image, monkeypatch):
    import app.main_window as main_window_module

    monkeypatch.setattr(main_window_module, "quick_available", missing)  # a machine without mediapipe
    window = main_window
    window.refresh_models()
    action = window.actions["quick_pose"]
    assert not action.isChecked() and window.model_paths() == {}
    window.add_paths([sample_image])
    click_toolbar(qtbot, window, "run")
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "notification") is not None, timeout=5000)
    box = window.findChild(QMessageBox, "notification")
    assert "--no-deps mediapipe==0.10.14" in box.text()
    box.close()
    action.trigger()  # asking for it explains too, and leaves it unchecked
    assert not action.isChecked() and window.settings.quick_pose == "off"
    assert any("--no-deps mediapipe" in b.text() for b in window.findChildren(QMessageBox, "notification"))


@needs_mediapipe
def test_choosing_a_pose_checkpoint_in_the_model_manager_replaces_the_quick_model(qtbot, main_window, tiny_checkpoints):
    window = main_window
    official = Path(os.environ["SAPIENS_MODELS_DIR"]) / "sapiens_0.3b_goliath_best_goliath_AP_573_torchscript.pt2"
    shutil.copy(tiny_checkpoints["pose"], official)
    qtbot.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    dialog = window.models_dialog
    assert dialog is not None and dialog.isVisible()
    note = dialog.findChild(QLabel, "quickNote")
    assert "pose comes from the quick pose model" in note.text()

    combo = dialog.findChild(QComboBox, "modelCombo_pose")
    combo.setCurrentIndex(combo.findData(str(official)))
    assert window.model_paths() == {"pose": str(official), "detector": "auto"}
    assert not window.actions["quick_pose"].isChecked() and QUICK_LABEL not in window.device_badge.text()
    assert "The pose checkpoint gives pose" in note.text()

    window.actions["quick_pose"].trigger()  # keep the quick model as the pre-annotator after all
    assert window.model_paths() == {"pose": QUICK_MODEL_ID, "detector": "auto"}
    assert "even beside a pose checkpoint" in note.text()
