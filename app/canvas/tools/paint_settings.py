"""What the paint tools paint with: the target layer, the current class, the brush size and the lock.

Shared by the tools, the class picker panel and the size keys, so each shows and changes the same state."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

MIN_SIZE, MAX_SIZE = 1.0, 1000.0
SIZE_STEP = 1.25  # one wheel notch or one [ / ] press: the size changes by a quarter


class PaintSettings(QObject):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.layer = "part_map"  # or "foreground": the person mask
        self.current_class = 1  # the class the brush, flood fill and polygon paint (0 is background)
        self.only_over: int | None = None  # "paint only over class X"; None: over anything
        self.size = 20.0  # brush diameter in image pixels

    def set_layer(self, layer: str) -> None:
        if layer not in ("part_map", "foreground"):
            raise ValueError(f"cannot paint the {layer!r} layer")
        if layer != self.layer:
            self.layer = layer
            self.changed.emit()

    def set_class(self, class_id: int) -> None:
        if int(class_id) != self.current_class:
            self.current_class = int(class_id)
            self.changed.emit()

    def set_only_over(self, class_id: int | None) -> None:
        class_id = None if class_id is None else int(class_id)
        if class_id != self.only_over:
            self.only_over = class_id
            self.changed.emit()

    def set_size(self, size: float) -> None:
        size = float(min(MAX_SIZE, max(MIN_SIZE, size)))
        if size != self.size:
            self.size = size
            self.changed.emit()

    def grow(self, steps: float = 1) -> None:
        """Bigger by SIZE_STEP per step (negative: smaller); at least one pixel per step so small brushes move."""
        target = self.size * SIZE_STEP**steps
        if abs(target - self.size) < abs(steps):
            target = self.size + steps
        self.set_size(round(target, 2))

    def value(self, erase: bool):
        """What a dab writes: the current class (or True on the person mask); background when erasing."""
        if self.layer == "foreground":
            return not erase
        return 0 if erase else self.current_class

    def lock(self) -> int | None:
        """The lock applies to class ids; the person mask has none."""
        return self.only_over if self.layer == "part_map" else None
