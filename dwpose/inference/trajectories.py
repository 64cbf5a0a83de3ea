"""Moving people built from real annotations, to measure trackers and filters against a known truth.

There are no per-frame whole-body annotations offline, so a "video" of poses is made from real
COCO-WholeBody people: each annotated pose (its 133 keypoints, with its own proportions and missing
parts) is carried along a smooth path (drift plus a slow sway) and turned slowly about its centre (a
few degrees, so keypoints do not all move alike). Noise, gaps and shuffling are added by the caller.
Used by tests/inference/test_tracking.py, test_smoothing.py and tools/analysis/benchmark_video.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np

from dwpose.fileio import read_json
from dwpose.keypoints import keypoints_from_annotation


def load_wholebody_people(
    ann_file: Union[str, Path], min_visible: int = 10
) -> List[Tuple[np.ndarray, np.ndarray]]:
    """``[(keypoints (133, 2), visible (133,) bool), ...]`` of the annotated people with at least
    ``min_visible`` labelled keypoints, from a COCO-WholeBody annotation file."""
    people = []
    for ann in read_json(ann_file, "annotation file")["annotations"]:
        flat = keypoints_from_annotation(ann)
        visible = flat[:, 2] > 0
        if visible.sum() >= min_visible:
            people.append((flat[:, :2], visible))
    return people


def person_size(keypoints: np.ndarray, visible: np.ndarray) -> float:
    """Diagonal (pixels) of the box of the visible keypoints."""
    pts = keypoints[visible]
    return float(np.linalg.norm(pts.max(0) - pts.min(0)))


def smooth_path(
    num_frames: int,
    start: Tuple[float, float],
    velocity: Tuple[float, float],
    sway: float = 0.0,
    period: float = 60.0,
    phase: float = 0.0,
) -> np.ndarray:
    """``(T, 2)`` positions: ``start + velocity * t`` plus a vertical sine sway of amplitude ``sway``
    pixels and ``period`` frames."""
    t = np.arange(num_frames, dtype=np.float64)[:, None]
    pos = np.asarray(start, np.float64) + np.asarray(velocity, np.float64) * t
    pos[:, 1] += sway * np.sin(2 * np.pi * t[:, 0] / period + phase)
    return pos


def moving_person(
    keypoints: np.ndarray,
    path: np.ndarray,
    visible: Optional[np.ndarray] = None,
    turn_degrees: float = 5.0,
    turn_period: float = 45.0,
) -> np.ndarray:
    """``(T, 133, 2)``: the pose with the centre of its ``visible`` keypoints' box on ``path`` ``(T, 2)``,
    turned by ``turn_degrees * sin(2 pi t / turn_period)`` about it."""
    seen = keypoints if visible is None else keypoints[visible]
    centre = (seen.max(0) + seen.min(0)) / 2
    rel = keypoints - centre
    angles = np.deg2rad(turn_degrees) * np.sin(2 * np.pi * np.arange(len(path)) / turn_period)
    cos, sin = np.cos(angles)[:, None], np.sin(angles)[:, None]
    x = rel[None, :, 0] * cos - rel[None, :, 1] * sin
    y = rel[None, :, 0] * sin + rel[None, :, 1] * cos
    return np.stack([x, y], axis=-1) + path[:, None, :]


def jitter(trajectory: np.ndarray, valid: np.ndarray) -> float:
    """Mean length of the second difference ``|p[t+1] - 2 p[t] + p[t-1]|`` (pixels) of ``(T, K, 2)``
    points over the ``(K,)`` valid keypoints: the frame-to-frame shake a viewer sees."""
    second = trajectory[2:] - 2 * trajectory[1:-1] + trajectory[:-2]
    return float(np.linalg.norm(second[:, valid], axis=-1).mean())


def mean_error(trajectory: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> float:
    """Mean distance (pixels) between ``(T, K, 2)`` trajectories over the ``(K,)`` valid keypoints."""
    return float(np.linalg.norm(trajectory[:, valid] - truth[:, valid], axis=-1).mean())
