"""Pre- and post-processing of the Sapiens task models (spec §2): numpy/torch on the CPU, no model code, no Qt."""

from .crop import (
    BOX_PADDING,
    CROP_SIZE,
    box_to_center_scale,
    crop_person,
    crop_to_image,
    image_to_crop,
    udp_warp_matrix,
)
from .dense import (
    depth_to_colormap,
    logits_to_classes,
    normal_to_rgb,
    postprocess_depth,
    postprocess_normal,
    upsample_bilinear,
)
from .heatmap import decode_heatmaps, decode_heatmaps_reference, keypoints_to_image
from .pose import decode_pose, flip_back_heatmaps, flip_images, merge_flip_test
from .preprocess import normalize, resize_for_model

__all__ = [
    "BOX_PADDING",
    "CROP_SIZE",
    "box_to_center_scale",
    "crop_person",
    "crop_to_image",
    "image_to_crop",
    "udp_warp_matrix",
    "depth_to_colormap",
    "logits_to_classes",
    "normal_to_rgb",
    "postprocess_depth",
    "postprocess_normal",
    "upsample_bilinear",
    "decode_heatmaps",
    "decode_heatmaps_reference",
    "keypoints_to_image",
    "decode_pose",
    "flip_back_heatmaps",
    "flip_images",
    "merge_flip_test",
    "normalize",
    "resize_for_model",
]
