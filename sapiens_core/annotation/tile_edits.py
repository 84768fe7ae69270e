"""Painting edits: the touched tiles of a layer, before and after, and creating a layer.

A stroke could keep one bounding rectangle of old and new values, but merging the dabs of a long stroke into it
re-allocates that rectangle on every dab: a diagonal stroke across a 4000x3000 map costs more per dab the longer
it gets and ends holding three bytes per pixel of a rectangle as large as the map (more than a full-map
snapshot). ``TilePatch`` keeps only the TILE x TILE tiles the stroke touched, each as it was before the stroke
and after it: a dab costs the same at the end of a stroke as at its start.

Whole tiles can be stored and restored because the history is linear: when a step is undone, the document is
exactly as that step left it, so writing back a tile's "before" undoes only this step.

Every painted pixel is also marked in the layer's human mask (``Annotation.part_map_human`` /
``foreground_human``, created on the first stroke): a model's re-run keeps those pixels (``merge_keep_human``).
The mask's tiles are kept and restored with the layer's, so undo removes the mark with the paint.
"""

from __future__ import annotations

import numpy as np

from .document import HUMAN_LAYERS, Annotation
from .edits import Change, Edit

__all__ = [
    "TILE",
    "TilePatch",
    "CreateLayer",
    "paint_region",
    "paint_mask",
    "PAINTABLE_LAYERS",
    "DEFAULT_CLASS_SCHEMA",
]

TILE = 64
PAINTABLE_LAYERS = {"part_map": np.uint8, "foreground": np.bool_}  # the per-pixel labels a person paints
DEFAULT_CLASS_SCHEMA = "sapiens_28"

Rect = tuple[int, int, int, int]  # (y0, x0, y1, x1)


def _layer(doc: Annotation, name: str) -> np.ndarray:
    array = getattr(doc, name)
    if array is None:
        raise ValueError(f"the document has no {name} layer to paint on")
    return array


