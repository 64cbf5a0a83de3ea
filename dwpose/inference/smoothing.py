"""Temporal smoothing of tracked keypoints: a One-Euro filter per track and keypoint.

The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012) is a low-pass filter whose cutoff rises with
the speed of the signal: a still keypoint is smoothed hard (``min_cutoff`` Hz), a fast one follows with
little lag (``cutoff = min_cutoff + beta * speed``). Here it is

- frame-rate aware: time is the frame's timestamp from the container where OpenCV gives one (a
  variable-frame-rate phone video keeps its real timing), else ``frame / fps``, so a frame skipped by
  ``--stride`` or a keypoint unseen for a while counts as the time it was;
- scale free: ``speed`` is measured in person sizes per second (the person's box diagonal), so ``beta``
  means the same for a child far away and a face filling the frame;
- confidence aware: a keypoint scoring under the threshold leaves its filter untouched (it is passed
  through raw, and it is not drawn nor written as seen anyway), so a hand that blinks out for a frame
  at a wrong place does not drag the smoothed hand there.

Defaults (``min_cutoff`` 2.0 Hz, ``beta`` 10 per person-size) come from ``tools/analysis/benchmark_video.py
--sweep``: on real COCO-WholeBody people moved along smooth paths at 30 fps with keypoint noise of
0.5%, 1% and 2% of the person's size, they have the least mean error to the clean path among the
settings that at least halve the jitter at every noise level (docs/benchmark_video_section.md).
"""

from __future__ import annotations

import math
from typing import Dict, Optional

import numpy as np

from dwpose.errors import UserError

DEFAULT_MIN_CUTOFF = 2.0
DEFAULT_BETA = 10.0
DERIVATIVE_CUTOFF = 1.0  # Hz, the paper's default for the speed estimate


def _alpha(dt: np.ndarray, cutoff: np.ndarray) -> np.ndarray:
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """One-Euro filter over ``(K, D)`` points, each point with its own state (see the module docstring).

    Example:
        >>> f = OneEuroFilter(min_cutoff=2.0, beta=10.0)
        >>> smooth = f(t=frame / fps, points=kpts, valid=scores >= 0.3, scale=box_diagonal)  # (K, 2)
    """

    def __init__(
        self,
        min_cutoff: float = DEFAULT_MIN_CUTOFF,
        beta: float = DEFAULT_BETA,
        d_cutoff: float = DERIVATIVE_CUTOFF,
    ) -> None:
        if min_cutoff <= 0 or beta < 0 or d_cutoff <= 0:
            raise UserError(f"One-Euro filter needs min_cutoff > 0 and beta >= 0; got {min_cutoff}, {beta}")
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.value: Optional[np.ndarray] = None  # (K, D) filtered points
        self.speed: Optional[np.ndarray] = None  # (K, D) filtered derivative, pixels / s
        self.time: Optional[np.ndarray] = None  # (K,) time of the last update, nan = never

    def __call__(
        self, t: float, points: np.ndarray, valid: Optional[np.ndarray] = None, scale: float = 1.0
    ) -> np.ndarray:
        """Filter one observation.

        Args:
            t: its time in seconds (increasing).
            points: ``(K, D)`` observed points.
            valid: ``(K,)`` bool; False points pass through raw and leave their state untouched.
            scale: the size (pixels) speeds are divided by before ``beta`` applies.

        Returns:
            ``(K, D)`` filtered points (float64).
        """
        x = np.asarray(points, np.float64)
        valid = np.ones(len(x), bool) if valid is None else np.asarray(valid, bool)
        if self.value is None:
            self.value, self.speed = x.copy(), np.zeros_like(x)
            self.time = np.full(len(x), np.nan)
        fresh = valid & np.isnan(self.time)
        self.value[fresh], self.speed[fresh] = x[fresh], 0.0
        old = valid & ~np.isnan(self.time) & (t > np.nan_to_num(self.time, nan=-np.inf))
        if old.any():
            dt = (t - self.time[old])[:, None]
            raw_speed = (x[old] - self.value[old]) / dt
            self.speed[old] += _alpha(dt, self.d_cutoff) * (raw_speed - self.speed[old])
            speed = np.linalg.norm(self.speed[old], axis=1, keepdims=True) / max(scale, 1e-6)
            cutoff = self.min_cutoff + self.beta * speed
            self.value[old] += _alpha(dt, cutoff) * (x[old] - self.value[old])
        self.time[valid] = t
        out = x.copy()
        out[valid] = self.value[valid]
        return out


class TrackSmoother:
    """One :class:`OneEuroFilter` per track ID; ``smooth`` filters a frame's tracked poses."""

    def __init__(
        self,
        fps: float,
        min_cutoff: float = DEFAULT_MIN_CUTOFF,
        beta: float = DEFAULT_BETA,
        threshold: float = 0.3,
        forget_after: float = 2.0,
    ) -> None:
        if fps <= 0:
            raise UserError(f"smoothing needs the frame rate; got fps={fps}")
        OneEuroFilter(min_cutoff, beta)  # validates the parameters once, up front
        self.fps, self.min_cutoff, self.beta, self.threshold = fps, min_cutoff, beta, threshold
        self.forget_after = forget_after  # seconds without a sighting after which a track's filter goes
        self.filters: Dict[int, OneEuroFilter] = {}
        self._last_seen: Dict[int, float] = {}

    def smooth(
        self,
        frame: int,
        ids: np.ndarray,
        keypoints: np.ndarray,
        scores: np.ndarray,
        time: Optional[float] = None,
    ) -> np.ndarray:
        """``(N, K, 2)`` smoothed keypoints of the people ``ids`` ``(N,)`` seen at ``frame``; ``time``
        (seconds: the container's timestamp of a variable-frame-rate video) replaces ``frame / fps``."""
        t = frame / self.fps if time is None else float(time)
        out = np.asarray(keypoints, np.float64).copy()
        for n, track_id in enumerate(int(i) for i in ids):
            valid = scores[n] >= self.threshold
            f = self.filters.setdefault(track_id, OneEuroFilter(self.min_cutoff, self.beta))
            pts = keypoints[n][valid]
            scale = float(np.linalg.norm(pts.max(0) - pts.min(0))) if len(pts) >= 2 else 1.0
            out[n] = f(t, keypoints[n], valid, scale)
            self._last_seen[track_id] = t
        for track_id in [k for k, seen in self._last_seen.items() if t - seen > self.forget_after]:
            del self.filters[track_id], self._last_seen[track_id]
        return out.astype(np.float32)
