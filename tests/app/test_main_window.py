"""The main window as a user drives it: drop files, step through them, run the models, read the canvas.

Pixels are read from the scene rendered at 1:1 (image pixel (x, y) is pixel (x, y) of the render).
The tiny models' outputs are random but deterministic, so every choice below (which keypoint, which
class) is the same on every run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QRectF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QPainter
from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionButton, QStyleOptionViewItem, QToolBar

from app.qimage import qimage_to_rgb
from sapiens_core.annotation import Annotation
from sapiens_core.project import annotation_path
from sapiens_core.schema import class_schema, keypoint_schema

RUN_TIMEOUT = 60_000  # ms; loading the tiny models and one image take a few seconds on a CPU


# ------------------------------------------------------------------------------------------------ helpers


def write_image(path: Path, seed: int, size=(64, 48)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), rgb)
    return path


def drop(window, paths) -> None:
    """Drag files from a file manager onto the window and let go."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = window.rect().center()
    enter = QDragEnterEvent(
        centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted(), "the window refused the drag"
    event = QDropEvent(
        QPointF(centre), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(window, event)
    assert event.isAccepted()


def click_toolbar(qtbot, window, action_id: str) -> None:
    action = window.actions[action_id]
    buttons = [bar.widgetForAction(action) for bar in window.findChildren(QToolBar)]
    buttons = [b for b in buttons if b is not None]
    assert len(buttons) == 1, f"{action_id} should have exactly one toolbar button"
    qtbot.mouseClick(buttons[0], Qt.MouseButton.LeftButton)


def render(window) -> np.ndarray:
    """The canvas as (H, W, 3) RGB, one pixel per image pixel."""
    rect = window.scene.sceneRect()
    w, h = int(rect.width()), int(rect.height())
    image = QImage(w, h, QImage.Format.Format_RGB888)
    image.fill(Qt.GlobalColor.black)
    painter = QPainter(image)
    window.scene.render(painter, QRectF(0, 0, w, h), rect)
    painter.end()
    return qimage_to_rgb(image)


def click_check(qtbot, widget, row: int) -> None:
    """Click the check box of one row of a checkable list (the legend, the persons)."""
    item = widget.item(row)
    widget.scrollToItem(item)
    option = QStyleOptionViewItem()
    widget.initViewItemOption(option)
    option.rect = widget.visualItemRect(item)
    option.features |= QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
    box = widget.style().subElementRect(QStyle.SubElement.SE_ItemViewItemCheckIndicator, option, widget)
    qtbot.mouseClick(widget.viewport(), Qt.MouseButton.LeftButton, pos=box.center())


def toggle(qtbot, box) -> None:
    """Click a check box where it reacts (its box and label; the widget may be wider than that)."""
    option = QStyleOptionButton()
    box.initStyleOption(option)
    target = box.style().subElementRect(QStyle.SubElement.SE_CheckBoxClickRect, option, box)
    was = box.isChecked()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=target.center())
    assert box.isChecked() != was


def slider_to_end(qtbot, slider) -> None:
    qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(2, slider.height() // 2))  # focus it
    qtbot.keyClick(slider, Qt.Key.Key_End)
    assert slider.value() == slider.maximum()


def run_this_image(qtbot, window, models: dict[str, str]) -> Annotation:
    window.model_overrides = dict(models)
    with qtbot.waitSignal(window.annotation_shown, timeout=RUN_TIMEOUT) as shown:
        click_toolbar(qtbot, window, "run")
    assert shown.args == [window.current_path]
    return window.annotation


def isolated_points(doc: Annotation, threshold: float, radius: float):
    """(x, y, rgb, score) of shown keypoints inside the image with no differently coloured shown point near."""
    colors = keypoint_schema(doc.keypoint_schema).colors
    w, h = doc.image_size
    pts = [
        (p.keypoints[i], colors[i])
        for p in doc.persons
        for i in range(len(p.keypoints))
        if p.visibility[i] > 0 and p.keypoints[i, 2] >= threshold
    ]
    xy = np.array([k[:2] for k, _ in pts])
    out = []
    for (x, y, score), rgb in pts:
        if not (3 <= x < w - 3 and 3 <= y < h - 3):
            continue
        near = np.hypot(xy[:, 0] - x, xy[:, 1] - y) < 2 * radius + 2
        if all((c == rgb).all() for (_, c), n in zip(pts, near) if n):
            out.append((int(x), int(y), rgb.astype(int), float(score)))
    return out


def close_to(pixel, rgb, tol: int = 3) -> bool:
    return int(np.abs(np.asarray(pixel, int) - np.asarray(rgb, int)).max()) <= tol


# ------------------------------------------------------------------------------------------------ opening


def test_drop_images_and_a_folder_then_step_and_filter(qtbot, main_window, tmp_path):
    window = main_window
    a = write_image(tmp_path / "drop" / "alpha.png", 1)
    b = write_image(tmp_path / "drop" / "bravo.jpg", 2)
    folder = tmp_path / "shoot"
    c = write_image(folder / "charlie.png", 3)
    d = write_image(folder / "sub" / "delta.png", 4)
    (folder / "notes.txt").write_text("not an image")

    drop(window, [a, b, folder])

    assert sorted(window.files.paths()) == sorted(str(p) for p in (a, b, c, d))
    first = window.files.paths()[0]
    assert window.files.current_path() == first == window.current_path
    assert window.current_image.shape == (48, 64, 3)
    with qtbot.waitActive(window):  # shortcuts go to the active window
        window.activateWindow()

    order = window.files.paths()
    qtbot.keyClick(window.view, Qt.Key.Key_D)
    assert window.current_path == order[1]
    qtbot.keyClick(window.view, Qt.Key.Key_D)
    assert window.current_path == order[2]
    qtbot.keyClick(window.view, Qt.Key.Key_A)
    assert window.current_path == order[1]

    qtbot.mouseClick(window.files.filter_edit, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(window.files.filter_edit, "AR")  # case-blind: only charlie has "ar"
    shown = [p for i, p in enumerate(order) if not window.files.list.item(i).isHidden()]
    assert shown == [str(c)]
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_D)  # stepping jumps to the only visible image
    assert window.current_path == str(c)
    qtbot.keyClick(window.view, Qt.Key.Key_D)
    assert window.current_path == str(c)
    window.files.filter_edit.clear()
    assert all(not window.files.list.item(i).isHidden() for i in range(len(order)))


def test_dropping_a_video_opens_it_in_the_capture_panel(qtbot, main_window, tmp_path):
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"mp4v"), 10, (96, 64))
    assert writer.isOpened()
    for i in range(10):
        writer.write(np.full((64, 96, 3), 20 * i, np.uint8))
    writer.release()
    assert not main_window.capture_dock.isVisible()

    drop(main_window, [video])

    assert main_window.capture_dock.isVisible()
    assert main_window.files.paths() == []  # a video is not an image to annotate
    assert main_window.capture.source == str(video)
    qtbot.waitUntil(lambda: main_window.capture.current_frame is not None, timeout=10_000)
    assert main_window.capture.current_frame.shape == (64, 96, 3)