def _unpack(bits: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return np.unpackbits(bits, count=shape[0] * shape[1]).reshape(shape[:2]).view(bool)


def _union(a: Rect, b: Rect) -> Rect:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


class TilePatch(Edit):
    """``value`` painted where ``mask`` (placed at ``y0, x0``) is set; stored as the touched tiles."""

    def __init__(self, layer: str, y0: int, x0: int, mask: np.ndarray, value, gesture: object = None, label="paint"):
        if layer not in PAINTABLE_LAYERS:
            raise ValueError(f"layer {layer!r} cannot be painted (paintable: {', '.join(PAINTABLE_LAYERS)})")
        mask = np.asarray(mask, bool)
        self.layer, self.gesture, self.label = layer, gesture, label
        self.human = HUMAN_LAYERS[layer]
        self.rect: Rect = (int(y0), int(x0), int(y0) + mask.shape[0], int(x0) + mask.shape[1])
        self._pending: tuple[np.ndarray, object] | None = (mask, value)  # until the first apply
        # (row, col) -> (before, after) of the layer's tile and of its human mask's tile (bit-packed: 1/8 byte a pixel)
        self.tiles: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        self.created_human = False  # this step created the human mask: undo removes it

    @staticmethod
    def _slice(array: np.ndarray, key: tuple[int, int]) -> tuple[slice, slice]:
        ty, tx = key
        return slice(ty * TILE, min((ty + 1) * TILE, array.shape[0])), slice(
            tx * TILE, min((tx + 1) * TILE, array.shape[1])
        )

    def _human_mask(self, doc: Annotation, array: np.ndarray) -> np.ndarray:
        human = getattr(doc, self.human)
        if human is None:
            human = np.zeros(array.shape[:2], bool)
            setattr(doc, self.human, human)
            self.created_human = True
        return human

    def apply(self, doc: Annotation) -> Change:
        array = _layer(doc, self.layer)
        if self._pending is None:
            human = self._human_mask(doc, array) if self.created_human else getattr(doc, self.human)
            for key, (_, after, _, human_after) in self.tiles.items():
                array[self._slice(array, key)] = after
                human[self._slice(array, key)] = _unpack(human_after, after.shape)
            return Change(layers={self.layer: self.rect})
        mask, value = self._pending
        y0, x0, y1, x1 = self.rect
        if y0 < 0 or x0 < 0 or y1 > array.shape[0] or x1 > array.shape[1]:
            raise IndexError(f"the painted region {self.rect} lies outside the {self.layer} layer")
        human = self._human_mask(doc, array)
        for ty in range(y0 // TILE, (y1 - 1) // TILE + 1):
            for tx in range(x0 // TILE, (x1 - 1) // TILE + 1):
                rows, cols = self._slice(array, (ty, tx))
                # The part of the mask inside this tile, in mask coordinates.
                r0, r1 = max(rows.start, y0) - y0, min(rows.stop, y1) - y0
                c0, c1 = max(cols.start, x0) - x0, min(cols.stop, x1) - x0
                part = mask[r0:r1, c0:c1]
                if not part.any():
                    continue
                inside = (
                    slice(r0 + y0 - rows.start, r1 + y0 - rows.start),
                    slice(c0 + x0 - cols.start, c1 + x0 - cols.start),
                )
                tile, human_tile = array[rows, cols], human[rows, cols]
                before, human_before = tile.copy(), human_tile.copy()
                tile[inside][part] = value
                human_tile[inside][part] = True
                self.tiles[(ty, tx)] = (before, tile.copy(), np.packbits(human_before), np.packbits(human_tile))
        self._pending = None
        return Change(layers={self.layer: self.rect})

    def revert(self, doc: Annotation) -> Change:
        array = _layer(doc, self.layer)
        human = getattr(doc, self.human)
        for key, (before, _, human_before, _) in self.tiles.items():
            array[self._slice(array, key)] = before
            human[self._slice(array, key)] = _unpack(human_before, before.shape)
        if self.created_human:
            setattr(doc, self.human, None)
        return Change(layers={self.layer: self.rect})

    def merge(self, other: Edit) -> bool:
        if not (
            isinstance(other, TilePatch)
            and self.gesture is not None
            and other.gesture == self.gesture
            and other.layer == self.layer
            and other._pending is None
        ):
            return False
        # A tile both touched: ours is the older "before", the other's the newer "after".
        for key, (before, after, human_before, human_after) in other.tiles.items():
            mine = self.tiles.get(key)
            if mine is not None:
                before, human_before = mine[0], mine[2]
            self.tiles[key] = (before, after, human_before, human_after)
        self.rect = _union(self.rect, other.rect)
        self.created_human |= other.created_human
        return True

    @property
    def nbytes(self) -> int:
        pending = self._pending[0].nbytes if self._pending is not None else 0
        return 256 + pending + sum(64 + sum(t.nbytes for t in tiles) for tiles in self.tiles.values())


class CreateLayer(Edit):
    """A document without a part map (or person mask) gets an empty one: all background (class 0 / False).

    The first stroke painted onto it shares its gesture and merges into this step, so undoing that stroke also
    removes the layer it created."""

    def __init__(self, layer: str, class_schema: str = DEFAULT_CLASS_SCHEMA, gesture: object = None):
        if layer not in PAINTABLE_LAYERS:
            raise ValueError(f"layer {layer!r} cannot be created for painting")
        self.layer, self.class_schema, self.gesture = layer, class_schema, gesture
        self.label = "new body-part map" if layer == "part_map" else "new person mask"
        self.paint: TilePatch | None = None
        self._old_schema: str | None = None

    def apply(self, doc: Annotation) -> Change:
        if getattr(doc, self.layer) is not None:
            raise ValueError(f"the document has a {self.layer} layer already")
        setattr(doc, self.layer, np.zeros((doc.height, doc.width), PAINTABLE_LAYERS[self.layer]))
        self._old_schema = doc.class_schema
        if self.layer == "part_map" and doc.class_schema is None:
            doc.class_schema = self.class_schema  # class ids mean nothing without their names and colours
        if self.paint is not None:
            self.paint.apply(doc)
        return Change(layers={self.layer: (0, 0, doc.height, doc.width)}, document=True)

    def revert(self, doc: Annotation) -> Change:
        setattr(doc, self.layer, None)
        setattr(doc, HUMAN_LAYERS[self.layer], None)  # marks of the first stroke, painted onto this layer
        doc.class_schema = self._old_schema
        return Change(layers={self.layer: (0, 0, doc.height, doc.width)}, document=True)

    def merge(self, other: Edit) -> bool:
        if not (isinstance(other, TilePatch) and self.gesture is not None and other.gesture == self.gesture):
            return False
        if other.layer != self.layer:
            return False
        if self.paint is None:
            self.paint = other
            self.label = f"{other.label} (new {'body-part map' if self.layer == 'part_map' else 'person mask'})"
            return True
        return self.paint.merge(other)

    @property
    def nbytes(self) -> int:
        return 256 + (self.paint.nbytes if self.paint is not None else 0)


def paint_region(
    doc: Annotation,
    layer: str,
    y0: int,
    x0: int,
    mask: np.ndarray,
    value,
    only_over: int | None = None,
    gesture: object = None,
    label: str = "paint",
) -> TilePatch | None:
    """Paint ``value`` where ``mask`` (a rectangle of the layer at row ``y0``, column ``x0``) is set, and only
    over pixels of class ``only_over`` when given ("paint only over class X"). None when no pixel would change
    (a dab over pixels already painted), so a stroke's step holds only what it changed."""
    array = _layer(doc, layer)
    mask = np.asarray(mask, bool)
    h, w = mask.shape
    if y0 < 0 or x0 < 0 or y0 + h > array.shape[0] or x0 + w > array.shape[1]:
        raise IndexError(f"the region at ({y0}, {x0}) of {w}x{h} lies outside the {layer} layer")
    target = array[y0 : y0 + h, x0 : x0 + w]
    changed = mask & (target != value)
    if only_over is not None:
        changed &= target == only_over
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    if not rows.size:
        return None
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return TilePatch(layer, y0 + r0, x0 + c0, changed[r0:r1, c0:c1], value, gesture, label)


def paint_mask(
    doc: Annotation, layer: str, mask: np.ndarray, value, only_over: int | None = None, gesture: object = None
) -> TilePatch | None:
    """``paint_region`` for a mask as large as the layer (a filled polygon, a scripted selection)."""
    array = _layer(doc, layer)
    mask = np.asarray(mask, bool)
    if mask.shape != array.shape[:2]:
        raise ValueError(f"the mask is {mask.shape}, the {layer} layer {array.shape[:2]}")
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not rows.size:
        return None
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return paint_region(doc, layer, int(y0), int(x0), mask[y0:y1, x0:x1], value, only_over, gesture)
