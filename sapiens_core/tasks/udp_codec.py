"""The UDP heatmap codec (spec §6.2 "Target", §2.1 "Decode"): training targets and inference decoding, one geometry.

``encode`` turns crop-pixel keypoints into the Gaussian heatmaps the pose models are trained on; ``decode`` turns
heatmaps back into crop pixels with the argmax + DARK-UDP decoder inference uses (``heatmap.decode_heatmaps``).
Both go through the same crop -> heatmap scaling, (hm - 1) / (in - 1) in UDP, so a target encoded here decodes
to the point it was made from (to ~0.01 heatmap px where the Gaussian is not cut by the border).

Target (mmpose ``UDPHeatmap``, sigma 6 on 192x256 for a 768x1024 input): a Gaussian of peak 1 centred on the
sub-pixel point, drawn inside the (6 sigma + 1)^2 window around the rounded point and 0 outside it. A point
that is unlabeled, or whose window lies wholly off the grid, gets weight 0 and an empty map.
Sizes are (w, h) as in mmpose, points (x, y).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .heatmap import decode_heatmaps


@dataclass(frozen=True)
class UDPHeatmapCodec:
    input_size: tuple[int, int] = (768, 1024)
    heatmap_size: tuple[int, int] = (192, 256)
    sigma: float = 6.0

    @property
    def _to_heatmap(self) -> np.ndarray:
        return (np.asarray(self.heatmap_size, np.float64) - 1) / (np.asarray(self.input_size, np.float64) - 1)

    def encode(self, keypoints, visible) -> tuple[np.ndarray, np.ndarray]:
        """(K, 2) crop pixels + (K,) labeled flags -> heatmaps (K, h, w) float32 and weights (K,) float32."""
        points = np.asarray(keypoints, dtype=np.float64).reshape(-1, 2) * self._to_heatmap
        visible = np.asarray(visible, dtype=bool).reshape(-1)
        w, h = self.heatmap_size
        radius = 3 * self.sigma
        centre = np.floor(points + 0.5)  # the window is placed on the rounded point, the peak on the exact one
        finite = np.isfinite(points).all(axis=1)
        centre[~finite] = -1e9
        inside = (
            (centre[:, 0] - radius < w)
            & (centre[:, 1] - radius < h)
            & (centre[:, 0] + radius >= 0)
            & (centre[:, 1] + radius >= 0)
        )
        weights = (visible & finite & inside).astype(np.float32)
        # The window is a rectangle and the Gaussian separable, so the 2-D map is the outer product of two 1-D ones.
        maps_1d = []
        for axis, size in ((0, w), (1, h)):
            grid = np.arange(size, dtype=np.float64)[None, :]
            offset = grid - points[:, axis : axis + 1]
            gauss = np.exp(-(offset**2) / (2 * self.sigma**2))
            gauss[np.abs(grid - centre[:, axis : axis + 1]) > radius] = 0.0
            maps_1d.append(np.nan_to_num(gauss))
        heatmaps = maps_1d[1][:, :, None] * maps_1d[0][:, None, :]
        heatmaps *= weights[:, None, None]
        return heatmaps.astype(np.float32), weights

    def decode(self, heatmaps) -> tuple[np.ndarray, np.ndarray]:
        """(N, K, h, w) heatmaps -> crop pixels (N, K, 2) float32 (UDP, the inverse of ``encode``), scores (N, K)."""
        coords, scores = decode_heatmaps(heatmaps)
        crop = coords.astype(np.float64) / self._to_heatmap
        crop[~(scores > 0)] = -1.0
        return crop.astype(np.float32), scores
