"""The editing tool on the canvas: pick, drag, rubber-band select and nudge keypoints, place a missing point,
drag a person's box corners and draw a new person's box.

It filters the view's mouse and key events. Edits go to the DocumentModel as they happen: every mouse move of a
drag is a move edit sharing one gesture token, so the history merges the drag into one step (sealed on release).
An empty-space press without Shift falls through to the view, which pans.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal

from sapiens_core.annotation import SOURCE_MODEL, Annotation, Person
from sapiens_core.annotation.edits import AddPerson, Macro, SetBox, move_keypoints
from sapiens_core.schema import keypoint_schema

from ...editing.document_model import DocumentModel
from ...editing.locations import document_path
from .overlay import HANDLE_PX, EditOverlay
from .selection import Selection

PICK_PX = 8  # how near (screen pixels) the pointer must be to grab a point or a corner
DEFAULT_SCHEMA = "goliath_308"


class KeypointTool(QObject):
    message = Signal(str)  # one line for the status bar
    person_drawn = Signal(str, int, object)  # image path, new person id, box (x1, y1, x2, y2)

    def __init__(self, documents: DocumentModel, scene, view, selection: Selection, parent=None):
        super().__init__(parent)
        self.documents, self.scene, self.view, self.selection = documents, scene, view, selection
        self.overlay = EditOverlay()
        scene.addItem(self.overlay)
        self.placing: str | None = None  # keypoint name to place with the next click
        self.adding_person = False
        self._drag: dict | None = None
        # Compared by identity in eventFilter: during the window's destruction events still arrive after the
        # view's C++ object is gone, and asking it for its viewport then would raise.
        self._viewport = view.viewport()
        view.viewport().installEventFilter(self)
        view.installEventFilter(self)
        selection.changed.connect(self.refresh_overlay)

    # ------------------------------------------------------------------------------------------ helpers

    @property
    def doc(self) -> Annotation | None:
        entry = self.documents.current
        return entry.doc if entry is not None else None

    def _person(self, pid: int | None) -> Person | None:
        return next((p for p in self.doc.persons if p.id == pid), None) if self.doc is not None else None

    def _radius(self) -> float:
        return self.scene.skeletons[0].radius if self.scene.skeletons else 2.0

    def refresh_overlay(self) -> None:
        doc = self.doc
        if doc is not None and self.overlay.scene() is not self.scene:
            self.scene.addItem(self.overlay)
        self.selection.forget_missing({p.id for p in doc.persons} if doc is not None else set())
        self.overlay.set_content(doc, self.selection.points, self.selection.person, self._radius())

    def _scene_pos(self, event) -> QPointF:
        return self.view.mapToScene(event.position().toPoint())

    def _pick_tolerance(self) -> float:
        return PICK_PX / max(self.view.transform().m11(), 1e-6)

    def pick(self, pos: QPointF) -> tuple[int, int] | None:
        """(person id, keypoint index) of the nearest shown point under the pointer, or None."""
        best, best_d = None, self._pick_tolerance()
        for item in self.scene.skeletons:
            if not item.isVisible():
                continue
            i = item.nearest(pos.x(), pos.y(), best_d)
            if i is not None:
                d = float(np.hypot(item.keypoints[i, 0] - pos.x(), item.keypoints[i, 1] - pos.y()))
                if d <= best_d:
                    best, best_d = (item.person_id, i), d
        return best

    def _pick_corner(self, pos: QPointF) -> int | None:
        """Which corner (0 x1y1, 1 x2y1, 2 x1y2, 3 x2y2) of the selected person's box is under the pointer."""
        person = self._person(self.selection.person)
        if person is None or person.box is None:
            return None
        x1, y1, x2, y2 = map(float, person.box)
        tol = max(self._pick_tolerance(), HANDLE_PX / max(self.view.transform().m11(), 1e-6))
        for n, (cx, cy) in enumerate(((x1, y1), (x2, y1), (x1, y2), (x2, y2))):
            if abs(pos.x() - cx) <= tol and abs(pos.y() - cy) <= tol:
                return n
        return None

    # ------------------------------------------------------------------------------------------ edits

    def move_selection(self, dx: float, dy: float, start: dict | None = None, gesture=None, label="move") -> None:
        """Move the selected points by (dx, dy) from ``start`` (their positions when the drag began)."""
        doc = self.doc
        if doc is None or not self.selection:
            return
        edits = []
        for pid, idx in sorted(self.selection.points.items()):
            person = self._person(pid)
            order = np.array(sorted(idx))
            origin = start[pid] if start is not None else person.keypoints[order, :2]
            edits.append(move_keypoints(doc, pid, order, origin + np.float32([dx, dy]), gesture))
        n = sum(len(i) for i in self.selection.points.values())
        name = f"{label} keypoint" if n == 1 else f"{label} {n} keypoints"
        for edit in edits:
            edit.label = name
        self.documents.push(edits[0] if len(edits) == 1 else Macro(edits, name, gesture))

    def nudge(self, dx: float, dy: float) -> None:
        """One step per key press: sealed before and after, never merged with a drag or another press."""
        self.documents.seal()
        self.move_selection(dx, dy, label="nudge")
        self.documents.seal()

    def place(self, name: str, pos: QPointF) -> bool:
        doc = self.doc
        pid = self.selection.person
        if doc is not None and pid is None and len(doc.persons) == 1:
            pid = doc.persons[0].id
        if doc is None or self._person(pid) is None:
            self.message.emit("Select a person first (click one of its points, or draw one with Add person)")
            return False
        index = keypoint_schema(doc.keypoint_schema).index(name)
        edit = move_keypoints(doc, pid, [index], [[pos.x(), pos.y()]])
        edit.label = f"place {name}"
        self.documents.seal()
        self.documents.push(edit)
        self.documents.seal()
        self.selection.set({pid: {index}}, pid)
        return True

    def add_person(self, box) -> int | None:
        """A new person with the box ``(x1, y1, x2, y2)`` and no labelled point; a first document when needed."""
        if self.documents.current is None:
            rect = self.scene.sceneRect()  # the image on screen
            if self.documents.current_image is None or rect.isEmpty():
                return None
            path = self.documents.current_image
            size = (round(rect.width()), round(rect.height()))
            first = Annotation(path, size, keypoint_schema=DEFAULT_SCHEMA)
            self.documents.apply_labels(path, document_path(path), first)
        doc = self.doc
        if not doc.keypoint_schema:
            doc.keypoint_schema = DEFAULT_SCHEMA  # a part-map-only document gets persons of the default set
        k = len(keypoint_schema(doc.keypoint_schema))
        pid = max((p.id for p in doc.persons), default=-1) + 1
        person = Person(pid, np.zeros((k, 3), np.float32), np.zeros(k, np.uint8), np.full(k, SOURCE_MODEL), box)
        self.documents.seal()
        self.documents.push(AddPerson(person))
        self.documents.seal()
        self.selection.select_person(pid)
        return pid

    # ------------------------------------------------------------------------------------------ events

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if obj is self.view and kind == QEvent.Type.KeyPress:
            return self._key(event)
        if obj is not self._viewport:
            return False
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            return self._press(event)
        if kind == QEvent.Type.MouseMove and self._drag is not None:
            self._move(event)
            return True
        if kind == QEvent.Type.MouseButtonRelease and self._drag is not None:
            self._release(event)
            return True
        return False

    def _press(self, event) -> bool:
        pos = self._scene_pos(event)
        mods = event.modifiers()
        if self.placing is not None:
            name, self.placing = self.placing, None
            self.place(name, pos)
            return True
        if self.adding_person:
            self._drag = {"kind": "new_box", "start": pos}
            return True
        corner = self._pick_corner(pos)
        if corner is not None:
            self.documents.seal()
            self._drag = {"kind": "corner", "corner": corner, "gesture": object(), "pid": self.selection.person}
            return True
        hit = self.pick(pos)
        if hit is not None:
            pid, index = hit
            if mods & Qt.KeyboardModifier.ControlModifier:
                self.selection.toggle(pid, index)
                return True
            if not self.selection.contains(pid, index):
                self.selection.set({pid: {index}}, pid)
            else:
                self.selection.person = pid
            start = {q: self._person(q).keypoints[sorted(i), :2].copy() for q, i in self.selection.points.items()}
            self.documents.seal()
            self._drag = {"kind": "points", "start": start, "origin": pos, "gesture": object()}
            return True
        if mods & Qt.KeyboardModifier.ShiftModifier:
            self._drag = {"kind": "band", "start": pos}
            return True
        self.selection.clear()
        return False  # the view pans

    def _move(self, event) -> None:
        pos = self._scene_pos(event)
        drag = self._drag
        if drag["kind"] == "points":
            d = pos - drag["origin"]
            if d.x() or d.y():
                self.move_selection(d.x(), d.y(), drag["start"], drag["gesture"])
        elif drag["kind"] == "corner":
            person = self._person(drag["pid"])
            box = person.box.copy()
            n = drag["corner"]
            box[0 if n in (0, 2) else 2] = pos.x()
            box[1 if n in (0, 1) else 3] = pos.y()
            self.documents.push(SetBox(drag["pid"], box, drag["gesture"]))
        else:  # a band or a new box being drawn
            self.overlay.set_band(QRectF(drag["start"], pos).normalized())

    def _release(self, event) -> None:
        drag, self._drag = self._drag, None
        self.documents.seal()
        if drag["kind"] == "corner":
            person = self._person(drag["pid"])
            if person is not None and person.box is not None:
                x1, y1, x2, y2 = person.box
                if x1 > x2 or y1 > y2:  # dragged past the opposite corner: keep the box well-formed
                    fixed = [min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]
                    self.documents.push(SetBox(drag["pid"], fixed, drag["gesture"]))
                    self.documents.seal()
        if drag["kind"] not in ("band", "new_box"):
            return
        rect = QRectF(drag["start"], self._scene_pos(event)).normalized()
        self.overlay.set_band(None)
        if drag["kind"] == "band":
            self._select_in(rect, add=bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier))
        elif rect.width() >= 2 and rect.height() >= 2:
            self.adding_person = False
            box = [rect.left(), rect.top(), rect.right(), rect.bottom()]
            pid = self.add_person(box)
            if pid is not None:
                self.person_drawn.emit(self.documents.current_image, pid, box)

    def _select_in(self, rect: QRectF, add: bool) -> None:
        points = {pid: set(idx) for pid, idx in self.selection.points.items()} if add else {}
        for item in self.scene.skeletons:
            if not item.isVisible():
                continue
            kp = item.keypoints
            inside = (
                item.shown
                & (kp[:, 0] >= rect.left())
                & (kp[:, 0] <= rect.right())
                & (kp[:, 1] >= rect.top())
                & (kp[:, 1] <= rect.bottom())
            )
            if inside.any():
                points.setdefault(item.person_id, set()).update(int(i) for i in np.flatnonzero(inside))
        self.selection.set(points)
        n = sum(len(i) for i in points.values())
        self.message.emit(f"{n} keypoint{'s' if n != 1 else ''} selected")

    def _key(self, event) -> bool:
        steps = {
            Qt.Key.Key_Left: (-1, 0),
            Qt.Key.Key_Right: (1, 0),
            Qt.Key.Key_Up: (0, -1),
            Qt.Key.Key_Down: (0, 1),
        }
        if event.key() not in steps or not self.selection:
            return False
        step = 10 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1
        dx, dy = steps[event.key()]
        self.nudge(dx * step, dy * step)
        return True