# ------------------------------------------------------------------------------------------------ running


def test_run_this_image_draws_keypoints_and_parts_that_the_layers_panel_controls(
    qtbot, main_window, sample_image, tiny_checkpoints
):
    window = main_window
    window.add_paths([sample_image])
    doc = run_this_image(qtbot, window, {t: tiny_checkpoints[t] for t in ("pose", "seg")})

    assert doc.keypoint_schema == "goliath_308" and doc.class_schema
    assert doc.persons and all(p.keypoints.shape == (308, 3) for p in doc.persons)
    assert doc.part_map is not None and doc.part_map.shape == (512, 512)
    assert window.files.is_done(str(sample_image))
    assert window.files.state(str(sample_image)) == "predicted"  # model output, not yet checked by a person
    assert window.files.list.currentItem().text().startswith("○")
    assert annotation_path(sample_image).is_file()
    assert window.layers.persons.count() == len(doc.persons)

    # Confident keypoints show in their schema colour at their image position.
    radius = window.scene.skeletons[0].radius
    points = isolated_points(doc, window.scene.style.threshold, radius)
    assert len(points) >= 5, "the tiny pose model should put some confident points inside the image"
    before = render(window)
    for x, y, rgb, _ in points:
        assert close_to(before[y, x], rgb), f"({x}, {y}) is {before[y, x]}, not the keypoint colour {rgb}"

    # Show keypoints off: those pixels lose the colour.
    toggle(qtbot, window.layers.keypoints)
    assert not window.layers.keypoints.isChecked() and not window.scene.style.keypoints
    hidden = render(window)
    for x, y, rgb, _ in points:
        assert not close_to(hidden[y, x], rgb, tol=12)
    toggle(qtbot, window.layers.keypoints)
    assert np.array_equal(render(window), before)

    # Threshold slider at its end (score >= 1): every point scoring below 1 disappears, the rest stay.
    slider_to_end(qtbot, window.layers.threshold)
    assert window.scene.style.threshold == pytest.approx(1.0)
    for item, person in zip(window.scene.skeletons, doc.persons):
        expected = (person.visibility > 0) & (person.keypoints[:, 2] >= 1.0)
        assert np.array_equal(item.shown, expected)
    still = np.concatenate([p.keypoints[p.keypoints[:, 2] >= 1.0, :2] for p in doc.persons])
    high = [p for p in points if p[3] >= 1.0]
    low = [p for p in points if p[3] < 1.0 and np.hypot(*(still - p[:2]).T).min() > 2 * radius + 2]
    assert low and high, "the tiny model scores some isolated points below 1 and some above"
    thresholded = render(window)
    for x, y, rgb, _ in low:
        assert not close_to(thresholded[y, x], rgb, tol=12), "a point under the threshold is still drawn"
    for x, y, rgb, _ in high:
        assert close_to(thresholded[y, x], rgb)


