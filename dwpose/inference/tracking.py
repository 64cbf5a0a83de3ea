"""Person tracking across video frames: stable integer IDs from whole-body OKS, box IoU as the fallback.

Each frame's poses are matched to the live tracks in two greedy rounds, most similar pair first: by the
object keypoint similarity (OKS: all 133 keypoints, COCO-WholeBody sigmas, the track's box area as the
scale) for pairs with at least ``min_keypoints`` keypoints confident in both, then by box IoU for the
poses and tracks left over (few keypoints visible, or whole-body OKS, tight on the face and hands,
failing on fast motion). A track is compared at the place its constant-velocity motion predicts, so
two people crossing at moderate overlap keep their IDs. Unmatched
poses open new tracks (IDs 0, 1, 2, ... never reused); a track unmatched for more than ``patience``
frames is closed, so a person hidden for up to ``patience`` frames comes back with the same ID.

Example:
    >>> tracker = PoseTracker(TrackerConfig(patience=10))
    >>> ids = tracker.update(frame_index, keypoints, scores)  # (N, 133, 2), (N, 133) -> (N,) int IDs
    >>> tracker.summary()  # {"0": {"first_frame": 0, "last_frame": 41, "num_frames": 40, ...}, ...}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from dwpose.keypoints import WHOLEBODY_SIGMAS

BOX_EXPANSION = 1.2  # keypoint box -> person box, roughly what a detector draws around the same person



@dataclass
class TrackerConfig:
    """Matching thresholds and track ageing (``dwpose predict --track-*`` options).

    Attributes:
        oks_threshold: least OKS for a pose to continue a track.
        iou_threshold: least box IoU, used when fewer than ``min_keypoints`` keypoints are shared.
        keypoint_threshold: a keypoint at or above this score is "visible".
        min_keypoints: visible keypoints (shared by pose and track) needed to use OKS.
        patience: frames a track survives unmatched (hidden, missed) before it is closed.
    """

    oks_threshold: float = 0.3
    iou_threshold: float = 0.3
    keypoint_threshold: float = 0.3
    min_keypoints: int = 8
    patience: int = 10


@dataclass
class Track:
    """One person: last pose, per-frame velocity of its keypoints, and when it was seen."""

    track_id: int
    keypoints: np.ndarray  # (K, 2)
    scores: np.ndarray  # (K,)
    box: np.ndarray  # (4,) x1, y1, x2, y2
    first_frame: int
    last_frame: int
    frames: List[int] = field(default_factory=list)
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))

    def predicted(self, frame: int) -> np.ndarray:
        """``(K, 2)`` keypoints moved by the velocity to ``frame``."""
        return self.keypoints + self.velocity * (frame - self.last_frame)

    def predicted_box(self, frame: int) -> np.ndarray:
        return self.box + np.tile(self.velocity * (frame - self.last_frame), 2)


def keypoint_box(
    keypoints: np.ndarray, scores: np.ndarray, threshold: float, expansion: float = 1.0
) -> Optional[np.ndarray]:
    """``(4,)`` box around the keypoints scoring >= ``threshold``, grown ``expansion`` times about its centre
    (None when fewer than two are confident)."""
    pts = keypoints[scores >= threshold]
    if len(pts) < 2:
        return None
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    center, half = (lo + hi) / 2, (hi - lo) / 2 * expansion
    return np.concatenate([center - half, center + half]).astype(np.float64)


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two ``(4,)`` x1, y1, x2, y2 boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def oks(a: np.ndarray, b: np.ndarray, visible: np.ndarray, area: float, sigmas: np.ndarray) -> float:
    """COCO object keypoint similarity of ``(K, 2)`` poses over the ``visible`` ``(K,)`` keypoints."""
    d2 = ((a[visible] - b[visible]) ** 2).sum(axis=1)
    var = (2 * sigmas[visible]) ** 2 * max(area, 1.0) * 2
    return float(np.exp(-d2 / var).mean())


class PoseTracker:
    """Assigns stable IDs to the poses of consecutive frames (see the module docstring)."""

    def __init__(self, config: Optional[TrackerConfig] = None, sigmas: Optional[np.ndarray] = None) -> None:
        self.config = config or TrackerConfig()
        self.sigmas = WHOLEBODY_SIGMAS if sigmas is None else np.asarray(sigmas, np.float64)
        self.live: List[Track] = []
        self.history: Dict[int, Track] = {}
        self._next_id = 0

    def oks_to(self, keypoints: np.ndarray, scores: np.ndarray, track: Track, frame: int) -> Optional[float]:
        """OKS of a pose to a track's predicted pose at ``frame``; None with too few shared keypoints."""
        cfg = self.config
        visible = (scores >= cfg.keypoint_threshold) & (track.scores >= cfg.keypoint_threshold)
        if visible.sum() < cfg.min_keypoints or len(self.sigmas) != len(scores):
            return None
        box = track.predicted_box(frame)
        return oks(
            keypoints, track.predicted(frame), visible, (box[2] - box[0]) * (box[3] - box[1]), self.sigmas
        )

    def update(
        self, frame: int, keypoints: np.ndarray, scores: np.ndarray, boxes: Optional[np.ndarray] = None
    ) -> np.ndarray:
        """Match one frame's poses to the tracks; returns their ``(N,)`` int IDs.

        Two greedy rounds, most similar pair first: OKS (pairs sharing ``min_keypoints`` confident
        keypoints, OKS >= ``oks_threshold``), then box IoU (>= ``iou_threshold``) for the poses and tracks
        left over (few keypoints visible, or a pose that moved faster than the prediction).

        Args:
            frame: frame index, increasing from call to call (gaps allowed, e.g. with ``--stride``).
            keypoints: ``(N, K, 2)`` pixels; ``scores``: ``(N, K)``.
            boxes: ``(N, 4)`` person boxes for the IoU round; default: the expanded keypoint boxes.
        """
        cfg = self.config
        self.live = [t for t in self.live if frame - t.last_frame <= cfg.patience + 1]
        n = len(keypoints)
        own_boxes = [
            self._box(keypoints[i], scores[i], None if boxes is None else boxes[i]) for i in range(n)
        ]
        ids = np.full(n, -1, dtype=np.int64)
        used: set = set()
        oks_pairs, iou_pairs = [], []
        for i in range(n):
            for j, track in enumerate(self.live):
                value = self.oks_to(keypoints[i], scores[i], track, frame)
                if value is not None and value >= cfg.oks_threshold:
                    oks_pairs.append((value, i, j))
                value = box_iou(own_boxes[i], track.predicted_box(frame))
                if value >= cfg.iou_threshold:
                    iou_pairs.append((value, i, j))
        for pairs in (oks_pairs, iou_pairs):
            for _, i, j in sorted(pairs, key=lambda p: -p[0]):
                if ids[i] < 0 and j not in used:
                    ids[i] = self.live[j].track_id
                    used.add(j)
                    self._continue(self.live[j], frame, keypoints[i], scores[i], own_boxes[i])
        for i in np.flatnonzero(ids < 0):
            ids[i] = self._open(frame, keypoints[i], scores[i], own_boxes[i]).track_id
        return ids

    def _box(self, keypoints: np.ndarray, scores: np.ndarray, given: Optional[np.ndarray]) -> np.ndarray:
        if given is not None:
            return np.asarray(given[:4], np.float64)
        box = keypoint_box(keypoints, scores, self.config.keypoint_threshold, BOX_EXPANSION)
        return (
            box if box is not None else keypoint_box(keypoints, np.ones(len(keypoints)), 0.0, BOX_EXPANSION)
        )

    def _continue(
        self, track: Track, frame: int, kpts: np.ndarray, scores: np.ndarray, box: np.ndarray
    ) -> None:
        visible = (scores >= self.config.keypoint_threshold) & (
            track.scores >= self.config.keypoint_threshold
        )
        if visible.any():
            step = (kpts[visible] - track.keypoints[visible]).mean(axis=0) / max(frame - track.last_frame, 1)
            track.velocity = 0.5 * track.velocity + 0.5 * step
        track.keypoints, track.scores, track.box = kpts.astype(np.float64), scores.astype(np.float64), box
        track.last_frame = frame
        track.frames.append(frame)

    def _open(self, frame: int, kpts: np.ndarray, scores: np.ndarray, box: np.ndarray) -> Track:
        track = Track(
            self._next_id, kpts.astype(np.float64), scores.astype(np.float64), box, frame, frame, [frame]
        )
        self._next_id += 1
        self.live.append(track)
        self.history[track.track_id] = track
        return track

    def recent(self, frame: int, max_age: int = 1) -> List[Track]:
        """Live tracks last seen at most ``max_age`` frames before ``frame``."""
        return [t for t in self.live if frame - t.last_frame <= max_age]

    def summary(self) -> Dict[str, dict]:
        """``{id: {"first_frame", "last_frame", "num_frames", "frames"}}`` of every track so far, frames
        being the list of frame indices where the person was seen (``tracks.json``)."""
        return {
            str(t.track_id): {
                "first_frame": t.first_frame,
                "last_frame": t.last_frame,
                "num_frames": len(t.frames),
                "frames": list(t.frames),
            }
            for t in sorted(self.history.values(), key=lambda t: t.track_id)
        }
