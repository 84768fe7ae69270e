"""Paint mode of the canvas: routes the view's mouse, wheel and keys to the active paint tool, and turns the
tools' masks into edits pushed through the document model.

An event filter on the view rather than code inside it: the view stays a plain zoom-and-pan widget, and
with no paint tool active every event passes through untouched (keypoint dragging, panning, zooming). While a
tool is active a left press paints instead of panning, Ctrl+wheel resizes the brush (the plain wheel still
zooms), and the polygon tool takes Enter, Backspace and Esc before the window's shortcuts do.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import QGraphicsView

from sapiens_core.annotation import Annotation
from sapiens_core.annotation.tile_edits import CreateLayer, paint_region

from ...actions import ActionRegistry, ActionSpec
from .fill import FloodFillTool, PolygonFillTool
from .paint import BrushTool, EraserTool, PaintTool
from .paint_settings import PaintSettings

MOUSE_EVENTS = {
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseMove,
    QEvent.Type.MouseButtonRelease,
    QEvent.Type.MouseButtonDblClick,
}

# (tool, action text, shortcut)
TOOL_ACTIONS = (
    ("brush", "&Brush", "B"),
    ("eraser", "&Eraser", "E"),
    ("fill", "&Flood fill", "G"),
    ("polygon", "&Polygon fill", "P"),
)


class PaintController(QObject):
    tool_changed = Signal(str)  # the active tool's name, "" when none (navigate)
    message = Signal(str)  # something the user should know (no document to paint on)

    def __init__(self, view: QGraphicsView, scene, model, parent=None):
        super().__init__(parent)
        self.view, self.scene, self.model = view, scene, model
        # Kept to compare events' targets by identity: while the window is being destroyed, events still reach
        # this filter after the view's C++ object is gone, and asking the view for its viewport would raise.
        self._viewport = view.viewport()
        self.settings = PaintSettings(self)
        # Makes a document for an image that has none yet (set by the window); None: painting needs one.
        self.new_document: Callable[[], object] | None = None
        self.tools: dict[str, PaintTool] = {
            tool.name: tool(self) for tool in (BrushTool, EraserTool, FloodFillTool, PolygonFillTool)
        }
        self.tool: PaintTool | None = None
        self._creating = False
        self._actions: dict[str, object] = {}
        view.viewport().installEventFilter(self)
        view.installEventFilter(self)
        model.opened.connect(self._document_opened)
        self.settings.changed.connect(self._settings_changed)

    # ---------------------------------------------------------------------------------------------- tools

    def set_tool(self, name: str | None) -> None:
        tool = self.tools[name] if name else None
        if tool is self.tool:
            return
        if self.tool is not None:
            self.tool.deactivate()
        self.tool = tool
        viewport = self.view.viewport()
        if tool is None:
            if self.view.dragMode() == QGraphicsView.DragMode.ScrollHandDrag:
                viewport.setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                viewport.unsetCursor()
        else:
            # Installing again puts our filter first, ahead of the keypoint tool's: a paint tool takes the left
            # button before a press on a keypoint could start a drag.
            viewport.installEventFilter(self)
            self.view.installEventFilter(self)
            tool.activate()
            viewport.setCursor(tool.cursor)
        self.scene.set_edit_layer(self.settings.layer if tool else None)
        for tool_name, action in self._actions.items():
            action.setChecked(tool_name == name)
        self.tool_changed.emit(name or "")

    def register(self, registry: ActionRegistry) -> None:
        """The paint actions: one per tool (checkable, pressing the active tool's key again leaves paint mode)
        and the brush size keys."""
        group = QActionGroup(self)
        group.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        for name, text, key in TOOL_ACTIONS:
            action = registry.add(
                ActionSpec(f"paint_{name}", text, "&Paint", key, toolbar=True, checkable=True),
                lambda checked, name=name: self.set_tool(name if checked else None),
            )
            group.addAction(action)
            self._actions[name] = action
        registry.add(ActionSpec("brush_smaller", "Brush s&maller", "&Paint", "["), lambda: self.settings.grow(-1))
        registry.add(ActionSpec("brush_bigger", "Brush b&igger", "&Paint", "]"), lambda: self.settings.grow(1))

    # ---------------------------------------------------------------------------------------------- editing

    def document(self, gesture: object, create: bool = True) -> Annotation | None:
        """The document to paint on, with the painted layer created (in the gesture's step) if it has none."""
        entry = self.model.current
        if entry is None and create and self.new_document is not None:
            self._creating = True  # the document opened now is the one this stroke paints on
            try:
                entry = self.new_document()
            finally:
                self._creating = False
        if entry is None:
            self.message.emit("Nothing to paint on: open an image first")
            return None
        doc = entry.doc
        layer = self.settings.layer
        if getattr(doc, layer) is None:
            if not create:
                return None  # erasing where there is no layer changes nothing
            self.model.push(CreateLayer(layer, gesture=gesture))
        return doc

    def layer(self, doc: Annotation):
        return getattr(doc, self.settings.layer)

    @staticmethod
    def layer_shape(doc: Annotation) -> tuple[int, int]:
        return doc.height, doc.width

    def paint(self, doc: Annotation, y0: int, x0: int, mask, value, gesture: object, label: str) -> None:
        edit = paint_region(doc, self.settings.layer, y0, x0, mask, value, self.settings.lock(), gesture, label)
        if edit is not None:
            self.model.push(edit)

    # ---------------------------------------------------------------------------------------------- events

    def eventFilter(self, obj, event) -> bool:
        tool = self.tool
        if tool is None:
            return False
        kind = event.type()
        if obj is self._viewport:
            if kind in MOUSE_EVENTS:
                return self._mouse(tool, kind, event)
            if kind == QEvent.Type.Wheel and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                steps = event.angleDelta().y() / 120.0
                if steps:
                    self.settings.grow(steps)
                return True
            if kind == QEvent.Type.Leave and isinstance(tool, BrushTool):
                tool.outline.setVisible(False)
        elif obj is self.view and kind in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            if tool.handles_key(event.key()):
                if kind == QEvent.Type.KeyPress:
                    tool.key(event.key())
                event.accept()
                return True
        return False

    def _mouse(self, tool: PaintTool, kind, event) -> bool:
        pos = QPointF(self.view.mapToScene(event.position().toPoint()))
        if kind == QEvent.Type.MouseMove:
            tool.hover(pos)
            if event.buttons() & Qt.MouseButton.LeftButton:
                tool.move(pos)
                return True
            return False
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        if kind == QEvent.Type.MouseButtonPress:
            tool.press(pos)
        elif kind == QEvent.Type.MouseButtonRelease:
            tool.release(pos)
        else:
            tool.double_click(pos)
        return True

    def _document_opened(self, _entry) -> None:
        # A stroke or polygon in progress belonged to the previous image.
        if self.tool is not None and not self._creating:
            self.tool.deactivate()
            self.tool.activate()

    def _settings_changed(self) -> None:
        if self.tool is not None:
            self.scene.set_edit_layer(self.settings.layer)
