"""Seg / depth / normal post-processing and their visualisations (spec §2.2-2.4).

All three upsample the raw output bilinearly to the original image size, with torch's
``F.interpolate(mode='bilinear', align_corners=False)`` semantics, in float32. Done in one piece, a 28-class
logit map for an 8000x6000 photo is 5.4 GB; here the output is made in row strips: each strip upsamples only the
input rows it needs and is reduced (argmax / normalise / mask) before the next one, so the extra memory is
O(strip) whatever the image size. Rows are independent, so the strip size does not change a single value.

A CUDA tensor is post-processed on its device by the same torch code (larger strips), and only the reduced map
(uint8 classes, float32 depth / normals) is copied to the host; ``on_device=False`` or HOST_POSTPROCESS keeps the
host path. ``on_device=True`` on a CPU tensor runs the device path on the CPU, which is how the tests check it.

The width pass is torch's own kernel; the height pass computes ATen's indices, weights and fused rounding, so at
the usual sizes the result was bit-identical to the one-shot F.interpolate (torch 2.13 CPU, AVX2 build); on tiny
maps ATen's scalar tail loop rounds differently, by 1 ulp. The tests allow that rounding, nothing more.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

STRIP_BYTES = 24 * 2**20  # working memory per strip; ~64 rows of 28x768 stay fast and cache-friendly
DEVICE_STRIP_BYTES = 512 * 2**20  # on an accelerator: fewer, larger kernel launches, still bounded
# A CUDA tensor is reduced where it lies and only the small result is copied to the host (the official demos also
# post-process on the GPU). True sends it to the host first, as before; the same code runs either way.
HOST_POSTPROCESS = False
SEG_FOREGROUND_THRESHOLD = 0.3  # 1-channel (foreground) seg models: sigmoid > 0.3, as the lite demo
NORMAL_EPS = 1e-5
DEPTH_BACKGROUND_RGB = (100, 100, 100)


# ---------------------------------------------------------------------------------------------------- resampling
def _axis_table(in_size: int, out_size: int):
    """Source indices i0, i1 and weights w0, w1 (float32) of one axis, as ATen's bilinear kernel computes them:
    src = max(scale * (dst + 0.5) - 0.5, 0) with scale = in/out in float32 (the multiply-add rounded once)."""
    f = np.float32
    if in_size == out_size:
        i = np.arange(out_size)
        return i, i, np.ones(out_size, f), np.zeros(out_size, f)
    scale = f(in_size) / f(out_size)
    src = (np.float64(scale) * (np.arange(out_size) + 0.5) - 0.5).astype(f)
    src = np.maximum(src, f(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    w1 = np.clip(src - i0.astype(f), f(0), f(1)).astype(f)
    i1 = i0 + (i0 < in_size - 1)
    return i0, i1, (f(1) - w1).astype(f), w1


def keeps_on_device(raw) -> bool:
    """The default: a CUDA tensor is post-processed where it lies, unless HOST_POSTPROCESS."""
    return raw.device.type == "cuda" and not HOST_POSTPROCESS


class _StripUpsampler:
    """Bilinear upsampling of a (C, h, w) float32 tensor to (C, H, W), one output row range at a time."""

    def __init__(self, raw, out_hw, bytes_per_out_pixel_per_channel: int = 16, on_device: bool | None = None):
        if not isinstance(raw, torch.Tensor):
            raw = np.asarray(raw)
            raw = torch.from_numpy(raw if raw.flags.writeable else raw.copy())  # torch warns on read-only memory
        if on_device is None:
            on_device = keeps_on_device(raw)
        self.on_device = bool(on_device)
        t = raw.detach().to(raw.device if self.on_device else "cpu", torch.float32)
        self.device = t.device
        if t.ndim != 3:
            raise ValueError(f"expected a (C, h, w) output, got shape {tuple(t.shape)}")
        self.src = t.contiguous()
        self.channels, h, w = self.src.shape
        self.out_h, self.out_w = (int(v) for v in out_hw)
        if self.out_h <= 0 or self.out_w <= 0:
            raise ValueError(f"output size must be positive, got {out_hw}")
        y0, y1, wy0, wy1 = _axis_table(h, self.out_h)
        self.rows_in = (y0, y1)
        # The tables are small and exact on the host; the kernels then read them where the data is.
        self.y0, self.y1 = torch.from_numpy(y0).to(self.device), torch.from_numpy(y1).to(self.device)
        self.wy0 = torch.from_numpy(wy0)[:, None].to(self.device)
        self.wy1 = torch.from_numpy(wy1)[:, None].to(self.device)
        budget = DEVICE_STRIP_BYTES if self.device.type != "cpu" else STRIP_BYTES
        per_row = max(1, self.channels * self.out_w * bytes_per_out_pixel_per_channel)
        self.strip_rows = int(max(1, min(self.out_h, budget // per_row)))

    def background(self, mask: np.ndarray | None, r0: int, r1: int) -> torch.Tensor | None:
        """The strip's background pixels as a bool tensor beside the data (a few bytes a pixel to copy)."""
        return None if mask is None else torch.from_numpy(~mask[r0:r1]).to(self.device)

    def strips(self):
        for r0 in range(0, self.out_h, self.strip_rows):
            r1 = min(self.out_h, r0 + self.strip_rows)
            yield r0, r1, self.strip(r0, r1)

    def strip(self, r0: int, r1: int) -> torch.Tensor:
        """(C, r1 - r0, W). Width first, by torch itself on just the input rows this strip reads (a width-only
        resize leaves rows untouched, so it is exactly the width pass of the full resize); then height as
        ATen rounds it, ``fma(top, w0, bottom * w1)``, which ``addcmul_`` reproduces."""
        y0, y1 = self.y0[r0:r1], self.y1[r0:r1]
        # source rows grow with the output row; read from the host tables, so a device needs no sync here
        lo, hi = int(self.rows_in[0][r0]), int(self.rows_in[1][r1 - 1]) + 1
        across = F.interpolate(
            self.src[None, :, lo:hi], size=(hi - lo, self.out_w), mode="bilinear", align_corners=False
        )[0]
        out = across.index_select(1, y1 - lo).mul_(self.wy1[r0:r1])
        return out.addcmul_(across.index_select(1, y0 - lo), self.wy0[r0:r1])


