"""The canvas scene's layer rules, pinned where mutation testing of ``app/canvas/scene.py`` found them untested: the
depth, normal, matte and person-mask layers (off or on by default, their opacity, what the part map hides), hidden
persons, a new document or image replacing the old one's items, and the ring that marks a picked pixel.

Driven through the real main window and its layers panel, read back from the scene rendered at 1:1. Expected
colours are hand-computed: a layer of colour C at opacity o over the image's grey G shows o * C + (1 - o) * G; the
defaults (depth and normals off at 0.8, matte on at 0.85, person mask on at 0.3) are the layers panel's documented
ones; a NaN depth is drawn grey (100, 100, 100) and a NaN normal black, a normal n as (n + 1) / 2 * 255 per channel.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from app.canvas.scene import MATTE_BACKDROP_RGB, PERSON_MASK_RGBA
from sapiens_core.annotation import Annotation, Person
from sapiens_core.schema import class_schema, keypoint_schema
from tests.app.test_main_window import click_check

W, H = 400, 300
GREY = 40  # the image: every pixel (40, 40, 40)
SCHEMA = keypoint_schema("goliath_308")
K = len(SCHEMA)


def _pixel(window, x: float, y: float) -> np.ndarray:
    """The colour the scene of ``window`` draws on image pixel (x, y), at 1:1."""
    image = QImage(1, 1, QImage.Format.Format_RGB888)
    image.fill(QColor(0, 0, 0))
    painter = QPainter(image)
    window.scene.render(painter, QRectF(0, 0, 1, 1), QRectF(x, y, 1, 1))
    painter.end()
    return np.array(image.pixelColor(0, 0).getRgb()[:3], int)


def _over(colour, opacity: float) -> np.ndarray:
    return np.asarray(colour, float) * opacity + GREY * (1 - opacity)


def _close(pixel, expected, tol: float = 2.0) -> bool:
    return bool(np.abs(np.asarray(pixel, float) - np.asarray(expected, float)).max() <= tol)


def _show(window, doc: Annotation) -> None:
    window.scene.set_image(np.full((H, W, 3), GREY, np.uint8))
    window.set_annotation(doc)


def _left_background(**layers) -> Annotation:
    return Annotation("mem.png", (W, H), **layers)


# ------------------------------------------------------------------------------------------------ dense layers


def test_depth_is_off_by_default_and_its_checkbox_shows_it_at_its_opacity(main_window):
    depth = np.full((H, W), 2.0, np.float32)
    depth[:, : W // 2] = np.nan  # the left half is background: grey 100
    _show(main_window, _left_background(depth=depth))
    assert _close(_pixel(main_window, 100, 150), (GREY,) * 3)  # off by default
    main_window.layers.depth.click()
    assert _close(_pixel(main_window, 100, 150), _over((100, 100, 100), 0.8))
    assert not _close(_pixel(main_window, 300, 150), _over((100, 100, 100), 0.8), tol=20)  # the person's depth
    main_window.layers.depth_opacity.setValue(50)
    assert _close(_pixel(main_window, 100, 150), _over((100, 100, 100), 0.5))
    main_window.layers.depth.click()
    assert _close(_pixel(main_window, 100, 150), (GREY,) * 3)


def test_normals_are_off_by_default_and_their_checkbox_shows_them_at_their_opacity(main_window):
    normal = np.zeros((H, W, 3), np.float32)
    normal[..., 2] = 1.0  # facing the camera: (127, 127, 255)
    normal[:, : W // 2] = np.nan  # background: black
    _show(main_window, _left_background(normal=normal))
    assert _close(_pixel(main_window, 300, 150), (GREY,) * 3)
    main_window.layers.normal.click()
    assert _close(_pixel(main_window, 300, 150), _over((127, 127, 255), 0.8))
    assert _close(_pixel(main_window, 100, 150), _over((0, 0, 0), 0.8))
    main_window.layers.normal_opacity.setValue(100)
    assert _close(_pixel(main_window, 300, 150), (127, 127, 255))


def test_the_matte_covers_the_background_by_default_and_its_checkbox_hides_it(main_window):
    alpha = np.full((H, W), 255, np.uint8)
    alpha[:, : W // 2] = 0  # the left half is what the matte calls background
    _show(main_window, _left_background(alpha=alpha))
    assert _close(_pixel(main_window, 100, 150), _over(MATTE_BACKDROP_RGB, 0.85))
    assert _close(_pixel(main_window, 300, 150), (GREY,) * 3)  # the person: the photo itself
    main_window.layers.matte_opacity.setValue(100)
    assert _close(_pixel(main_window, 100, 150), MATTE_BACKDROP_RGB)
    main_window.layers.matte.click()
    assert _close(_pixel(main_window, 100, 150), (GREY,) * 3)


def test_a_matte_whose_rows_are_not_4_byte_aligned_is_not_sheared(main_window):
    # 402 px wide: one byte per pixel, so rows are 402 bytes while Qt pads image rows to multiples of 4.
    w = 402
    alpha = np.full((H, w), 255, np.uint8)
    alpha[:, : w // 2] = 0
    main_window.scene.set_image(np.full((H, w, 3), GREY, np.uint8))
    main_window.set_annotation(Annotation("mem.png", (w, H), alpha=alpha))
    main_window.layers.matte_opacity.setValue(100)
    for y in (0, 150, 299):  # the boundary stays at x = 201 on every row
        assert _close(_pixel(main_window, 199, y), MATTE_BACKDROP_RGB), y
        assert _close(_pixel(main_window, 203, y), (GREY,) * 3), y


def test_a_class_hidden_in_the_legend_stays_hidden_in_the_next_document(qtbot, main_window):
    parts = np.zeros((H, W), np.uint8)
    parts[:, W // 2 :] = 3
    doc = _left_background(part_map=parts, class_schema="sapiens_28")
    _show(main_window, doc)
    main_window.layers.parts_opacity.setValue(100)
    colour = class_schema("sapiens_28").colors[3]
    assert _close(_pixel(main_window, 300, 150), colour)
    click_check(qtbot, main_window.layers.classes, 3)
    assert main_window.scene.style.hidden_classes == {3}
    assert _close(_pixel(main_window, 300, 150), (GREY,) * 3)
    _show(main_window, _left_background(part_map=parts.copy(), class_schema="sapiens_28"))
    assert _close(_pixel(main_window, 300, 150), (GREY,) * 3)  # still hidden


def test_a_part_map_without_a_class_schema_is_not_drawn(main_window):
    # No schema, no colours to draw the classes with: the image shows as it is, also after a document with one.
    _show(main_window, _left_background(part_map=np.full((H, W), 3, np.uint8), class_schema="sapiens_28"))
    _show(main_window, _left_background(part_map=np.full((H, W), 3, np.uint8)))
    main_window.layers.parts_opacity.setValue(100)
    assert _close(_pixel(main_window, 300, 150), (GREY,) * 3)


def test_the_person_mask_shows_alone_and_gives_way_to_a_part_map(main_window):
    mask = np.zeros((H, W), bool)
    mask[:, W // 2 :] = True
    _show(main_window, _left_background(foreground=mask))
    colour = PERSON_MASK_RGBA[:3]
    assert _close(_pixel(main_window, 300, 150), _over(colour, 0.3))
    assert _close(_pixel(main_window, 100, 150), (GREY,) * 3)
    main_window.layers.person_mask_opacity.setValue(100)
    assert _close(_pixel(main_window, 300, 150), colour)
    # With a part map (all class 0, drawn at the parts' 0.5) the mask is not drawn over it.
    parts = np.zeros((H, W), np.uint8)
    _show(main_window, _left_background(foreground=mask, part_map=parts, class_schema="sapiens_28"))
    assert _close(_pixel(main_window, 300, 150), _over(class_schema("sapiens_28").colors[0], 0.5))


def test_the_view_scrolls_to_exactly_the_images_corners(qtbot, main_window):
    # Zoomed 8x, the scroll bars at their ends show the image's first and last pixels at the viewport's edges.
    _show(main_window, _left_background())
    view = main_window.view
    view.resetTransform()
    view.scale(8, 8)
    qtbot.wait(10)
    for bar in (view.horizontalScrollBar(), view.verticalScrollBar()):
        bar.setValue(bar.minimum())
    top_left = view.mapToScene(0, 0)
    assert (top_left.x(), top_left.y()) == pytest.approx((0, 0), abs=0.25)
    for bar in (view.horizontalScrollBar(), view.verticalScrollBar()):
        bar.setValue(bar.maximum())
    corner = view.viewport().rect().bottomRight()
    bottom_right = view.mapToScene(corner.x() + 1, corner.y() + 1)
    assert (bottom_right.x(), bottom_right.y()) == pytest.approx((W, H), abs=0.25)


@pytest.mark.parametrize("existing", [True, False], ids=["into-a-mask", "creating-the-mask"])
def test_a_stroke_on_the_person_mask_is_drawn_at_once(qtbot, tmp_path, existing):
    # The paint tools' canvas (scene, view, document model, paint controller), no part map: the mask is shown. The
    # mask is empty (or absent) around (15, 8) on a black image; a brush stroke there shows the mask colour at 0.3.
    from tests.app.test_paint_tools import Canvas, _doc

    doc = _doc(part_map=False) if existing else Annotation("img.png", (160, 120))
    canvas = Canvas(qtbot, tmp_path, doc)
    assert (canvas.doc.foreground is not None) == existing
    assert _close(_pixel(canvas, 15, 8), (0, 0, 0))  # drawn once: the layer's tiles are built
    canvas.paint.settings.set_layer("foreground")
    canvas.paint.set_tool("brush")
    canvas.paint.settings.set_size(8)
    canvas.stroke([(5, 8), (25, 8)])
    assert canvas.doc.foreground[8, 15]
    assert _close(_pixel(canvas, 15, 8), np.asarray(PERSON_MASK_RGBA[:3]) * 0.3)


# ------------------------------------------------------------------------------------------------ skeletons


def _persons_doc(points: dict[int, tuple[float, float]]) -> Annotation:
    """One labeled nose per person id, at the given position."""
    persons = []
    for pid, (x, y) in points.items():
        kp = np.zeros((K, 3), np.float32)
        vis = np.zeros(K, np.uint8)
        kp[SCHEMA.index("nose")] = (x, y, 0.9)
        vis[SCHEMA.index("nose")] = 2
        persons.append(Person(pid, kp, vis, np.zeros(K, np.uint8)))
    return Annotation("mem.png", (W, H), keypoint_schema="goliath_308", persons=persons)


def _dot(window, x: float, y: float) -> bool:
    return _close(_pixel(window, x, y), SCHEMA.colors[SCHEMA.index("nose")], tol=3)


def test_a_person_unchecked_in_the_list_is_hidden_and_the_others_stay(qtbot, main_window):
    _show(main_window, _persons_doc({0: (100, 100), 5: (300, 100)}))
    assert _dot(main_window, 100, 100) and _dot(main_window, 300, 100)
    persons = main_window.layers.persons
    row = next(i for i in range(persons.count()) if persons.item(i).data(Qt.ItemDataRole.UserRole) == 5)
    click_check(qtbot, persons, row)
    assert main_window.scene.style.hidden_persons == {5}
    assert _dot(main_window, 100, 100) and not _dot(main_window, 300, 100)
    click_check(qtbot, persons, row)
    assert _dot(main_window, 300, 100)


def test_unchecking_every_group_hides_every_point(qtbot, main_window):
    _show(main_window, _persons_doc({0: (100, 100), 5: (300, 100)}))
    for box in main_window.layers.group_boxes.values():
        qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    assert not any(main_window.scene.style.groups.values())
    assert not _dot(main_window, 100, 100) and not _dot(main_window, 300, 100)


def test_a_point_a_person_moved_shows_whatever_its_score(main_window):
    # A model point scoring 0.1 is hidden at the default threshold 0.3; moved by a person it is human-made: shown.
    from sapiens_core.annotation.edits import move_keypoints

    doc = _persons_doc({0: (100, 100)})
    doc.persons[0].keypoints[SCHEMA.index("nose"), 2] = 0.1
    _show(main_window, doc)
    assert not _dot(main_window, 100, 100)
    documents = main_window.documents
    documents.push(move_keypoints(documents.current.doc, 0, [SCHEMA.index("nose")], [(150, 100)]))
    assert _dot(main_window, 150, 100)


def test_persons_of_a_document_without_a_keypoint_schema_are_listed_without_skeletons(main_window):
    # A detector's output: boxes and 17 unnamed points per person, no schema to draw them with.
    persons = [
        Person(pid, np.full((17, 3), 50, np.float32), np.full(17, 2, np.uint8), np.zeros(17, np.uint8), box=box)
        for pid, box in ((0, (20.0, 30.0, 150.0, 250.0)), (1, (220.0, 40.0, 380.0, 280.0)))
    ]
    _show(main_window, Annotation("mem.png", (W, H), persons=persons))
    assert main_window.layers.persons.count() == 2
    assert main_window.scene.skeletons == []
    assert _close(_pixel(main_window, 50, 50), (GREY,) * 3)  # no dot where the points are


def test_a_new_document_replaces_the_old_ones_points(main_window):
    _show(main_window, _persons_doc({0: (100, 100)}))
    assert _dot(main_window, 100, 100)
    _show(main_window, _persons_doc({0: (200, 200)}))
    assert _dot(main_window, 200, 200) and not _dot(main_window, 100, 100)
    assert len(main_window.scene.skeletons) == 1


def test_points_are_drawn_over_an_opaque_part_map(main_window):
    parts = np.full((H, W), 1, np.uint8)  # one class everywhere, drawn opaque at full opacity
    doc = _persons_doc({0: (100, 100)})
    doc.class_schema, doc.part_map = "sapiens_28", parts
    _show(main_window, doc)
    main_window.layers.parts_opacity.setValue(100)
    assert not _close(_pixel(main_window, 50, 50), (GREY,) * 3, tol=10)  # the part map covers the image
    assert _dot(main_window, 100, 100)


# ------------------------------------------------------------------------------------------------ marker


RING_VIEW = 31  # px: the ring (radius 9) and a margin, rendered at 1:1 around the picked pixel's centre


def _render_around(window, cx: float, cy: float) -> np.ndarray:
    """(RING_VIEW, RING_VIEW, 3) int RGB of the scene at 1:1, centred on scene point (cx, cy), on black."""
    n = RING_VIEW
    image = QImage(n, n, QImage.Format.Format_RGB888)
    image.fill(QColor(0, 0, 0))
    painter = QPainter(image)
    window.scene.render(painter, QRectF(0, 0, n, n), QRectF(cx - n / 2, cy - n / 2, n, n))
    painter.end()
    return np.array([[image.pixelColor(i, j).getRgb()[:3] for i in range(n)] for j in range(n)], int)


def _yellow_ring(window, cx: float, cy: float) -> tuple[int, int]:
    """(yellow pixels within 6 px of (cx, cy), yellow pixels 7 to 11 px from it), rendered at 1:1."""
    n = RING_VIEW
    pixels = _render_around(window, cx, cy)
    yellow = (pixels[..., 0] > 150) & (pixels[..., 1] > 150) & (pixels[..., 2] < 100)
    yy, xx = np.mgrid[0:n, 0:n] + 0.5 - n / 2
    r = np.hypot(xx, yy)
    return int((yellow & (r < 6)).sum()), int((yellow & (r > 7) & (r < 11)).sum())


def _yellow_centre(window, cx: float, cy: float) -> tuple[float, float]:
    """Mean position of the yellow pixels around (cx, cy), in scene coordinates (pixel centres)."""
    n = RING_VIEW
    pixels = _render_around(window, cx, cy)
    weight = np.clip(pixels[..., 0] + pixels[..., 1] - 2 * pixels[..., 2], 0, None).astype(float)  # yellowness
    yy, xx = np.mgrid[0:n, 0:n] + 0.5 - n / 2
    return float((weight * xx).sum() / weight.sum() + cx), float((weight * yy).sum() / weight.sum() + cy)


@pytest.mark.parametrize("pixel", [(120, 80), (300, 200)])
def test_a_picked_pixel_is_ringed_at_its_centre_and_a_new_image_clears_the_ring(main_window, pixel):
    _show(main_window, _left_background())
    x, y = pixel
    main_window.show_pixel(x, y)  # what a click in the 3D view calls
    inside, ring = _yellow_ring(main_window, x + 0.5, y + 0.5)
    assert inside == 0 and ring > 40  # a 9 px ring around the pixel's centre, nothing drawn inside it
    centre = _yellow_centre(main_window, x + 0.5, y + 0.5)
    assert centre == pytest.approx((x + 0.5, y + 0.5), abs=0.25)  # a symmetric ring: its mean is its centre
    main_window.scene.set_image(np.full((H, W, 3), GREY, np.uint8))
    assert _yellow_ring(main_window, x + 0.5, y + 0.5) == (0, 0)


def test_the_ring_is_drawn_with_a_two_pixel_pen(main_window):
    """The ring's ink, summed over its band, is its length times its width: 2 pi 9 px x 2 px = 113 px of yellow
    (a 1 px pen gives about 57, a 3 px one about 170)."""
    _show(main_window, _left_background())
    main_window.show_pixel(120, 80)
    n = RING_VIEW
    pixels = _render_around(main_window, 120.5, 80.5).astype(float)
    yellow = np.clip(np.minimum(pixels[..., 0], pixels[..., 1]) - pixels[..., 2], 0, None) / 255
    yy, xx = np.mgrid[0:n, 0:n] + 0.5 - n / 2
    band = (np.hypot(xx, yy) > 6) & (np.hypot(xx, yy) < 12)
    assert 2 * np.pi * 9 * 2 * 0.8 < yellow[band].sum() < 2 * np.pi * 9 * 2 * 1.2
