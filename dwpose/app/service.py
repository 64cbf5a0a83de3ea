"""One upload through ``dwpose predict``'s own code, and what the page shows of it. No Gradio here.

:func:`analyse` hands a picture to :func:`~dwpose.inference.predict_io.predict_image` and a video to
:func:`~dwpose.inference.predict_io.predict_video` (the functions behind ``dwpose predict``), so the page
writes the very files the command writes (``<stem>.npz`` in the Cog schema, OpenPose ``<stem>.json``,
the drawing ``<stem>.png`` / ``<stem>_pose.mp4``), then adds what a page needs: a per-person table,
zips of a video's per-frame files, and a WebM copy of the overlay video that browsers play (OpenCV
writes MPEG-4 Part 2, which they do not).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import cv2
import numpy as np

from dwpose.errors import UserError, user_error_message
from dwpose.fileio import VIDEO_EXTENSIONS, write_zip
from dwpose.inference.controlnet_draw import ControlNetStyle
from dwpose.inference.draw import DEFAULT_PARTS, check_parts
from dwpose.inference.options import FrontEnd, parse_number
from dwpose.inference.pipeline import TopDownPipeline
from dwpose.inference.predict_io import TRACKS, PredictOptions, predict_image, predict_video
from dwpose.inference.sources import native_stderr_muted
from dwpose.inference.video import FramePoses, VideoOptions
from dwpose.keypoints import BODY, FACE, FEET, LEFT_HAND, RIGHT_HAND

PART_COLUMNS: Tuple[Tuple[str, slice], ...] = (
    ("body", BODY),
    ("feet", FEET),
    ("face", FACE),
    ("left hand", LEFT_HAND),
    ("right hand", RIGHT_HAND),
)
IMAGE_HEADERS = ["ID", "box x1, y1, x2, y2", "box score", *(name for name, _ in PART_COLUMNS)]
VIDEO_HEADERS = ["ID", "frames", "last box x1, y1, x2, y2", *(name for name, _ in PART_COLUMNS)]
Progress = Callable[[float, str], None]  # (fraction done, what) -> None
CANVASES = ("image", "black")
APP = FrontEnd(dashes=False, paths="name")  # messages name an upload by its file name, not Gradio's path


@dataclass
class Settings:
    """The page's choices (defaults as ``dwpose predict``'s, tracking on for videos)."""

    threshold: float = 0.3
    canvas: str = "image"
    parts: Tuple[str, ...] = DEFAULT_PARTS
    track: bool = True
    smooth: bool = False
    max_frames: int = 300
    style: ControlNetStyle = field(default_factory=ControlNetStyle)  # the black canvas (dwpose predict's)


@dataclass
class Analysis:
    """What the page shows for one upload.

    Attributes:
        kind: ``"image"`` or ``"video"``.
        picture: the drawing (``.png``), or the overlay video as WebM (None if no WebM encoder).
        downloads: npz (a zip of them for a video), OpenPose JSON (idem), the drawing / ``_pose.mp4``.
        headers, rows: the per-person table (:data:`IMAGE_HEADERS` or :data:`VIDEO_HEADERS`).
        summary: one line, e.g. ``"2 person(s) in photo.jpg"``.
    """

    kind: str
    picture: Optional[Path]
    downloads: List[Path]
    headers: List[str]
    rows: List[list]
    summary: str


def part_means(scores: np.ndarray) -> List[float]:
    """Mean keypoint score per part (body, feet, face, left hand, right hand) of ``(133,)`` scores."""
    return [round(float(np.mean(scores[part])), 3) for _, part in PART_COLUMNS]


def _box_text(box: np.ndarray) -> str:
    return ", ".join(str(int(round(float(v)))) for v in box[:4])


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_EXTENSIONS


def check_settings(settings: Settings) -> None:
    """UserError (shown on the page) for a choice the page's controls cannot make but a client of its
    API can send: a threshold that is not a finite number in [0, 1], another canvas, an unknown part,
    a frame limit that is not a whole number >= 1. The threshold becomes a float."""
    try:
        settings.threshold = parse_number(settings.threshold, 0.0, 1.0)
    except UserError as exc:
        raise UserError(f"threshold {exc}") from None
    if settings.canvas not in CANVASES:
        raise UserError(f"canvas must be one of {', '.join(CANVASES)}, got {settings.canvas!r}")
    check_parts(settings.parts)
    frames = settings.max_frames
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
        raise UserError(f"max_frames must be a whole number >= 1, got {settings.max_frames!r}")


def analyse(
    pipeline: TopDownPipeline,
    upload: Path,
    out_dir: Path,
    settings: Settings,
    progress: Optional[Progress] = None,
) -> Analysis:
    """Poses of an uploaded picture or video, written to ``out_dir`` as ``dwpose predict`` writes them.

    Raises:
        UserError / FileNotFoundError: a user mistake (not an image, truncated, too large, a video
        without frames); :func:`user_message` turns it into the line the page shows.
    """
    upload = Path(upload)
    check_settings(settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    opts = PredictOptions(out_dir, settings.threshold, settings.canvas, parts=tuple(settings.parts),
                          style=settings.style, front=APP)  # fmt: skip
    if is_video(upload):
        return _analyse_video(pipeline, upload, opts, settings, progress)
    result = predict_image(pipeline, upload, opts)
    rows = [
        [i, _box_text(result.boxes[i]), round(float(result.box_scores[i]), 3), *part_means(result.scores[i])]
        for i in range(len(result))
    ]
    stem = upload.stem
    files = [out_dir / f"{stem}.npz", out_dir / f"{stem}.json", out_dir / f"{stem}.png"]
    return Analysis(
        "image", files[2], files, IMAGE_HEADERS, rows, f"{len(result)} person(s) in {upload.name}"
    )


@dataclass
class TrackTable:
    """Per person ID over a video's frames: frames seen, last box, sums of the part means (``on_frame``)."""

    progress: Optional[Progress] = None
    frames: int = 0
    seen: Dict[int, int] = field(default_factory=dict)
    last_box: Dict[int, np.ndarray] = field(default_factory=dict)
    sums: Dict[int, np.ndarray] = field(default_factory=dict)

    def __call__(self, poses: FramePoses, total: Optional[int]) -> None:
        result = poses.result
        ids = poses.ids if poses.ids is not None else np.arange(len(result))
        for n, pid in enumerate(int(i) for i in ids):
            self.seen[pid] = self.seen.get(pid, 0) + 1
            self.last_box[pid] = result.boxes[n]
            self.sums[pid] = self.sums.get(pid, 0) + np.asarray(part_means(result.scores[n]))
        self.frames += 1
        if self.progress is not None and total:
            self.progress(self.frames / total, f"frame {self.frames} of {total}")

    def rows(self) -> List[list]:
        return [
            [pid, n, _box_text(self.last_box[pid]), *[round(float(v), 3) for v in self.sums[pid] / n]]
            for pid, n in sorted(self.seen.items())
        ]


