"""Editing keypoints and persons on the canvas with real mouse and key events.

The view is set to 1:1 (one screen pixel = one image pixel), so a drag of (dx, dy) screen pixels must move a
point by exactly (dx, dy); expected values come from the test's own document.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from sapiens_core.annotation import SOURCE_HUMAN, SOURCE_MODEL, Annotation, Person
from sapiens_core.project import annotation_path
from sapiens_core.schema import keypoint_schema

SCHEMA = keypoint_schema("goliath_308")
K = len(SCHEMA)
NAMES = ("nose", "left_shoulder", "right_shoulder", "left_elbow", "left_wrist", "right_wrist")
# Labelled points per person: person 0 on the left half, person 1 shifted 200 px right.
POSITIONS = {
    "nose": (100, 80),
    "left_shoulder": (130, 130),
    "right_shoulder": (70, 130),
    "left_elbow": (150, 190),
    "left_wrist": (160, 250),
    "right_wrist": (40, 250),
}
NO = Qt.KeyboardModifier.NoModifier
LEFT = Qt.MouseButton.LeftButton


def _person(pid: int, dx: float) -> Person:
    kp = np.zeros((K, 3), np.float32)
    vis = np.zeros(K, np.uint8)
    for name, (x, y) in POSITIONS.items():
        kp[SCHEMA.index(name)] = (x + dx, y, 0.9)
        vis[SCHEMA.index(name)] = 2
    return Person(pid, kp, vis, np.full(K, SOURCE_MODEL), box=[20 + dx, 40, 200 + dx, 300])


@pytest.fixture
def window(qtbot, main_window, sample_image):
    doc = Annotation(str(sample_image), (512, 512), "goliath_308", persons=[_person(0, 0), _person(1, 200)])
    path = annotation_path(sample_image)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    main_window.add_paths([sample_image])
    main_window.view.resetTransform()  # 1:1
    main_window.view.centerOn(256, 256)
    main_window.view.setFocus()
    return main_window


def at(window, x, y):
    return window.view.mapFromScene(QPointF(x, y))


def kp(window, pid: int, name: str) -> np.ndarray:
    person = next(p for p in window.annotation.persons if p.id == pid)
    return person.keypoints[SCHEMA.index(name)]


def person(window, pid: int) -> Person:
    return next(p for p in window.annotation.persons if p.id == pid)


def drag(qtbot, window, start, delta, modifier=NO, steps: int = 4):
    viewport = window.view.viewport()
    a = at(window, *start)
    qtbot.mousePress(viewport, LEFT, modifier, a)
    for n in range(1, steps + 1):
        qtbot.mouseMove(viewport, a + type(a)(delta[0] * n // steps, delta[1] * n // steps))
    qtbot.mouseRelease(viewport, LEFT, modifier, a + type(a)(*delta))


def click(qtbot, window, x, y, modifier=NO):
    qtbot.mouseClick(window.view.viewport(), LEFT, modifier, at(window, x, y))


def key(qtbot, window, k, modifier=NO):
    qtbot.keyClick(window.view, k, modifier)


def test_drag_a_keypoint_stores_it_as_human_and_undo_redo_restore(qtbot, window):
    drag(qtbot, window, POSITIONS["left_elbow"], (20, 10))
    moved = kp(window, 0, "left_elbow")
    assert tuple(moved[:2]) == (170, 200)
    i = SCHEMA.index("left_elbow")
    assert person(window, 0).source[i] == SOURCE_HUMAN and person(window, 0).visibility[i] == 2
    assert tuple(kp(window, 1, "left_elbow")[:2]) == (350, 190)  # the other person's point is untouched
    assert window.history.steps() == ["Opened", "move keypoint"]  # the whole drag is one step
    assert tuple(window.scene.skeletons[0].keypoints[i, :2]) == (170, 200)

    window.actions["undo"].trigger()
    assert tuple(kp(window, 0, "left_elbow")[:2]) == (150, 190) and person(window, 0).source[i] == SOURCE_MODEL
    assert tuple(window.scene.skeletons[0].keypoints[i, :2]) == (150, 190)
    window.actions["redo"].trigger()
    assert tuple(kp(window, 0, "left_elbow")[:2]) == (170, 200)


def test_hover_names_the_point_and_selection_highlights_its_links(qtbot, window):
    # Hover events go to the active window, and Qt sends no move event when the pointer is already where it is
    # sent (an earlier test may have left a window active or the pointer there): activate, come from elsewhere.
    window.raise_()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.mouseMove(window.view.viewport(), at(window, 5, 5))
    qtbot.mouseMove(window.view.viewport(), at(window, *POSITIONS["left_wrist"]))
    qtbot.waitUntil(lambda: "left_wrist" in window.hover_label.text(), timeout=2000)
    click(qtbot, window, *POSITIONS["left_wrist"])
    assert window.editor.selection.points == {0: {SCHEMA.index("left_wrist")}}
    overlay = window.editor.tool.overlay
    links = overlay._links(person(window, 0), {SCHEMA.index("left_wrist")})
    # Only the elbow link has both ends labelled in this document.
    assert links == [(SCHEMA.index("left_elbow"), SCHEMA.index("left_wrist"))]


def test_rubber_band_selects_points_of_two_persons_and_they_move_together(qtbot, window):
    # Around both persons' shoulders (y = 130) and nothing else.
    drag(qtbot, window, (50, 115), (300, 30), Qt.KeyboardModifier.ShiftModifier)
    sel = window.editor.selection.points
    ls, rs = SCHEMA.index("left_shoulder"), SCHEMA.index("right_shoulder")
    assert sel == {0: {ls, rs}, 1: {ls, rs}}
    drag(qtbot, window, POSITIONS["left_shoulder"], (-5, 7))
    for pid, dx in ((0, 0), (1, 200)):
        assert tuple(kp(window, pid, "left_shoulder")[:2]) == (125 + dx, 137)
        assert tuple(kp(window, pid, "right_shoulder")[:2]) == (65 + dx, 137)
    assert window.history.steps() == ["Opened", "move 4 keypoints"]
    window.actions["undo"].trigger()
    assert tuple(kp(window, 1, "right_shoulder")[:2]) == (270, 130)


def test_nudge_with_arrows_one_step_per_press(qtbot, window):
    click(qtbot, window, *POSITIONS["nose"])
    key(qtbot, window, Qt.Key.Key_Right)
    key(qtbot, window, Qt.Key.Key_Right)
    key(qtbot, window, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert tuple(kp(window, 0, "nose")[:2]) == (102, 90)
    assert window.history.steps() == ["Opened", "nudge keypoint", "nudge keypoint", "nudge keypoint"]
    window.actions["undo"].trigger()
    assert tuple(kp(window, 0, "nose")[:2]) == (102, 80)


def test_visibility_keys_and_delete_set_the_flag_as_human(qtbot, window):
    i = SCHEMA.index("left_wrist")
    click(qtbot, window, *POSITIONS["left_wrist"])
    key(qtbot, window, Qt.Key.Key_1)
    assert person(window, 0).visibility[i] == 1 and person(window, 0).source[i] == SOURCE_HUMAN
    key(qtbot, window, Qt.Key.Key_0)
    assert person(window, 0).visibility[i] == 0
    window.actions["undo"].trigger()
    key(qtbot, window, Qt.Key.Key_Delete)
    assert person(window, 0).visibility[i] == 0
    assert not window.scene.skeletons[0].shown[i]  # an unlabelled point is not drawn
    key(qtbot, window, Qt.Key.Key_2)
    assert person(window, 0).visibility[i] == 2 and tuple(kp(window, 0, "left_wrist")[:2]) == (160, 250)
    assert window.history.steps()[1:] == ["mark occluded keypoint", "delete keypoint", "mark visible keypoint"]


def test_place_a_missing_point_by_name(qtbot, window):
    click(qtbot, window, *POSITIONS["nose"], modifier=NO)  # selects person 0
    window.actions["place_keypoint"].trigger()
    assert window.editor.panel.search.hasFocus()
    qtbot.keyClicks(window.editor.panel.search, "left ear")
    assert window.editor.panel.shown_names() == ["left_ear"]
    qtbot.keyClick(window.editor.panel.search, Qt.Key.Key_Return)
    click(qtbot, window, 90, 60)
    i = SCHEMA.index("left_ear")
    p = person(window, 0)
    assert p.visibility[i] == 2 and p.source[i] == SOURCE_HUMAN
    assert tuple(p.keypoints[i, :2]) == tuple(window.view.mapToScene(at(window, 90, 60)).toTuple())
    assert window.history.steps() == ["Opened", "place left_ear"]
    assert window.scene.skeletons[0].shown[i]  # a placed point shows whatever its (zero) score


def test_swap_left_right_of_the_selected_person(qtbot, window):
    click(qtbot, window, *POSITIONS["nose"])
    key(qtbot, window, Qt.Key.Key_X)
    assert tuple(kp(window, 0, "left_wrist")[:2]) == POSITIONS["right_wrist"]
    assert tuple(kp(window, 0, "right_wrist")[:2]) == POSITIONS["left_wrist"]
    assert tuple(kp(window, 0, "left_shoulder")[:2]) == POSITIONS["right_shoulder"]
    assert tuple(kp(window, 1, "left_wrist")[:2]) == (360, 250)  # the other person stays
    # The elbow's partner was never labelled: after the swap the left elbow is unlabelled, the right one holds it.
    assert person(window, 0).visibility[SCHEMA.index("left_elbow")] == 0
    assert tuple(kp(window, 0, "right_elbow")[:2]) == POSITIONS["left_elbow"]
    window.actions["undo"].trigger()
    assert tuple(kp(window, 0, "left_wrist")[:2]) == POSITIONS["left_wrist"]


def test_edit_a_box_corner_without_moving_points(qtbot, window):
    click(qtbot, window, *POSITIONS["nose"])
    before = person(window, 0).keypoints.copy()
    drag(qtbot, window, (200, 300), (15, -20))  # the bottom-right corner of person 0's box
    assert tuple(person(window, 0).box) == (20, 40, 215, 280)
    np.testing.assert_array_equal(person(window, 0).keypoints, before)
    assert window.history.steps() == ["Opened", "edit box"]
    window.actions["undo"].trigger()
    assert tuple(person(window, 0).box) == (20, 40, 200, 300)


def test_add_delete_and_renumber_persons(qtbot, window):
    window.actions["add_person"].trigger()
    drag(qtbot, window, (420, 300), (60, 100))
    new = person(window, 2)
    corner_a = window.view.mapToScene(at(window, 420, 300))
    corner_b = window.view.mapToScene(at(window, 420, 300) + at(window, 60, 100) - at(window, 0, 0))
    assert tuple(new.box) == tuple(np.float32([corner_a.x(), corner_a.y(), corner_b.x(), corner_b.y()]))
    assert (new.visibility == 0).all() and len(window.scene.skeletons) == 3
    assert window.history.steps()[-1] == "add person"

    dialog = window.editor.ask_renumber()
    dialog.setIntValue(7)
    dialog.accept()
    assert sorted(p.id for p in window.annotation.persons) == [0, 1, 7]
    key(qtbot, window, Qt.Key.Key_Delete, Qt.KeyboardModifier.ShiftModifier)
    assert sorted(p.id for p in window.annotation.persons) == [0, 1]
    assert window.history.steps()[1:] == ["add person", "renumber person", "delete person"]
    window.actions["undo"].trigger()
    assert sorted(p.id for p in window.annotation.persons) == [0, 1, 7]


def test_a_drawn_box_gets_pose_run_inside_it_as_one_step(qtbot, window, tiny_checkpoints):
    window.model_overrides = {"pose": tiny_checkpoints["pose"]}
    window.actions["add_person"].trigger()
    drag(qtbot, window, (300, 100), (120, 200))
    qtbot.waitUntil(lambda: window.history.steps()[-1] == "run pose in box", timeout=60_000)
    new = person(window, 2)
    assert (new.visibility > 0).any() and (new.source == SOURCE_MODEL).all()
    # Exactly what the pipeline predicts for that box on its own (the app only routes the box and the result).
    from sapiens_core.io.images import read_image
    from sapiens_core.pipeline import Frame, Pipeline

    pipeline = Pipeline.from_paths({"pose": tiny_checkpoints["pose"]}, device="cpu")
    try:
        box = np.array([[*new.box, 1.0]], np.float32)
        alone = pipeline.run([Frame(read_image(window.current_path), window.current_path, box)])[0].persons[0]
        whole = pipeline.run([Frame(read_image(window.current_path), window.current_path)])[0].persons[0]
    finally:
        pipeline.close()
    np.testing.assert_array_equal(new.keypoints, alone.keypoints)
    np.testing.assert_array_equal(new.visibility, alone.visibility)
    assert not np.array_equal(alone.keypoints, whole.keypoints)  # the box mattered
    assert window.history.steps()[-2:] == ["add person", "run pose in box"]
    window.actions["undo"].trigger()
    assert (person(window, 2).visibility == 0).all()
