"""Pose flip test and the heatmap -> image keypoint composition (spec §2.1 "Flip test").

Official config: ``flip_test=True, flip_mode='heatmap', shift_heatmap=False``: run the mirrored crop, mirror its
heatmaps back, swap left/right channels by the flip table, average. No 1-pixel shift: with UDP, column j of a
crop mirrors exactly onto column w-1-j (the crop is symmetric about its pixel centres), so none is needed.
Do not copy the lite demo's flip helper: it averages the raw flipped heatmaps without flipping or swapping.
Functions take numpy arrays or torch tensors and return the same kind.
"""

from __future__ import annotations

import numpy as np

from .crop import CROP_SIZE
from .heatmap import decode_heatmaps, keypoints_to_image


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def flip_images(batch):
    """Mirror a (B, 3, H, W) network input horizontally."""
    if _is_torch(batch):
        import torch

        return torch.flip(batch, dims=(-1,))
    return np.ascontiguousarray(np.asarray(batch)[..., ::-1])


def flip_back_heatmaps(heatmaps, flip_index):
    """Heatmaps of a mirrored input (N, K, h, w) -> heatmaps in the original's frame and channel order.

    Channel k of the result is channel ``flip_index[k]`` of the input, mirrored: what the network called the
    right wrist in the mirrored crop is the left wrist of the original.
    """
    flip_index = np.asarray(flip_index, dtype=np.int64)
    if heatmaps.shape[-3] != len(flip_index):
        raise ValueError(f"{heatmaps.shape[-3]} heatmap channels but a flip table of {len(flip_index)} points")
    if _is_torch(heatmaps):
        import torch

        index = torch.as_tensor(flip_index, device=heatmaps.device)
        return torch.flip(heatmaps.index_select(-3, index), dims=(-1,))
    return np.ascontiguousarray(np.asarray(heatmaps)[..., flip_index, :, ::-1])


def merge_flip_test(heatmaps, heatmaps_flipped_raw, flip_index):
    """0.5 * (heatmaps + flip_back(raw output of the mirrored input))."""
    back = flip_back_heatmaps(heatmaps_flipped_raw, flip_index)
    if _is_torch(heatmaps):
        return 0.5 * (heatmaps + back)
    return (0.5 * (np.asarray(heatmaps, dtype=np.float32) + back)).astype(np.float32, copy=False)


def decode_pose(heatmaps, centers, scales, input_size=CROP_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(N, K, h, w) heatmaps of N crops + their centers/scales (N, 2) -> keypoints in image pixels (N, K, 2)
    float32 and scores (N, K) float32. Points with score <= 0 are invalid (their location means nothing)."""
    if _is_torch(heatmaps):
        heatmaps = heatmaps.detach().float().cpu().numpy()
    heatmaps = np.asarray(heatmaps)
    n, _, h, w = heatmaps.shape
    centers = np.asarray(centers, dtype=np.float64).reshape(n, 2)
    scales = np.asarray(scales, dtype=np.float64).reshape(n, 2)
    coords, scores = decode_heatmaps(heatmaps)
    keypoints = keypoints_to_image(coords, centers, scales, heatmap_size=(w, h), input_size=input_size)
    return keypoints.astype(np.float32), scores
