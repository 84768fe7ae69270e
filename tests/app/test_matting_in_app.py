"""Matting in the app, as a user gets there: a Sapiens2 matting file in the models folder is "Use"d in the model
manager, Run gives the image a matte (saved beside its document), and the canvas covers what the matte calls
background with the backdrop, per pixel by its alpha, under a "Matte" layer check box and opacity slider."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from app.canvas.scene import MATTE_BACKDROP_RGB
from sapiens_core.annotation import Annotation
from sapiens_core.io.images import read_image
from sapiens_core.project import annotation_path
from tests.app.test_main_window import RUN_TIMEOUT, click_toolbar, render, slider_to_end, toggle
from tests.sapiens2_tiny import build_tiny_sapiens2, save_safetensors


def _install_matting_model() -> Path:
    """Where a download of the card puts it: <models>/sapiens2-matting-1b/sapiens2_1b_matting.safetensors."""
    folder = Path(os.environ["SAPIENS_MODELS_DIR"]) / "sapiens2-matting-1b"
    folder.mkdir(parents=True)
    return save_safetensors(build_tiny_sapiens2("matting", seed=3), folder / "sapiens2_1b_matting.safetensors")


def test_use_a_matting_model_run_it_and_see_the_matte(qtbot, main_window, sample_image):
    window = main_window
    path = _install_matting_model()
    window.settings.quick_pose = "off"  # only the matting model runs

    dialog = window.open_models_dialog()
    assert dialog.select_card("sapiens2-matting-1b")
    use = dialog.findChild(object, "useButton")
    assert use.isEnabled() and use.text() == "Use for matting"
    qtbot.mouseClick(use, Qt.MouseButton.LeftButton)
    assert window.settings.model_path("matting") == str(path)
    assert window.model_paths() == {"matting": str(path)}
    dialog.close()

    window.add_paths([sample_image])
    with qtbot.waitSignal(window.annotation_shown, timeout=RUN_TIMEOUT):
        click_toolbar(qtbot, window, "run")
    doc = window.annotation
    assert doc.alpha is not None and doc.alpha.shape == (512, 512) and doc.fg_rgb.shape == (512, 512, 3)
    assert doc.models["matting"]["card"] == "sapiens2-matting-1b"
    assert len(np.unique(doc.alpha)) > 20  # a real matte of the tiny model, not a constant
    saved = Annotation.load(annotation_path(sample_image))
    assert np.array_equal(saved.alpha, doc.alpha) and np.array_equal(saved.fg_rgb, doc.fg_rgb)
    assert Path(saved.side_files["alpha"]).name == "astronaut_alpha.png"

    # Shown by default; at full opacity each pixel is the photo where alpha is 255 and the backdrop where it is 0.
    assert window.layers.matte.isChecked()
    slider_to_end(qtbot, window.layers.matte_opacity)
    photo = read_image(sample_image).astype(np.float64)
    a = doc.alpha.astype(np.float64)[..., None] / 255
    expected = photo * a + np.array(MATTE_BACKDROP_RGB, np.float64) * (1 - a)
    shown = render(window).astype(np.float64)
    assert np.abs(shown - expected).max() <= 3  # Qt's 8-bit blending rounds
    assert np.abs(shown - photo).max() > 40  # and it does differ from the bare photo

    toggle(qtbot, window.layers.matte)
    assert not window.scene.style.matte
    assert np.array_equal(render(window), read_image(sample_image))