def test_legend_hides_one_part_class(qtbot, main_window, sample_image, tiny_checkpoints):
    window = main_window
    window.add_paths([sample_image])
    doc = run_this_image(qtbot, window, {"seg": tiny_checkpoints["seg"]})
    assert not doc.persons and doc.part_map is not None
    schema = class_schema(doc.class_schema)
    assert window.layers.classes.count() == len(schema)

    slider_to_end(qtbot, window.layers.parts_opacity)  # the part colours cover the image fully
    ids, counts = np.unique(doc.part_map, return_counts=True)
    hide, keep = (int(i) for i in ids[np.argsort(counts)[::-1][:2]])
    ys, xs = np.nonzero(doc.part_map == hide)
    ky, kx = (int(v[0]) for v in np.nonzero(doc.part_map == keep))
    picks = list(zip(ys[:: max(1, len(ys) // 20)], xs[:: max(1, len(xs) // 20)]))
    image = window.current_image
    before = render(window)
    for y, x in picks:
        assert close_to(before[y, x], schema.colors[hide], tol=1)
    assert close_to(before[ky, kx], schema.colors[keep], tol=1)

    click_check(qtbot, window.layers.classes, hide)
    assert window.layers.classes.item(hide).checkState() == Qt.CheckState.Unchecked
    assert window.scene.style.hidden_classes == {hide}
    after = render(window)
    for y, x in picks:  # the photo shows through where the hidden class was
        assert close_to(after[y, x], image[y, x], tol=1)
    assert close_to(after[ky, kx], schema.colors[keep], tol=1)

    click_check(qtbot, window.layers.classes, hide)
    assert np.array_equal(render(window), before)


def _images(folder: Path, names) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    source = Path(__file__).resolve().parents[2] / "resources" / "astronaut.png"
    return [Path(shutil.copy(source, folder / name)) for name in names]


def test_run_all_shows_progress_and_cancel_stops_the_batch(qtbot, main_window, tmp_path, tiny_checkpoints):
    window = main_window
    paths = _images(tmp_path / "batch", [f"img{i}.png" for i in range(24)])
    window.add_paths([tmp_path / "batch"])
    window.model_overrides = {"seg": tiny_checkpoints["seg"]}
    done, ends = [], []
    window.inference.image_done.connect(lambda p, _doc: done.append(p))

    click_toolbar(qtbot, window, "run_all")
    assert window.progress.isVisible() and window.cancel_button.isVisible()
    job = next(iter(window.runner.active))
    job.finished.connect(lambda: ends.append(True))
    # The worker hands each image over before it reports the count: both reach the GUI as separate queued signals.
    qtbot.waitUntil(lambda: len(done) >= 1 and window.progress.value() >= 1, timeout=RUN_TIMEOUT)
    assert window.progress.maximum() == len(paths)

    qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(ends) and not window.runner.active, timeout=RUN_TIMEOUT)
    assert job.is_cancelled and job.result is None
    assert 1 <= len(done) < len(paths)
    assert sum(window.files.is_done(str(p)) for p in paths) == len(done)
    assert sum(annotation_path(p).is_file() for p in paths) == len(done)


def test_progress_and_cancel_hide_when_the_run_ends(qtbot, main_window, sample_image, tiny_checkpoints):
    main_window.add_paths([sample_image])
    run_this_image(qtbot, main_window, {"seg": tiny_checkpoints["seg"]})
    qtbot.waitUntil(lambda: not main_window.runner.active, timeout=RUN_TIMEOUT)
    qtbot.waitUntil(lambda: not main_window.progress.isVisible(), timeout=1000)
    assert not main_window.cancel_button.isVisible()


def test_a_corrupt_image_does_not_stop_the_batch(qtbot, main_window, tmp_path, tiny_checkpoints):
    window = main_window
    good_a, good_b = _images(tmp_path / "mixed", ["a_good.png", "c_good.png"])
    bad = tmp_path / "mixed" / "b_broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50)
    window.add_paths([tmp_path / "mixed"])
    assert len(window.files.paths()) == 3
    window.model_overrides = {"seg": tiny_checkpoints["seg"]}
    finished = []

    job = window.run_all(connect=lambda j: j.succeeded.connect(finished.append))
    assert job is not None
    qtbot.waitUntil(lambda: bool(finished), timeout=RUN_TIMEOUT)

    assert finished == [2]
    assert window.files.is_done(str(good_a)) and window.files.is_done(str(good_b))
    assert not window.files.is_done(str(bad)) and not annotation_path(bad).exists()
    assert "b_broken.png" in window.statusBar().currentMessage()


# ------------------------------------------------------------------------------------------------ state on disk


def test_reopening_an_image_loads_its_saved_results(qtbot, main_window, sample_image, tiny_checkpoints):
    main_window.add_paths([sample_image])
    doc = run_this_image(qtbot, main_window, {"pose": tiny_checkpoints["pose"]})
    saved = Annotation.load(annotation_path(sample_image))
    # Another session rescored the points below 1 (real models' heatmap peaks) and saved the file.
    for person in saved.persons:
        person.keypoints[:, 2] *= 0.99 / person.keypoints[:, 2].max()
    saved.save(annotation_path(sample_image))
    main_window.close()

    from app.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    with qtbot.waitSignal(window.annotation_shown, timeout=10_000):
        window.add_paths([sample_image.parent])
    assert window.files.paths() == [str(sample_image)]
    assert window.files.is_done(str(sample_image))
    assert len(window.annotation.persons) == len(doc.persons)
    np.testing.assert_allclose(window.annotation.persons[0].keypoints[:, :2], doc.persons[0].keypoints[:, :2])
    assert len(window.scene.skeletons) == len(doc.persons)

    # The slider's end is now above every score: no point is left on the canvas.
    toggle(qtbot, window.layers.keypoints)
    without = render(window)
    toggle(qtbot, window.layers.keypoints)
    assert not np.array_equal(render(window), without)
    slider_to_end(qtbot, window.layers.threshold)
    assert all(not item.shown.any() and item.boundingRect().isEmpty() for item in window.scene.skeletons)
    assert np.array_equal(render(window), without)


def test_reopening_a_processed_folder_lists_only_its_images(qtbot, main_window, sample_image, tiny_checkpoints):
    main_window.add_paths([sample_image])
    run_this_image(qtbot, main_window, {"seg": tiny_checkpoints["seg"]})
    assert list(annotation_path(sample_image).parent.glob("*.png"))  # the side files exist
    main_window.add_paths([sample_image.parent])
    assert main_window.files.paths() == [str(sample_image)]


def test_layer_style_and_device_persist_to_a_new_window(qtbot, main_window):
    window = main_window
    toggle(qtbot, window.layers.parts)
    toggle(qtbot, window.layers.group_boxes[next(iter(window.layers.group_boxes))])
    slider_to_end(qtbot, window.layers.threshold)
    window.device_combo.setFocus()
    qtbot.keyClick(window.device_combo, Qt.Key.Key_C)  # keyboard search in the status bar's combo
    assert window.device_combo.currentText() == "cpu"
    assert window.layers.parts.isChecked() is False
    window.close()

    from app.main_window import MainWindow

    again = MainWindow()
    qtbot.addWidget(again)
    first_group = next(iter(again.layers.group_boxes))
    assert again.device_combo.currentText() == "cpu"
    assert not again.layers.parts.isChecked() and not again.scene.style.parts
    assert not again.layers.group_boxes[first_group].isChecked() and not again.scene.style.groups[first_group]
    assert again.layers.threshold.value() == 100 and again.scene.style.threshold == pytest.approx(1.0)
    assert again.layers.keypoints.isChecked()
