"""The canvas scene: the image, the dense layers (matte, part map, depth, normals, person mask) and one
skeleton item per person, all driven by one LayerStyle."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QImage, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsPixmapItem, QGraphicsScene

from sapiens_core.annotation import Annotation
from sapiens_core.schema import DISPLAY_GROUPS, class_schema, keypoint_schema
from sapiens_core.tasks import depth_to_colormap, normal_to_rgb

from ..qimage import color_table, rgb_to_qimage
from .person_boxes import PersonBoxesItem
from .skeleton_item import SkeletonItem
from .tiled_layer import TiledLayerItem

PERSON_MASK_RGBA = (0, 200, 255, 255)
# The person mask as an indexed layer: False transparent, True the mask colour.
PERSON_MASK_TABLE = [QColor(0, 0, 0, 0).rgba(), QColor(*PERSON_MASK_RGBA).rgba()] + [0] * 254
MARKER_RADIUS = 9  # screen pixels
# The matte covers what it calls background with a flat backdrop, so the cut-out (hair, soft edges) shows as a
# compositor would show it; alpha is the index of an 8-bit image whose table maps alpha a to the backdrop at opacity
# 255 - a: no per-pixel conversion, and the layer's opacity slider fades the backdrop as a whole.
MATTE_BACKDROP_RGB = (24, 24, 28)
MATTE_TABLE = [QColor(*MATTE_BACKDROP_RGB, 255 - a).rgba() for a in range(256)]


@dataclass
class LayerStyle:
    """What the user chose to see. Persisted by the main window; applied by the scene."""

    keypoints: bool = True
    groups: dict[str, bool] = field(default_factory=lambda: {g: True for g in DISPLAY_GROUPS})
    threshold: float = 0.3
    hidden_persons: set[int] = field(default_factory=set)
    boxes: bool = True  # every person's box with its ID
    parts: bool = True
    parts_opacity: float = 0.5
    hidden_classes: set[int] = field(default_factory=set)
    depth: bool = False
    depth_opacity: float = 0.8
    normal: bool = False
    normal_opacity: float = 0.8
    person_mask: bool = True
    person_mask_opacity: float = 0.3
    matte: bool = True  # shown where a document has one: a matting run is asked for to be seen
    matte_opacity: float = 0.85


class CanvasScene(QGraphicsScene):
    keypoint_hovered = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.style = LayerStyle()
        self.annotation: Annotation | None = None
        self.image_item = QGraphicsPixmapItem()
        self.image_item.setZValue(0)
        self.addItem(self.image_item)
        self.layer_items: dict[str, QGraphicsItem] = {}
        # The matte lowest: it hides the background, and the labels stay readable over it.
        for z, name in enumerate(("matte", "person_mask", "parts", "depth", "normal"), start=1):
            # The labels a person paints are tiled (a dab repaints its tiles); depth and normals are one image.
            item = TiledLayerItem() if name in ("person_mask", "parts") else QGraphicsPixmapItem()
            item.setZValue(z)
            item.setVisible(False)
            self.addItem(item)
            self.layer_items[name] = item
        self.skeletons: list[SkeletonItem] = []
        self.boxes = PersonBoxesItem()
        self.addItem(self.boxes)
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
        self._parts_colors = np.zeros((0, 3), np.uint8)
        self._parts_schema: str | None = None
        self._applied_hidden: set[int] = set()
        self.edit_layer: str | None = None  # the layer a paint tool edits: shown even where it is hidden by default

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
            if isinstance(item, TiledLayerItem):
                item.set_array(None)
            else:
                item.setPixmap(QPixmap())
        self.refresh_boxes()
        if doc is None:
            return
        w, h = doc.image_size
        self._show_labels("part_map")
        self._show_labels("foreground")
        if doc.depth is not None:
            self.layer_items["depth"].setPixmap(QPixmap.fromImage(rgb_to_qimage(depth_to_colormap(doc.depth))))
        if doc.normal is not None:
            self.layer_items["normal"].setPixmap(QPixmap.fromImage(rgb_to_qimage(normal_to_rgb(doc.normal))))
        if doc.alpha is not None:
            self.layer_items["matte"].setPixmap(QPixmap.fromImage(_matte_qimage(doc.alpha)))
        if doc.keypoint_schema and doc.persons:
            schema = keypoint_schema(doc.keypoint_schema)
            radius = max(1.5, float(np.hypot(w, h)) / 400.0)
            for person in doc.persons:
                item = SkeletonItem(person.keypoints, person.visibility, schema, radius, person.id, person.source)
                item.setZValue(10)
                self.addItem(item)
                self.skeletons.append(item)
        self.apply_style()

    def _show_labels(self, layer: str) -> None:
        """(Re)attach the tiled item of ``layer`` ("part_map" or "foreground") to the document's array."""
        doc = self.annotation
        array = getattr(doc, layer) if doc is not None else None
        if layer == "foreground":
            self.layer_items["person_mask"].set_array(array, PERSON_MASK_TABLE)
            return
        if array is None or not doc.class_schema:
            self.layer_items["parts"].set_array(None)
            return
        if doc.class_schema != self._parts_schema:
            self._parts_colors, self._parts_schema = class_schema(doc.class_schema).colors, doc.class_schema
        self._applied_hidden = set(self.style.hidden_classes)
        self.layer_items["parts"].set_array(array, color_table(self._parts_colors, self._applied_hidden))

    def refresh_layers(self, layers: dict[str, tuple[int, int, int, int]]) -> None:
        """Labels changed in these rectangles (a ``Change.layers``): redraw the tiles they touch. A layer
        created, removed or replaced (a model's output applied) is attached again."""
        doc = self.annotation
        for layer, rect in layers.items():
            name = {"part_map": "parts", "foreground": "person_mask"}.get(layer)
            if name is None:
                continue
            item = self.layer_items[name]
            array = getattr(doc, layer) if doc is not None else None
            if array is not item.array or (layer == "part_map" and doc.class_schema != self._parts_schema):
                self._show_labels(layer)
            else:
                item.invalidate(rect)
        self._style_layers()

    def set_edit_layer(self, layer: str | None) -> None:
        """A paint tool edits ``layer``: the person mask shows while it is painted even over a part map."""
        self.edit_layer = layer
        self._style_layers()

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

    def refresh_boxes(self) -> None:
        """Re-read every person's box (a box edited, persons added, removed or renumbered)."""
        self.boxes.set_persons(self.annotation, self.style.hidden_persons)

    # ---- style
    def apply_style(self, style: LayerStyle | None = None) -> None:
        if style is not None:
            self.style = style
        self._style_layers()
        for item in self.skeletons:
            self._style_skeleton(item)
        self.boxes.setVisible(self.style.boxes)
        self.refresh_boxes()

    def _style_layers(self) -> None:
        s = self.style
        doc = self.annotation
        # The part map already outlines the person; the mask shows over it only while it is being painted.
        mask_shown = s.person_mask and (doc is None or doc.part_map is None or self.edit_layer == "foreground")
        for name, (shown, opacity) in {
            "parts": (s.parts, s.parts_opacity),
            "depth": (s.depth, s.depth_opacity),
            "normal": (s.normal, s.normal_opacity),
            "person_mask": (mask_shown, s.person_mask_opacity),
            "matte": (s.matte, s.matte_opacity),
        }.items():
            item = self.layer_items[name]
            empty = item.is_empty() if isinstance(item, TiledLayerItem) else item.pixmap().isNull()
            item.setVisible(shown and not empty)
            item.setOpacity(opacity)
        parts = self.layer_items["parts"]
        if not parts.is_empty() and s.hidden_classes != self._applied_hidden:
            # Per-class hiding only rewrites the 256-entry colour table, never the pixels.
            parts.set_table(color_table(self._parts_colors, s.hidden_classes))
            self._applied_hidden = set(s.hidden_classes)

    def _style_skeleton(self, item: SkeletonItem) -> None:
        s = self.style
        mask = (
            item.schema.group_mask(*[g for g, on in s.groups.items() if on])
            if any(s.groups.values())
            else np.zeros(len(item.schema), bool)
        )
        item.set_style(s.threshold, mask)
        item.setVisible(s.keypoints and item.person_id not in s.hidden_persons)


def _matte_qimage(alpha: np.ndarray) -> QImage:
    alpha = np.ascontiguousarray(alpha, dtype=np.uint8)
    h, w = alpha.shape
    image = QImage(alpha.data, w, h, alpha.strides[0], QImage.Format.Format_Indexed8).copy()
    image.setColorTable(MATTE_TABLE)
    return image
