"""The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012) for keypoints: less jitter at rest, little lag in motion.

Each coordinate is a low-pass filter whose cutoff rises with its own (smoothed) speed::

    alpha(fc, dt) = 1 / (1 + 1 / (2 pi fc dt))
    dx   = (x - x_prev_hat) / dt
    dx^  = alpha(d_cutoff, dt) * dx + (1 - alpha(d_cutoff, dt)) * dx^_prev
    fc   = min_cutoff + beta * |dx^|
    x^   = alpha(fc, dt) * x + (1 - alpha(fc, dt)) * x^_prev

The first sample passes unchanged (and its speed is taken as 0). ``min_cutoff`` (Hz) sets the smoothing at rest
(lower: smoother, more lag); ``beta`` how fast the cutoff opens with speed (higher: less lag in fast moves);
``d_cutoff`` (Hz) smooths the speed estimate itself.

Per point: a point that is missing in a frame (unlabeled, NaN) forgets its state, so when it reappears it starts
again from its new position instead of being dragged from where it was last seen. ``KeypointSmoother`` keeps one
filter per track ID and drops the filters of tracks that are not in the frame: a track that comes back starts
fresh, and memory stays bounded however long the video.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

__all__ = ["OneEuroFilter", "KeypointSmoother"]


def _alpha(cutoff, dt: float):
    return 1.0 / (1.0 + 1.0 / (2.0 * math.pi * cutoff * dt))


class OneEuroFilter:
    """One-Euro filter over (K, D) points; each of the K * D coordinates is filtered on its own."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0):
        for name, value in (("min_cutoff", min_cutoff), ("d_cutoff", d_cutoff)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive frequency in Hz, not {value!r}")
        if not (math.isfinite(beta) and beta >= 0):
            raise ValueError(f"beta must be a non-negative number, not {beta!r}")
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self._x: np.ndarray | None = None  # (K, D) last filtered values
        self._dx: np.ndarray | None = None  # (K, D) last filtered speeds
        self._valid: np.ndarray | None = None  # (K,) points with a state
        self._t: float | None = None

    def reset(self) -> None:
        self._x = self._dx = self._valid = self._t = None

    def __call__(self, t: float, points: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
        """Filtered copy of ``points`` (K, D) at time ``t`` (seconds); points not ``present`` (K,) pass as they are."""
        x = np.asarray(points, np.float64)
        if x.ndim == 1:
            x = x[:, None]
        present = np.isfinite(x).all(axis=1) if present is None else np.asarray(present, bool) & np.isfinite(x).all(1)
        if self._x is None or self._x.shape != x.shape:
            self._x, self._dx, self._valid = x.copy(), np.zeros_like(x), present.copy()
            self._t = float(t)
            return x.reshape(np.shape(points)).copy()
        dt = float(t) - self._t
        if not dt > 0:
            raise ValueError(f"time must increase between samples (got {t} after {self._t})")
        self._t = float(t)
        keep = present & self._valid  # points with a past to filter against
        out = x.copy()
        if keep.any():
            xk, prev, prev_dx = x[keep], self._x[keep], self._dx[keep]
            a_d = _alpha(self.d_cutoff, dt)
            dx_hat = a_d * (xk - prev) / dt + (1 - a_d) * prev_dx
            a = _alpha(self.min_cutoff + self.beta * np.abs(dx_hat), dt)
            out[keep] = prev + a * (xk - prev)  # a * x + (1 - a) * prev, exact for a point at rest
            self._dx[keep] = dx_hat
        fresh = present & ~self._valid  # (re)appeared: start from here, at rest
        self._dx[fresh] = 0.0
        self._x[present] = out[present]
        self._valid = present.copy()
        return out.reshape(np.shape(points))


class KeypointSmoother:
    """One ``OneEuroFilter`` per track ID; ``smooth`` filters the persons of one frame in place."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0):
        OneEuroFilter(min_cutoff, beta, d_cutoff)  # checks the parameters now, not at the first person
        self.params = (min_cutoff, beta, d_cutoff)
        self._filters: dict[int, OneEuroFilter] = {}

    def smooth(self, t: float, persons: Iterable) -> None:
        """Filter the x, y of every labeled point of each person with a ``track_id``; scores are left alone."""
        seen = set()
        for person in persons:
            tid = getattr(person, "track_id", None)
            if tid is None:
                continue
            seen.add(tid)
            f = self._filters.get(tid)
            if f is None:
                f = self._filters[tid] = OneEuroFilter(*self.params)
            labeled = person.visibility > 0
            xy = f(t, person.keypoints[:, :2], labeled)
            person.keypoints[labeled, :2] = xy[labeled].astype(np.float32)
        for tid in set(self._filters) - seen:
            del self._filters[tid]
