"""Draw an annotation over its image, as the Sapiens demos do: blended part colours, skeleton links, dots.

Everything stays in RGB: the schema colours are RGB and OpenCV draws the given triple into whatever array it
gets, so there is no BGR swap anywhere (the demos swap only because they write with ``cv2.imwrite``).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..annotation import Annotation, Person
from ..annotation.display import shown_keypoints, shown_person_links
from ..schema import ClassSchema, KeypointSchema, keypoint_schema_for_count
from ..schema import class_schema as find_class_schema
from ..schema import keypoint_schema as find_keypoint_schema

__all__ = ["render_overlay", "default_radius_thickness"]

# The demo scripts' RADIUS=6, LINE_THICKNESS=3 look right at about this many pixels on the long side.
_REFERENCE_SIDE = 1024
_REFERENCE_RADIUS, _REFERENCE_THICKNESS = 6, 3
_FALLBACK_POINT_COLOR = (51, 153, 255)  # the schemas' body-point blue, for points of an unknown layout
_SHIFT = 4  # OpenCV sub-pixel bits: coordinates are drawn to 1/16 pixel
_COORD_LIMIT = 1 << 20  # far-off points are clipped here so the fixed-point maths cannot overflow


def default_radius_thickness(width: int, height: int) -> tuple[int, int]:
    scale = max(width, height) / _REFERENCE_SIDE
    return max(1, round(_REFERENCE_RADIUS * scale)), max(1, round(_REFERENCE_THICKNESS * scale))


def render_overlay(
    image_rgb: np.ndarray,
    annotation: Annotation,
    keypoint_schema: KeypointSchema | None = None,
    class_schema: ClassSchema | None = None,
    kpt_threshold: float = 0.3,
    seg_opacity: float = 0.5,
    radius: int | None = None,
    thickness: int | None = None,
) -> np.ndarray:
    """A new (H, W, 3) uint8 RGB image: ``image_rgb`` with the annotation drawn on it.

    The part map is blended as ``image * (1 - seg_opacity) + colour * seg_opacity`` (background included, as
    in the demos). Which keypoints and links are drawn is ``sapiens_core.annotation.display``'s rule, the
    canvas's too: a model-made point scoring at least ``kpt_threshold``, a link when both ends score above it,
    human-made points whatever their score. ``image_rgb`` may be a resized copy of the annotated image (a
    preview): coordinates and the part map are scaled to it.
    """
    image = np.asarray(image_rgb)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image_rgb must be an (H, W, 3) uint8 array, not {image.dtype} {image.shape}")
    h, w = image.shape[:2]
    if radius is None or thickness is None:
        auto_radius, auto_thickness = default_radius_thickness(w, h)
        radius = auto_radius if radius is None else radius
        thickness = auto_thickness if thickness is None else thickness
    if annotation.part_map is not None and seg_opacity > 0:
        canvas = _blend_part_map(image, annotation, class_schema, seg_opacity)
    else:
        canvas = image.copy()
    scale = np.array([w / annotation.width, h / annotation.height], np.float64)
    schema = keypoint_schema or _keypoint_schema_of(annotation)
    for person in annotation.persons:
        _draw_links(canvas, person, scale, schema, kpt_threshold, thickness)
    for person in annotation.persons:
        _draw_points(canvas, person, scale, schema, kpt_threshold, radius)
    return canvas


# -------------------------------------------------------------------------------------------------- layers


def _blend_part_map(
    image: np.ndarray, annotation: Annotation, class_schema: ClassSchema | None, opacity: float
) -> np.ndarray:
    part_map = annotation.part_map
    h, w = image.shape[:2]
    if part_map.shape != (h, w):
        part_map = cv2.resize(part_map, (w, h), interpolation=cv2.INTER_NEAREST)
    colors = _palette(class_schema, annotation)[part_map]
    opacity = float(min(max(opacity, 0.0), 1.0))
    return cv2.addWeighted(image, 1.0 - opacity, colors, opacity, 0.0)


def _palette(class_schema: ClassSchema | None, annotation: Annotation) -> np.ndarray:
    schema = class_schema
    if schema is None and annotation.class_schema:
        try:
            schema = find_class_schema(annotation.class_schema)
        except KeyError:
            schema = None
    if schema is not None:
        return schema.palette()
    # Unknown class set: stable, distinct-enough colours so the regions are still told apart.
    palette = np.random.default_rng(0).integers(0, 256, (256, 3), dtype=np.uint8)
    palette[0] = (50, 50, 50)
    return palette


def _keypoint_schema_of(annotation: Annotation) -> KeypointSchema | None:
    try:
        if annotation.keypoint_schema:
            return find_keypoint_schema(annotation.keypoint_schema)
        if annotation.persons:
            return keypoint_schema_for_count(annotation.persons[0].num_keypoints)
    except KeyError:
        pass
    return None


# -------------------------------------------------------------------------------------------------- persons


def _fixed_point(person: Person, scale: np.ndarray) -> np.ndarray:
    xy = np.nan_to_num(person.keypoints[:, :2].astype(np.float64) * scale)
    xy = np.clip(xy, -_COORD_LIMIT, _COORD_LIMIT)
    return np.round(xy * (1 << _SHIFT)).astype(np.int64)


def _draw_links(
    canvas: np.ndarray,
    person: Person,
    scale: np.ndarray,
    schema: KeypointSchema | None,
    threshold: float,
    thickness: int,
) -> None:
    if schema is None or person.num_keypoints != len(schema) or thickness <= 0:
        return
    points = _fixed_point(person, scale)
    shown = shown_person_links(person, threshold, schema.skeleton).tolist()
    for (a, b), color, drawn in zip(schema.skeleton.tolist(), schema.skeleton_colors.tolist(), shown):
        if drawn:
            cv2.line(
                canvas,
                tuple(points[a].tolist()),
                tuple(points[b].tolist()),
                tuple(color),
                int(thickness),
                cv2.LINE_AA,
                _SHIFT,
            )


def _draw_points(
    canvas: np.ndarray, person: Person, scale: np.ndarray, schema: KeypointSchema | None, threshold: float, radius: int
) -> None:
    if radius <= 0:
        return
    shown = shown_keypoints(person, threshold)
    points = _fixed_point(person, scale)
    has_colors = schema is not None and person.num_keypoints == len(schema)
    colors = schema.colors.tolist() if has_colors else None
    for k in np.flatnonzero(shown).tolist():
        color = tuple(colors[k]) if colors else _FALLBACK_POINT_COLOR
        cv2.circle(canvas, tuple(points[k].tolist()), int(radius) << _SHIFT, color, -1, cv2.LINE_AA, _SHIFT)
