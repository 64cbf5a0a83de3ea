"""``video2image.py``: UBody videos -> PNG frames, with OpenCV only (no ffmpeg binary).

``<root>/videos/<scene>/.../<name>.<ext>`` becomes ``<root>/images/<scene>/.../<stem>/000001.png``,
``000002.png``, ... where ``<stem>`` drops only the last extension (``a.b.mp4`` -> ``a.b``).

Frame rate: the output is resampled to ``fps`` (30 by default, what UBody's annotations index) from the
video's own rate: output frame ``k`` (0-based, time ``k / fps``) is the source frame nearest in time,
``round(k * src_fps / fps)``; frames are repeated or dropped as needed, so a 25 fps video of 4 s gives
120 frames. A video whose rate OpenCV cannot read (0 or NaN) keeps every frame.

Resuming: a video counts as done when its folder holds the marker ``.video2image.json`` (written after
the last frame, with the frame count and fps). A folder without it (interrupted run) or made at another
fps is cleared of its ``%06d.png`` frames and redone.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

from dwpose.errors import UserError
from dwpose.fileio import VIDEO_EXTENSIONS

DONE_MARKER = ".video2image.json"
_FRAME_NAME = re.compile(r"^\d{6}\.png$")


@dataclass
class VideoJob:
    """One video to convert: its path and the folder its frames go to."""

    video: Path
    frame_dir: Path


@dataclass
class VideoResult:
    """Outcome of one video: frames written (0 when skipped), skipped as already done, or an error."""

    video: Path
    frames: int = 0
    skipped: bool = False
    error: Optional[str] = None


def video_stem(name: str) -> str:
    """The file name without its last extension only: ``'a.b.mp4'`` -> ``'a.b'``."""
    base, dot, _ = name.rpartition(".")
    return base if dot and base else name


def find_videos(videos_dir: Path) -> List[Path]:
    """Every video file (by extension, case-insensitive) under ``videos_dir``, sorted."""
    if not videos_dir.is_dir():
        raise FileNotFoundError(f"{videos_dir} does not exist; is --root the UBody folder?")
    return sorted(p for p in videos_dir.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)


def plan_jobs(root: Path) -> Tuple[List[VideoJob], List[VideoResult]]:
    """Map ``<root>/videos/...`` to frame folders under ``<root>/images/...``.

    Returns:
        ``(jobs, clashes)``: two videos that would share a frame folder (``a.mp4`` and ``a.avi``) are
        not converted; each later one is reported as an error result.
    """
    videos_dir, images_dir = root / "videos", root / "images"
    jobs: List[VideoJob] = []
    clashes: List[VideoResult] = []
    owner: dict = {}
    for video in find_videos(videos_dir):
        rel = video.relative_to(videos_dir)
        frame_dir = images_dir / rel.parent / video_stem(video.name)
        if frame_dir in owner:
            clashes.append(VideoResult(video, error=f"same frame folder {frame_dir} as {owner[frame_dir]}"))
            continue
        owner[frame_dir] = video
        jobs.append(VideoJob(video, frame_dir))
    return jobs, clashes


MAX_FPS = 1000.0  # an output rate above this is a typo, not a request (it would write frames without end)


def source_index(k: int, src_fps: float, fps: float) -> int:
    """Source frame (0-based) shown as output frame ``k``: the nearest in time, ties to the earlier."""
    return int(math.ceil(k * src_fps / fps - 0.5 - 1e-9))


def resample(frames: Iterator, src_fps: float, fps: float) -> Iterator:
    """Yield frames at ``fps`` from ``frames`` decoded at ``src_fps`` (see :func:`source_index`).

    Args:
        frames: decoded frames in order, e.g. ``(H, W, 3)`` uint8 BGR arrays.
        src_fps: the video's rate; ``<= 0``, NaN or infinite (a header without a usable rate) keeps
            every frame.
        fps: the wanted rate, finite and positive.
    """
    if not (math.isfinite(fps) and fps > 0):
        raise UserError(f"output frame rate must be finite and positive, got {fps}")
    if not (math.isfinite(src_fps) and src_fps > 0):
        yield from frames
        return
    k = 0
    for i, frame in enumerate(frames):
        while source_index(k, src_fps, fps) <= i:
            yield frame
            k += 1


def is_done(frame_dir: Path, fps: float) -> bool:
    """Whether ``frame_dir`` holds a complete conversion at ``fps`` (its marker says so)."""
    try:
        marker = json.loads((frame_dir / DONE_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("fps") == fps and isinstance(marker.get("frames"), int)


def clear_frames(frame_dir: Path) -> None:
    """Remove the ``%06d.png`` frames and the marker of an unfinished conversion (nothing else)."""
    if not frame_dir.is_dir():
        return
    for entry in frame_dir.iterdir():
        if entry.is_file() and (_FRAME_NAME.match(entry.name) or entry.name == DONE_MARKER):
            entry.unlink()


def _decode(capture) -> Iterator:
    while True:
        ok, frame = capture.read()
        if not ok:
            return
        yield frame


def convert_video(job: VideoJob, fps: float = 30.0) -> VideoResult:
    """Convert one video (see the module docstring); errors are returned, not raised."""
    import cv2

    if is_done(job.frame_dir, fps):
        return VideoResult(job.video, skipped=True)
    clear_frames(job.frame_dir)
    capture = cv2.VideoCapture(str(job.video))
    try:
        if not capture.isOpened():
            return VideoResult(job.video, error="OpenCV cannot open it")
        src_fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        job.frame_dir.mkdir(parents=True, exist_ok=True)
        count = 0
        for count, frame in enumerate(resample(_decode(capture), src_fps, fps), start=1):
            path = job.frame_dir / f"{count:06d}.png"
            if not cv2.imwrite(str(path), frame):
                return VideoResult(job.video, count - 1, error=f"cannot write {path}")
    finally:
        capture.release()
    if count == 0:
        if job.frame_dir.is_dir() and not any(job.frame_dir.iterdir()):
            job.frame_dir.rmdir()
        return VideoResult(job.video, error="no frame could be decoded (corrupt or empty video)")
    marker = {"frames": count, "fps": fps, "source_fps": src_fps, "video": job.video.name}
    (job.frame_dir / DONE_MARKER).write_text(json.dumps(marker), encoding="utf-8")
    return VideoResult(job.video, frames=count)


def _convert_star(args: Tuple[VideoJob, float]) -> VideoResult:
    import cv2

    cv2.setNumThreads(1)  # one process per core already
    try:
        return convert_video(*args)
    except Exception as exc:  # a worker must report, not kill the pool
        return VideoResult(args[0].video, error=f"{type(exc).__name__}: {exc}")


def run_conversion(jobs: Sequence[VideoJob], fps: float = 30.0, workers: int = 1) -> Iterator[VideoResult]:
    """Convert ``jobs`` in ``workers`` processes (1: in this process), yielding results as they finish."""
    tasks = [(job, fps) for job in jobs]
    if workers <= 1 or len(tasks) <= 1:
        yield from map(_convert_star, tasks)
        return
    from multiprocessing import Pool

    with Pool(processes=min(workers, len(tasks))) as pool:
        yield from pool.imap_unordered(_convert_star, tasks)


def video2image(
    root: str | os.PathLike = "data/UBody",
    fps: float = 30.0,
    workers: int = 1,
    on_failure: Optional[Callable[[VideoResult], None]] = None,
) -> List[VideoResult]:
    """Convert every video under ``<root>/videos`` with a tqdm bar.

    Args:
        on_failure: called with each failed result (a clash or an unreadable video) as it happens; it
            may print with ``tqdm.write`` (the bar is then redrawn below the line).

    Returns:
        One result per video found (converted, skipped or failed).
    """
    from tqdm import tqdm

    if not (math.isfinite(fps) and 0 < fps <= MAX_FPS):
        raise UserError(f"--fps must be a number in (0, {MAX_FPS:g}], got {fps}")
    if workers < 1:
        raise UserError(f"--workers must be >= 1, got {workers}")
    report = on_failure or (lambda result: None)
    jobs, results = plan_jobs(Path(root))
    for clash in results:
        report(clash)
    with tqdm(total=len(jobs), desc="videos", unit="video") as bar:
        for result in run_conversion(jobs, fps, workers):
            if result.error:
                report(result)
            results.append(result)
            bar.update()
    return results


def summarize(results: Sequence[VideoResult]) -> str:
    """``'N videos: a converted (f frames), b already done, c failed'``."""
    done = [r for r in results if not r.error and not r.skipped]
    failed = sum(1 for r in results if r.error)
    skipped = sum(1 for r in results if r.skipped)
    frames = sum(r.frames for r in done)
    return (
        f"{len(results)} videos: {len(done)} converted ({frames} frames), "
        f"{skipped} already done, {failed} failed"
    )
