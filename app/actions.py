"""One registry of user actions feeding the menus, the toolbar and the keyboard shortcuts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar


@dataclass(frozen=True)
class ActionSpec:
    id: str
    text: str
    menu: str  # top-level menu title
    shortcut: str | QKeySequence.StandardKey | None = None
    toolbar: bool = False
    checkable: bool = False
    tip: str = ""
    group: str = ""  # checkable actions sharing a group are exclusive (one choice among several, shown as radios)


class ActionRegistry:
    def __init__(self, window: QMainWindow):
        self.window = window
        self.actions: dict[str, QAction] = {}
        self.specs: dict[str, ActionSpec] = {}
        self.groups: dict[str, QActionGroup] = {}

    def add(self, spec: ActionSpec, slot: Callable) -> QAction:
        if spec.id in self.actions:
            raise ValueError(f"action {spec.id!r} registered twice")
        action = QAction(spec.text, self.window)
        action.setObjectName(f"action_{spec.id}")
        if spec.shortcut is not None:
            action.setShortcut(QKeySequence(spec.shortcut))
        action.setCheckable(spec.checkable or bool(spec.group))
        if spec.group:
            if spec.group not in self.groups:
                self.groups[spec.group] = QActionGroup(self.window)
                self.groups[spec.group].setExclusive(True)
            self.groups[spec.group].addAction(action)
        action.setStatusTip(spec.tip or spec.text.replace("&", ""))
        action.setToolTip(spec.tip or spec.text.replace("&", ""))
        if spec.checkable and not spec.group:
            action.triggered.connect(slot)  # slot(checked)
        else:
            # QAction.triggered carries `checked`; a slot with an optional first parameter (run_current(connect=None))
            # would receive False in it. Plain actions call their slot with no arguments.
            action.triggered.connect(lambda _checked=False, slot=slot: slot())
        self.window.addAction(action)  # shortcuts work even when no menu shows it
        self.actions[spec.id] = action
        self.specs[spec.id] = spec
        return action

    def __getitem__(self, action_id: str) -> QAction:
        return self.actions[action_id]

    def build_menus(self) -> dict[str, QMenu]:
        menus: dict[str, QMenu] = {}
        for action_id, spec in self.specs.items():
            if spec.menu not in menus:
                menus[spec.menu] = self.window.menuBar().addMenu(spec.menu)
            menus[spec.menu].addAction(self.actions[action_id])
        return menus

    def build_toolbar(self, title: str = "Main") -> QToolBar:
        bar = self.window.addToolBar(title)
        bar.setObjectName(f"toolbar_{title}")
        for action_id, spec in self.specs.items():
            if spec.toolbar:
                bar.addAction(self.actions[action_id])
        return bar
