"""Editing keypoints and persons on the canvas: builds the tool, the keypoint panel and the Edit/Person actions,
and turns each command into an edit on the DocumentModel (so every one of them is undoable).

The main window constructs it and registers its actions; nothing here holds labels.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QInputDialog

from sapiens_core.annotation.edits import Macro, RemovePerson, RenumberPerson, swap_left_right
from sapiens_core.annotation.edits import set_visibility as visibility_edit
from sapiens_core.schema import keypoint_schema

from ..actions import ActionRegistry, ActionSpec
from ..canvas.tools import KeypointTool, Selection
from ..panels.keypoints import KeypointPanel
from .document_model import DocumentModel

# Digits for visibility (COCO's own numbers); A/D/F stay image navigation and fit. The view's old "0 = fit"
# gave way to "0 = unlabeled" (F fits).
VISIBILITY_KEYS = {2: "2", 1: "1", 0: "0"}


class CanvasEditor(QObject):
    def __init__(self, documents: DocumentModel, scene, view, parent=None):
        super().__init__(parent)
        self.documents = documents
        self.selection = Selection(self)
        self.tool = KeypointTool(documents, scene, view, self.selection, self)
        self.panel = KeypointPanel()
        self.view = view
        self.renumber_dialog: QInputDialog | None = None
        self.pose_in_box = None  # a PoseInBox, attached by the window (it knows the models and the device)
        self.panel.picked.connect(self._pick)
        documents.opened.connect(self._opened)
        documents.changed.connect(self._changed)
        self.selection.changed.connect(self._update_panel)

    # ------------------------------------------------------------------------------------------ actions

    def register(self, registry: ActionRegistry) -> None:
        add = registry.add
        names = {2: "Mark &visible", 1: "Mark &occluded", 0: "Mark &unlabeled"}
        for v in (2, 1, 0):
            action = add(
                ActionSpec(f"visibility_{v}", f"{names[v]} ({v})", "&Edit", VISIBILITY_KEYS[v]),
                lambda v=v: self.set_visibility(v),
            )
            self.view.addAction(action)
        delete = add(ActionSpec("unlabel", "&Delete keypoint", "&Edit", "Del"), lambda: self.set_visibility(0))
        self.view.addAction(delete)
        swap = add(ActionSpec("swap_lr", "S&wap left/right of person", "&Edit", "X"), self.swap_left_right)
        self.view.addAction(swap)
        add(ActionSpec("place_keypoint", "&Place keypoint…", "&Edit", "Ctrl+K"), self.focus_keypoint_search)
        add(ActionSpec("add_person", "&Add person (draw a box)", "&Person", "Ctrl+Shift+P"), self.start_add_person)
        add(ActionSpec("delete_person", "&Delete person", "&Person", "Shift+Del"), self.delete_person)
        add(ActionSpec("renumber_person", "&Renumber person…", "&Person", "Ctrl+Shift+I"), self.ask_renumber)
        add(
            ActionSpec(
                "pose_in_box",
                "Run &pose in a new box",
                "&Person",
                checkable=True,
                tip="After drawing a person's box, run the chosen pose model inside it",
            ),
            self._pose_toggled,
        ).setChecked(True)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    def attach_pose(self, pose_in_box) -> None:
        self.pose_in_box = pose_in_box
        self.tool.person_drawn.connect(pose_in_box.run)

    def _pose_toggled(self, checked: bool) -> None:
        if self.pose_in_box is not None:
            self.pose_in_box.enabled = checked

    # ------------------------------------------------------------------------------------------ commands

    def set_visibility(self, v: int) -> None:
        doc = self._doc()
        if doc is None or not self.selection:
            return
        edits = [visibility_edit(doc, pid, sorted(idx), v) for pid, idx in sorted(self.selection.points.items())]
        self._push(edits, edits[0].label if len(edits) == 1 else f"{edits[0].label}s")

    def swap_left_right(self) -> None:
        doc = self._doc()
        if doc is None or self.selection.person is None:
            return
        flip = keypoint_schema(doc.keypoint_schema).flip_index
        self._push([swap_left_right(doc, self.selection.person, flip)], "swap left and right")

    def delete_person(self) -> None:
        if self._doc() is None or self.selection.person is None:
            return
        pid = self.selection.person
        self.selection.clear()
        self._push([RemovePerson(pid)], "delete person")

    def renumber(self, old_id: int, new_id: int) -> bool:
        doc = self._doc()
        if doc is None or old_id == new_id or any(p.id == new_id for p in doc.persons):
            return False
        self._push([RenumberPerson(old_id, new_id)], "renumber person")
        self.selection.select_person(new_id)
        return True

    def ask_renumber(self) -> QInputDialog | None:
        """A small non-blocking dialog for the selected person's new id."""
        if self._doc() is None or self.selection.person is None:
            return None
        old = self.selection.person
        dialog = QInputDialog(self.view)
        dialog.setObjectName("renumberDialog")
        dialog.setWindowTitle("Renumber person")
        dialog.setLabelText(f"New id for person {old}:")
        dialog.setInputMode(QInputDialog.InputMode.IntInput)
        dialog.setIntRange(0, 1_000_000)
        dialog.setIntValue(old)
        dialog.intValueSelected.connect(lambda new: self.renumber(old, new))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.renumber_dialog = dialog
        return dialog

    def start_add_person(self) -> None:
        self.tool.placing = None
        self.tool.adding_person = True
        self.tool.message.emit("Drag a box around the new person")

    def focus_keypoint_search(self) -> None:
        self.panel.search.setFocus()
        self.panel.search.selectAll()

    # ------------------------------------------------------------------------------------------ internals

    def _doc(self):
        entry = self.documents.current
        return entry.doc if entry is not None else None

    def _push(self, edits: list, label: str) -> None:
        self.documents.seal()
        if len(edits) == 1:
            edits[0].label = label
            self.documents.push(edits[0])
        else:
            self.documents.push(Macro(edits, label))
        self.documents.seal()

    def _pick(self, name: str) -> None:
        self.tool.adding_person = False
        self.tool.placing = name

    def _opened(self, entry) -> None:
        self.tool.placing, self.tool.adding_person = None, False
        self.selection.clear()
        if entry is not None:
            self.panel.set_schema(entry.doc.keypoint_schema)
        self.tool.refresh_overlay()
        self._update_panel()

    def _changed(self, change) -> None:
        self.tool.refresh_overlay()
        if self.selection.person in change.persons or change.structure:
            self._update_panel()
        if self.tool.placing is None:
            self.panel.placed()

    def _update_panel(self) -> None:
        doc = self._doc()
        person = next((p for p in doc.persons if p.id == self.selection.person), None) if doc else None
        if person is None or not doc.keypoint_schema:
            self.panel.set_labelled(None)
            return
        names = keypoint_schema(doc.keypoint_schema).names
        self.panel.set_labelled({names[i] for i in range(len(names)) if person.visibility[i] > 0})
