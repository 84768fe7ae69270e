"""One scene item per person: all its keypoints and links painted in one paint() call.

308 points as 308 items would cost a scene-graph update each; one item per skeleton keeps 10 people
x 308 points smooth to pan and zoom. What paint() draws is prepared once, when the points or the style
change: the shown links as one line list per colour, the shown dots grouped by colour (one brush change
per colour). Hover picks the nearest shown point for a tooltip.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from sapiens_core.annotation.display import linkable_points, shown_links, shown_points
from sapiens_core.schema import KeypointSchema


class SkeletonItem(QGraphicsItem):
    def __init__(
        self,
        keypoints: np.ndarray,
        visibility: np.ndarray,
        schema: KeypointSchema,
        radius: float,
        person_id: int = 0,
        source: np.ndarray | None = None,
    ):
        super().__init__()
        self.schema = schema
        self.person_id = person_id
        self.radius = float(radius)
        self.threshold = 0.3
        self.group_mask = np.ones(len(schema), bool)
        # Points and links grouped by colour: one brush per point colour, one pen (and line list) per link colour.
        point_colors, point_color = np.unique(np.asarray(schema.colors).reshape(-1, 3), axis=0, return_inverse=True)
        link_colors, link_color = np.unique(
            np.asarray(schema.skeleton_colors).reshape(-1, 3), axis=0, return_inverse=True
        )
        self._point_color, self._link_color = point_color.reshape(-1), link_color.reshape(-1)  # index per point/link
        self._brushes = [QBrush(QColor(*map(int, c))) for c in point_colors]
        # Flat caps: a link is only drawn between two shown points, whose dots (4x the line width) cover its
        # ends, and antialiased round caps cost ten times as much to rasterise.
        self._link_pens = [
            QPen(QColor(*map(int, c)), max(1.0, radius * 0.5), Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap)
            for c in link_colors
        ]
        self._batches: tuple[list, list] | None = None  # (pen, lines) and (brush, centres) pairs; None = stale
        self.set_keypoints(keypoints, visibility, source)
        self.setAcceptHoverEvents(True)
        # Drawn once into a pixmap at the view's scale: while one point is dragged the other persons are copied,
        # not redrawn (3080 antialiased dots cost most of a frame). A pan keeps the pixmap; an edit or a zoom
        # redraws it.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    # ---- data
    def set_keypoints(self, keypoints: np.ndarray, visibility: np.ndarray, source: np.ndarray | None = None) -> None:
        self.prepareGeometryChange()
        self.keypoints = np.asarray(keypoints, np.float32)  # (K, 3) x, y, score
        self.visibility = np.asarray(visibility, np.uint8)
        self.source = None if source is None else np.asarray(source, np.uint8)  # None: all model-made
        self._update_shown()
        self.update()  # drops the cached pixmap even where the bounds stay the same

    def set_style(self, threshold: float, group_mask: np.ndarray) -> None:
        # The shown points, and so the bounds, change: Qt must be told first, or it keeps drawing and hovering
        # inside the old rectangle (an empty one leaves a person whose points a lower threshold shows undrawn).
        self.prepareGeometryChange()
        self.threshold = float(threshold)
        self.group_mask = np.asarray(group_mask, bool)
        self._update_shown()
        self.update()

    def _update_shown(self) -> None:
        # The overlay renderer's rule (sapiens_core.annotation.display), then the layers panel's groups.
        args = self.keypoints, self.visibility, self.source, self.threshold
        self.shown = shown_points(*args) & self.group_mask
        self._links_shown = shown_links(self.schema.skeleton, linkable_points(*args) & self.group_mask)
        self._batches = None
        pts = self.keypoints[self.shown, :2]
        pad = self.radius * 2
        if len(pts):
            lo, hi = pts.min(0) - pad, pts.max(0) + pad
            self._bounds = QRectF(float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1]))
        else:
            self._bounds = QRectF()

    # ---- painting
    def boundingRect(self) -> QRectF:
        return self._bounds

    def _build_batches(self) -> tuple[list, list]:
        kp, shown = self.keypoints, self.shown
        links: dict[int, list[QLineF]] = {}
        for (a, b), c, drawn in zip(self.schema.skeleton, self._link_color, self._links_shown):
            if drawn:
                links.setdefault(int(c), []).append(QLineF(kp[a, 0], kp[a, 1], kp[b, 0], kp[b, 1]))
        # Dots stay one drawEllipse each: the raster engine fills a lone antialiased ellipse fast, while one path
        # of many ellipses is rasterised over the whole area it spans (measured: 3.5x slower for 3080 dots).
        dots: dict[int, list[QPointF]] = {}
        for i in np.flatnonzero(shown):
            dots.setdefault(int(self._point_color[i]), []).append(QPointF(float(kp[i, 0]), float(kp[i, 1])))
        return (
            [(self._link_pens[c], lines) for c, lines in links.items()],
            [(self._brushes[c], centres) for c, centres in dots.items()],
        )

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        if self._batches is None:
            self._batches = self._build_batches()
        lines, dots = self._batches
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for pen, batch in lines:
            painter.setPen(pen)
            painter.drawLines(batch)
        painter.setPen(Qt.PenStyle.NoPen)
        r = self.radius
        draw = painter.drawEllipse
        for brush, centres in dots:
            painter.setBrush(brush)
            for centre in centres:
                draw(centre, r, r)

    # ---- picking
    def nearest(self, x: float, y: float, max_distance: float | None = None) -> int | None:
        """Index of the nearest shown keypoint within ``max_distance`` (default 2 radii) of (x, y)."""
        idx = np.flatnonzero(self.shown)
        if not len(idx):
            return None
        d = np.hypot(self.keypoints[idx, 0] - x, self.keypoints[idx, 1] - y)
        j = int(np.argmin(d))
        limit = self.radius * 2 if max_distance is None else max_distance
        return int(idx[j]) if d[j] <= limit else None

    def describe(self, index: int) -> str:
        return f"person {self.person_id}: {self.schema.names[index]} (#{index}) score {self.keypoints[index, 2]:.2f}"

    def hoverMoveEvent(self, event) -> None:
        pos = event.pos()
        i = self.nearest(pos.x(), pos.y())
        self.setToolTip(self.describe(i) if i is not None else "")
        scene = self.scene()
        if scene is not None and hasattr(scene, "keypoint_hovered"):
            scene.keypoint_hovered.emit(self.describe(i) if i is not None else "")
        super().hoverMoveEvent(event)

    def hoverLeaveEvent(self, event) -> None:
        # Hover moves only arrive inside the item's bounds (a few pixels around its points at 1:1): without
        # this, the status bar would keep naming the last point after the pointer has left the person.
        scene = self.scene()
        if scene is not None and hasattr(scene, "keypoint_hovered"):
            scene.keypoint_hovered.emit("")
        super().hoverLeaveEvent(event)
