"""Video poses frame after frame: tracking, the detector only when needed, and smoothing.

:class:`VideoPoseEstimator` turns frames (in order) into :class:`FramePoses`. It runs the person
detector on every ``det_every``-th processed frame; on the frames between, each person tracked in the
previous frame gets a box derived from that pose (the box of its confident keypoints, grown 1.2 times,
moved by the track's velocity), as RTMPose's video pipeline and rtmlib's ``PoseTracker`` do. The
detector also runs, out of turn:

- when the previous frame had nobody tracked (an empty scene is searched on every frame);
- when a pose from a derived box is lost (fewer than ``min_keypoints`` keypoints at or above the
  keypoint threshold, or their box covers under a tenth of the box they were found in): that frame is
  redone with the detector's boxes, which also picks up anyone who entered meanwhile.

A person entering the frame is otherwise found at the next scheduled detection, at most
``det_every - 1`` frames late. Two derived boxes that slid onto the same person give two near-identical
poses (OKS > 0.9 to each other): the weaker is dropped.

With ``det_every == 1`` frames are processed in chunks (all crops of a chunk in one pose-model call)
and tracking / smoothing run on the chunk's results in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from dwpose.errors import UserError
from dwpose.inference.options import COMMAND_LINE, FrontEnd, check_count, check_flag, parse_number
from dwpose.inference.pipeline import PoseResult, TopDownPipeline
from dwpose.inference.smoothing import DEFAULT_BETA, DEFAULT_MIN_CUTOFF, TrackSmoother
from dwpose.inference.tracking import (
    BOX_EXPANSION,
    WHOLEBODY_SIGMAS,
    PoseTracker,
    TrackerConfig,
    keypoint_box,
    oks,
)

DEFAULT_DET_EVERY_TRACKED = 5
DUPLICATE_OKS = 0.9
MIN_SPAN = 0.1


# option -> least value of the whole numbers; the Optional ones (None: not set) are 0 in JSON inputs
_COUNTS = {"det_every": 0, "start": 0, "end": 0, "stride": 1, "max_frames": 0, "track_patience": 0}
_OPTIONAL = ("det_every", "end", "max_frames")
# option -> (least, most, open_least) of the real numbers
_NUMBERS = {
    "threshold": (0.0, 1.0, False),
    "track_oks": (0.0, 1.0, False),
    "track_iou": (0.0, 1.0, False),
    "smooth_min_cutoff": (0.0, None, True),
    "smooth_beta": (0.0, None, False),
}
_TRACKER_FIELDS = {"threshold": "keypoint_threshold", "track_oks": "oks_threshold",
                   "track_iou": "iou_threshold", "track_patience": "patience"}  # fmt: skip


@dataclass
class VideoOptions:
    """Video options of every front end (``--track``, ``--det-every``, ``--smooth``, frame range).

    ``det_every=None`` means 1 without tracking and :data:`DEFAULT_DET_EVERY_TRACKED` (5) with ``track``
    or ``smooth``. ``det_every > 1`` and ``smooth`` need identities across frames, so they run the
    tracker too; IDs are written only with ``track``. ``max_frames``: stop after that many frames.
    Front ends build it with :meth:`from_mapping`.
    """

    track: bool = False
    smooth: bool = False
    det_every: Optional[int] = None
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    smooth_min_cutoff: float = DEFAULT_MIN_CUTOFF
    smooth_beta: float = DEFAULT_BETA
    start: int = 0
    end: Optional[int] = None
    stride: int = 1
    max_frames: Optional[int] = None

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], front: FrontEnd = COMMAND_LINE, is_video: bool = True
    ) -> VideoOptions:
        """The options of one request, from a front end's values by option name.

        ``values`` holds any of ``track``, ``smooth``, ``det_every``, ``start``, ``end``, ``stride``,
        ``max_frames``, ``track_patience``, ``track_oks``, ``track_iou``, ``smooth_min_cutoff``,
        ``smooth_beta`` and ``threshold`` (the keypoint threshold); other keys are ignored, missing ones
        take the defaults. ``dwpose predict`` passes ``vars(args)``, the Cog predictor its raw JSON
        inputs, the app its settings. Every value is checked (``front`` names the option in the
        message); ``front.video_only`` options other than their defaults are refused unless
        ``is_video``; ``end`` must be after ``start``.

        Raises:
            UserError: a bad value or a combination that cannot run (one error line).
        """
        given = {k: _checked(k, v, front) for k, v in values.items() if k in _KNOWN}
        base = cls()
        changed = [n for n in front.video_only if n in given and given[n] != getattr(base, n, None)]
        if changed and not is_video:
            raise UserError(f"{', '.join(front.option(n) for n in changed)}: {front.not_a_video}")
        start, end = given.get("start", base.start), given.get("end", base.end)
        if end is not None and end <= start:
            raise UserError(f"{front.option('end')} {end} must be after {front.option('start')} {start}")
        tracker = TrackerConfig(**{_TRACKER_FIELDS[k]: v for k, v in given.items() if k in _TRACKER_FIELDS})
        fields = {k: v for k, v in given.items() if k in cls.__dataclass_fields__}
        return cls(tracker=tracker, **fields)

    @property
    def detect_every(self) -> int:
        if self.det_every is not None:
            return self.det_every
        return DEFAULT_DET_EVERY_TRACKED if (self.track or self.smooth) else 1

    @property
    def needs_tracker(self) -> bool:
        return self.track or self.smooth or self.detect_every > 1


def _checked(name: str, value: Any, front: FrontEnd) -> Any:
    """``value`` of option ``name`` checked (None or JSON 0 of an Optional count: None)."""
    shown = front.option(name)
    if name in ("track", "smooth"):
        return check_flag(shown, value)
    if name in _COUNTS:
        if value is None and name in _OPTIONAL and not front.json_counts:
            return None
        count = check_count(shown, value, _COUNTS[name])
        return None if count == 0 and name in _OPTIONAL else count
    least, most, open_least = _NUMBERS[name]
    try:
        return parse_number(value, least, most, open_least)
    except UserError as exc:
        raise UserError(f"{shown} {exc}") from None


_KNOWN = (*_COUNTS, *_NUMBERS, "track", "smooth")


@dataclass
class FramePoses:
    """One processed frame: its index in the video, the poses (smoothed if asked) and track IDs (or None)."""

    index: int
    result: PoseResult
    ids: Optional[np.ndarray] = None
    detected: bool = True
    time: Optional[float] = None  # seconds: the container's timestamp, or None for index / fps


class VideoPoseEstimator:
    """Frames in, :class:`FramePoses` out, in order (see the module docstring).

    Example:
        >>> est = VideoPoseEstimator(pipeline, VideoOptions(track=True, smooth=True), fps=30.0)
        >>> for poses in est.process([(0, frame0), (1, frame1)]): print(poses.index, poses.ids)
        >>> est.tracks_summary()  # tracks.json
    """

    def __init__(
        self, pipeline: TopDownPipeline, options: VideoOptions, fps: float, *, redetect_lost: bool = True
    ) -> None:
        """``redetect_lost=False`` keeps the poses of derived boxes even when lost: only to time the
        detection schedule with a model whose poses mean nothing (tools/analysis/benchmark_video.py)."""
        self.pipeline, self.options, self.fps = pipeline, options, fps
        self.redetect_lost = redetect_lost
        self.det_every = options.detect_every
        cfg = options.tracker
        self.tracker = PoseTracker(cfg) if options.needs_tracker else None
        self.smoother = (
            TrackSmoother(fps, options.smooth_min_cutoff, options.smooth_beta, cfg.keypoint_threshold)
            if options.smooth
            else None
        )
        self.detector_calls = 0
        self._count = 0  # frames processed so far
        self._last_detection: Optional[int] = None
        self._frame_of: List[int] = []  # processed count -> video frame index

    def process(self, frames: Sequence[tuple]) -> List[FramePoses]:
        """Poses of ``(video frame index, BGR frame)`` pairs, or ``(index, frame, time in seconds)``
        triples (:class:`~dwpose.inference.sources.VideoFrames`), that follow the previous call's."""
        items = [(f[0], f[1], f[2] if len(f) > 2 else None) for f in frames]
        if self.det_every == 1:
            results = self.pipeline.predict_batch([f for _, f, _ in items])
            self.detector_calls += len(items)
            return [self._finish(i, r, True, t) for (i, _, t), r in zip(items, results)]
        return [self._finish(i, *self._estimate(f), t) for i, f, t in items]

    def _estimate(self, frame: np.ndarray) -> Tuple[PoseResult, bool]:
        boxes = self._derived_boxes(frame.shape[1], frame.shape[0])
        due = self._last_detection is None or self._count - self._last_detection >= self.det_every
        if not due and len(boxes):
            result = self.pipeline.predict_batch([frame], [boxes])[0]
            if not self.redetect_lost or not any(self._lost(result, n) for n in range(len(result))):
                return _drop_duplicates(result, self.options.tracker.keypoint_threshold), False
        self._last_detection = self._count
        self.detector_calls += 1
        return self.pipeline.predict_batch([frame])[0], True

    def _lost(self, result: PoseResult, n: int) -> bool:
        """A pose from a derived box has lost its person: too few confident keypoints, or they span under
        :data:`MIN_SPAN` of the box's area (the model collapsed onto a speck)."""
        cfg = self.options.tracker
        confident = result.scores[n] >= cfg.keypoint_threshold
        if confident.sum() < cfg.min_keypoints:
            return True
        span = keypoint_box(result.keypoints[n], result.scores[n], cfg.keypoint_threshold)
        box = result.boxes[n]
        return span is None or (span[2] - span[0]) * (span[3] - span[1]) < MIN_SPAN * (box[2] - box[0]) * (
            box[3] - box[1]
        )

    def _derived_boxes(self, width: int, height: int) -> np.ndarray:
        """``(M, 4)`` boxes from the poses of the people tracked in the previous processed frame."""
        if self.tracker is None or self._count == 0:
            return np.zeros((0, 4), np.float32)
        boxes = []
        for track in self.tracker.recent(self._count - 1, max_age=0):
            box = keypoint_box(
                track.predicted(self._count),
                track.scores,
                self.options.tracker.keypoint_threshold,
                BOX_EXPANSION,
            )
            if box is None:
                continue
            box = np.clip(box, 0, [width, height, width, height])
            if box[2] - box[0] >= 2 and box[3] - box[1] >= 2:
                boxes.append(box)
        return np.asarray(boxes, np.float32).reshape(-1, 4)

    def _finish(
        self, index: int, result: PoseResult, detected: bool, time: Optional[float] = None
    ) -> FramePoses:
        count = self._count
        self._count += 1
        self._frame_of.append(index)
        if self.tracker is None:
            return FramePoses(index, result, None, detected, time)
        ids = self.tracker.update(count, result.keypoints, result.scores, result.boxes)
        if self.smoother is not None and len(ids):
            smoothed = self.smoother.smooth(index, ids, result.keypoints, result.scores, time)
            result = PoseResult(result.boxes, result.box_scores, smoothed, result.scores, result.image_size)
        order = np.argsort(ids, kind="stable")
        result = _take(result, order)
        return FramePoses(index, result, ids[order] if self.options.track else None, detected, time)

    def tracks_summary(self) -> Dict[str, dict]:
        """``tracks.json``: per track ID its first and last video frame, how many frames and which."""
        if self.tracker is None:
            return {}
        summary = self.tracker.summary()
        for entry in summary.values():
            entry["frames"] = [self._frame_of[c] for c in entry["frames"]]
            entry["first_frame"], entry["last_frame"] = entry["frames"][0], entry["frames"][-1]
        return summary


def _take(result: PoseResult, order: np.ndarray) -> PoseResult:
    return PoseResult(
        result.boxes[order],
        result.box_scores[order],
        result.keypoints[order],
        result.scores[order],
        result.image_size,
    )


def _drop_duplicates(result: PoseResult, threshold: float = 0.3) -> PoseResult:
    """Drop the weaker of two poses with OKS > :data:`DUPLICATE_OKS` (two boxes on one person)."""
    n = len(result)
    if n < 2 or result.keypoints.shape[1] != len(WHOLEBODY_SIGMAS):  # OKS needs the keypoints' sigmas
        return result
    strength = result.scores.mean(axis=1)
    keep = np.ones(n, bool)
    for i in np.argsort(-strength):
        if not keep[i]:
            continue
        for j in range(n):
            if j == i or not keep[j]:
                continue
            visible = (result.scores[i] >= threshold) & (result.scores[j] >= threshold)
            box = result.boxes[i]
            area = float((box[2] - box[0]) * (box[3] - box[1]))
            if (
                visible.any()
                and oks(result.keypoints[i], result.keypoints[j], visible, area, WHOLEBODY_SIGMAS)
                > DUPLICATE_OKS
            ):
                keep[j] = False
    return _take(result, np.flatnonzero(keep))
