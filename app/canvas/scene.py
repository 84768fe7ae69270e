"""The canvas scene: the image, the dense layers (part map, depth, normals, person mask) and one
skeleton item per person, all driven by one LayerStyle."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPen, QPixmap
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPixmapItem, QGraphicsScene

from sapiens_core.annotation import Annotation
from sapiens_core.schema import DISPLAY_GROUPS, class_schema, keypoint_schema
from sapiens_core.tasks import depth_to_colormap, normal_to_rgb

from ..qimage import color_table, indexed_qimage, rgb_to_qimage, rgba_to_qimage
from .skeleton_item import SkeletonItem

PERSON_MASK_RGBA = (0, 200, 255, 255)
MARKER_RADIUS = 9  # screen pixels


@dataclass
class LayerStyle:
    """What the user chose to see. Persisted by the main window; applied by the scene."""

    keypoints: bool = True
    groups: dict[str, bool] = field(default_factory=lambda: {g: True for g in DISPLAY_GROUPS})
    threshold: float = 0.3
    hidden_persons: set[int] = field(default_factory=set)
    parts: bool = True
    parts_opacity: float = 0.5
    hidden_classes: set[int] = field(default_factory=set)
    depth: bool = False
    depth_opacity: float = 0.8
    normal: bool = False
    normal_opacity: float = 0.8
    person_mask: bool = True
    person_mask_opacity: float = 0.3


class CanvasScene(QGraphicsScene):
    keypoint_hovered = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.style = LayerStyle()
        self.annotation: Annotation | None = None
        self.image_item = QGraphicsPixmapItem()
        self.image_item.setZValue(0)
        self.addItem(self.image_item)
        self.layer_items: dict[str, QGraphicsPixmapItem] = {}
        for z, name in enumerate(("person_mask", "parts", "depth", "normal"), start=1):
            item = QGraphicsPixmapItem()
            item.setZValue(z)
            item.setVisible(False)
            self.addItem(item)
            self.layer_items[name] = item
        self.skeletons: list[SkeletonItem] = []
        # A ring marking a pixel picked elsewhere (a point clicked in the 3D view); cosmetic so it stays
        # the same size on screen at any zoom.
        self.marker = QGraphicsEllipseItem(-MARKER_RADIUS, -MARKER_RADIUS, 2 * MARKER_RADIUS, 2 * MARKER_RADIUS)
        self.marker.setFlag(QGraphicsEllipseItem.GraphicsItemFlag.ItemIgnoresTransformations)
        pen = QPen(Qt.GlobalColor.yellow, 2)
        pen.setCosmetic(True)
        self.marker.setPen(pen)
        self.marker.setZValue(20)
        self.marker.setVisible(False)
        self.addItem(self.marker)
        self._parts_image = None  # the indexed part map, kept to recolour it cheaply
        self._parts_colors = np.zeros((0, 3), np.uint8)
        self._applied_hidden: set[int] = set()

    # ---- content
    def set_image(self, rgb: np.ndarray) -> None:
        self.image_item.setPixmap(QPixmap.fromImage(rgb_to_qimage(rgb)))
        h, w = rgb.shape[:2]
        self.setSceneRect(0, 0, w, h)
        self.marker.setVisible(False)  # it marked a pixel of the previous image

    def set_annotation(self, doc: Annotation | None) -> None:
        """Show ``doc``'s layers. The scene renders the document; it never owns the labels."""
        self.annotation = doc
        for item in self.skeletons:
            self.removeItem(item)
        self.skeletons = []
        for item in self.layer_items.values():
            item.setPixmap(QPixmap())
        self._parts_image = None
        if doc is None:
            return
        w, h = doc.image_size
        if doc.part_map is not None and doc.class_schema:
            self._parts_colors = class_schema(doc.class_schema).colors
            self._parts_image = indexed_qimage(doc.part_map, self._parts_colors, self.style.hidden_classes)
            self._applied_hidden = set(self.style.hidden_classes)
            self.layer_items["parts"].setPixmap(QPixmap.fromImage(self._parts_image))
        if doc.depth is not None:
            self.layer_items["depth"].setPixmap(QPixmap.fromImage(rgb_to_qimage(depth_to_colormap(doc.depth))))
        if doc.normal is not None:
            self.layer_items["normal"].setPixmap(QPixmap.fromImage(rgb_to_qimage(normal_to_rgb(doc.normal))))
        if doc.foreground is not None and doc.part_map is None:
            rgba = np.zeros((h, w, 4), np.uint8)
            rgba[doc.foreground] = PERSON_MASK_RGBA
            self.layer_items["person_mask"].setPixmap(QPixmap.fromImage(rgba_to_qimage(rgba)))
        if doc.keypoint_schema and doc.persons:
            schema = keypoint_schema(doc.keypoint_schema)
            radius = max(1.5, float(np.hypot(w, h)) / 400.0)
            for person in doc.persons:
                item = SkeletonItem(person.keypoints, person.visibility, schema, radius, person.id, person.source)
                item.setZValue(10)
                self.addItem(item)
                self.skeletons.append(item)
        self.apply_style()

    def show_marker(self, x: float | None, y: float | None) -> None:
        """Ring the pixel (x, y) (its centre); None hides the ring."""
        if x is None or y is None:
            self.marker.setVisible(False)
            return
        self.marker.setPos(x + 0.5, y + 0.5)
        self.marker.setVisible(True)

    def refresh_person(self, index: int) -> None:
        """Re-read one person's points from the document after an edit; the other persons' items stay as
        they are (restyling all of them cost a frame's budget while dragging one point among 10 persons)."""
        person = self.annotation.persons[index]
        item = self.skeletons[index]
        item.set_keypoints(person.keypoints, person.visibility, person.source)
        self._style_skeleton(item)

    # ---- style
    def apply_style(self, style: LayerStyle | None = None) -> None:
        if style is not None:
            self.style = style
        s = self.style
        for name, (shown, opacity) in {
            "parts": (s.parts, s.parts_opacity),
            "depth": (s.depth, s.depth_opacity),
            "normal": (s.normal, s.normal_opacity),
            "person_mask": (s.person_mask, s.person_mask_opacity),
        }.items():
            item = self.layer_items[name]
            item.setVisible(shown and not item.pixmap().isNull())
            item.setOpacity(opacity)
        if self._parts_image is not None and s.hidden_classes != self._applied_hidden:
            # Per-class hiding only rewrites the 256-entry colour table, never the pixels.
            self._parts_image.setColorTable(color_table(self._parts_colors, s.hidden_classes))
            self.layer_items["parts"].setPixmap(QPixmap.fromImage(self._parts_image))
            self._applied_hidden = set(s.hidden_classes)
        for item in self.skeletons:
            self._style_skeleton(item)

    def _style_skeleton(self, item: SkeletonItem) -> None:
        s = self.style
        mask = (
            item.schema.group_mask(*[g for g, on in s.groups.items() if on])
            if any(s.groups.values())
            else np.zeros(len(item.schema), bool)
        )
        item.set_style(s.threshold, mask)
        item.setVisible(s.keypoints and item.person_id not in s.hidden_persons)