def upsample_bilinear(raw, out_hw, on_device: bool | None = None) -> np.ndarray:
    """(C, h, w) -> (C, H, W) float32, like F.interpolate(bilinear, align_corners=False). For small maps and tests;
    the post-processing functions below never hold the full-size multi-channel result."""
    up = _StripUpsampler(raw, out_hw, on_device=on_device)
    out = np.empty((up.channels, up.out_h, up.out_w), np.float32)
    view = torch.from_numpy(out)
    for r0, r1, strip in up.strips():
        view[:, r0:r1] = strip.cpu()
    return out


def _check_mask(foreground, hw) -> np.ndarray | None:
    if foreground is None:
        return None
    mask = np.asarray(foreground, dtype=bool)
    if mask.shape != tuple(hw):
        raise ValueError(f"foreground mask is {mask.shape}, output is {tuple(hw)}")
    return mask


# ---------------------------------------------------------------------------------------------------- tasks
def logits_to_classes(logits, out_hw, on_device: bool | None = None) -> np.ndarray:
    """Seg logits (C, h, w) -> (H, W) uint8 class ids: upsample, argmax over classes (first maximum wins).

    A 1-channel (foreground) model gives {0, 1} = sigmoid(logit) > 0.3. ``on_device``: reduce where the tensor
    lies (default: on CUDA unless HOST_POSTPROCESS), copying only the class map to the host.
    """
    up = _StripUpsampler(logits, out_hw, on_device=on_device)
    if up.channels > 256:
        raise ValueError(f"{up.channels} classes do not fit a uint8 class map")
    out = np.empty((up.out_h, up.out_w), np.uint8)
    view = torch.from_numpy(out)
    for r0, r1, strip in up.strips():
        if up.channels == 1:
            classes = torch.sigmoid(strip[0]) > SEG_FOREGROUND_THRESHOLD
        else:
            # max(dim=0).indices: first maximum, like argmax, but several times faster on CPU for dim 0
            classes = strip.max(dim=0).indices
        # uint8 before the copy on a device: 1 byte a pixel crosses the bus instead of 8
        view[r0:r1] = classes.to(torch.uint8).cpu() if up.on_device else classes
    return out