def _analyse_video(
    pipeline: TopDownPipeline,
    upload: Path,
    opts: PredictOptions,
    settings: Settings,
    progress: Optional[Progress],
) -> Analysis:
    values = {"track": settings.track, "smooth": settings.smooth, "threshold": settings.threshold,
              "max_frames": settings.max_frames}  # fmt: skip
    opts.video = VideoOptions.from_mapping(values, APP)
    table = TrackTable(progress)
    frames = predict_video(pipeline, upload, opts, on_frame=table)
    stem, out_dir = upload.stem, opts.out_dir
    overlay = out_dir / f"{stem}_pose.mp4"
    per_frame = out_dir / stem
    npz_zip = write_zip(
        out_dir / f"{stem}_npz.zip", [*sorted(per_frame.glob("*.npz")), per_frame / TRACKS], per_frame
    )
    json_zip = write_zip(out_dir / f"{stem}_json.zip", sorted(per_frame.glob("*.json")), per_frame)
    ids = "track IDs" if settings.track else "IDs are each frame's order (tracking off)"
    summary = f"{frames} frame(s) of {upload.name}, {len(table.seen)} person ID(s) ({ids})"
    if frames == settings.max_frames:
        summary += f"; stopped after {frames} frames (dwpose app --max-frames)"
    webm = browser_video(overlay, out_dir / f"{stem}_pose.webm")
    return Analysis("video", webm, [npz_zip, json_zip, overlay], VIDEO_HEADERS, table.rows(), summary)


def browser_video(src: Path, dst: Path) -> Optional[Path]:
    """A VP8 WebM copy of the video ``src`` (browsers play it; none plays OpenCV's mp4v); None if this
    OpenCV cannot write VP8."""
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    writer = None
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if writer is None:
                with native_stderr_muted():  # FFmpeg's "tag VP80 is not supported ... fallback" notice
                    writer = cv2.VideoWriter(
                        str(dst), cv2.VideoWriter_fourcc(*"VP80"), fps, frame.shape[1::-1]
                    )
                if not writer.isOpened():
                    return None
            writer.write(frame)
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    return dst if writer is not None and dst.is_file() else None


def user_message(exc: BaseException) -> Optional[str]:
    """The line the page shows for a user mistake (``None`` for a bug); the messages of an upload name
    it by its file name (:data:`APP`), never by Gradio's temporary path."""
    return user_error_message(exc)


class WorkArea:
    """Per-request output folders under one temporary root; folders older than ``max_age_s`` go.

    Gradio copies what a handler returns into its own cache, so a request's folder is only needed
    until the handler has returned; an hour leaves ample margin.
    """

    def __init__(self, root: Optional[Path] = None, max_age_s: float = 3600.0) -> None:
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="dwpose-app-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_age_s = max_age_s

    def new(self) -> Path:
        """A fresh empty folder for one request (pruning old ones first)."""
        now = time.time()
        for old in self.root.iterdir():
            try:
                if old.is_dir() and now - old.stat().st_mtime > self.max_age_s:
                    shutil.rmtree(old, ignore_errors=True)
            except FileNotFoundError:  # another request pruned it meanwhile
                continue
        folder = self.root / uuid.uuid4().hex
        folder.mkdir()
        return folder

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