def postprocess_depth(raw, out_hw, foreground=None, on_device: bool | None = None) -> np.ndarray:
    """Depth output (1, h, w) or (h, w) -> (H, W) float32 relative depth (larger = farther); background NaN."""
    if raw.ndim == 2:
        raw = raw[None]
    up = _StripUpsampler(raw, out_hw, on_device=on_device)
    if up.channels != 1:
        raise ValueError(f"depth output must have 1 channel, got {up.channels}")
    mask = _check_mask(foreground, (up.out_h, up.out_w))
    out = np.empty((up.out_h, up.out_w), np.float32)
    view = torch.from_numpy(out)
    for r0, r1, strip in up.strips():
        if up.on_device:
            background = up.background(mask, r0, r1)
            if background is not None:
                strip[0][background] = float("nan")
            view[r0:r1] = strip[0].cpu()
        else:
            view[r0:r1] = strip[0]
    if mask is not None and not up.on_device:
        out[~mask] = np.nan
    return out


def postprocess_normal(raw, out_hw, foreground=None, on_device: bool | None = None) -> np.ndarray:
    """Normal output (3, h, w) -> (H, W, 3) float32: upsample, n / (|n| + 1e-5) per pixel; background NaN."""
    up = _StripUpsampler(raw, out_hw, on_device=on_device)
    if up.channels != 3:
        raise ValueError(f"normal output must have 3 channels, got {up.channels}")
    mask = _check_mask(foreground, (up.out_h, up.out_w))
    out = np.empty((up.out_h, up.out_w, 3), np.float32)
    view = torch.from_numpy(out)
    for r0, r1, strip in up.strips():
        # Spelled out: torch.linalg.vector_norm over dim 0 is ~100x slower on CPU than these three passes.
        norm = strip[0] * strip[0]
        norm.addcmul_(strip[1], strip[1]).addcmul_(strip[2], strip[2]).sqrt_().add_(NORMAL_EPS)
        unit = strip.div_(norm).permute(1, 2, 0)
        if up.on_device:
            background = up.background(mask, r0, r1)
            if background is not None:
                unit[background] = float("nan")
            view[r0:r1] = unit.contiguous().cpu()  # one dense copy over the bus
            continue
        view[r0:r1] = unit
        if mask is not None:
            view[r0:r1][torch.from_numpy(~mask[r0:r1])] = float("nan")
    return out


# ---------------------------------------------------------------------------------------------------- display
def _row_strips(height: int, bytes_per_row: int):
    step = max(1, STRIP_BYTES // max(1, bytes_per_row))
    for r0 in range(0, height, step):
        yield slice(r0, min(height, r0 + step))


def depth_to_colormap(depth: np.ndarray) -> np.ndarray:
    """(H, W) depth, NaN = background -> (H, W, 3) uint8 RGB, as the lite demo draws it.

    Foreground min-max normalised, inverted (near = bright), INFERNO colormap; background gray (100, 100, 100).
    A foreground of one depth value is drawn as nearest.
    """
    depth = np.asarray(depth, dtype=np.float32)
    if depth.ndim != 2:
        raise ValueError(f"depth must be (H, W), got {depth.shape}")
    h, w = depth.shape
    out = np.empty((h, w, 3), np.uint8)
    out[:] = DEPTH_BACKGROUND_RGB
    finite = np.isfinite(depth)
    if not finite.any():
        return out
    lo, hi = np.min(depth, where=finite, initial=np.inf), np.max(depth, where=finite, initial=-np.inf)
    span = np.float32(hi - lo) if hi > lo else np.float32(np.inf)  # inf: every foreground pixel -> 0 -> brightest
    # The colormap of 256 levels as an RGB lookup table (OpenCV returns BGR).
    lut = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_INFERNO)[:, 0, ::-1]
    for rows in _row_strips(h, w * 16):
        d, fg = depth[rows], finite[rows]
        level = ((1 - (d[fg] - np.float32(lo)) / span) * np.float32(255.0)).astype(np.uint8)  # demo's arithmetic
        out[rows][fg] = lut[level]
    return out


def normal_to_rgb(normal: np.ndarray) -> np.ndarray:
    """(H, W, 3) unit normals, NaN = background -> (H, W, 3) uint8 RGB: (n + 1) / 2 * 255 with R=x, G=y, B=z;
    background black (the demo's -1 fill)."""
    normal = np.asarray(normal, dtype=np.float32)
    if normal.ndim != 3 or normal.shape[2] != 3:
        raise ValueError(f"normals must be (H, W, 3), got {normal.shape}")
    h, w, _ = normal.shape
    out = np.empty((h, w, 3), np.uint8)
    for rows in _row_strips(h, w * 3 * 12):
        n = np.nan_to_num(normal[rows], nan=-1.0, posinf=1.0, neginf=-1.0)
        out[rows] = np.clip((n + 1) / 2 * 255, 0, 255).astype(np.uint8)
    return out
