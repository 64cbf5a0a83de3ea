"""What ``dwpose predict`` does with an image, a folder, a video or a webcam, and the files it writes.

Per image ``<stem>.npz`` (Cog schema), ``<stem>.json`` (OpenPose JSON) and ``<stem>.png`` (drawing).
A model with another keypoint set than COCO-WholeBody's 133 (a body-only, MPII or custom model) has
no Cog or OpenPose layout: its ``<stem>.npz`` holds plain ``keypoints (N, K, 2)`` / ``scores (N, K)``
arrays and no ``<stem>.json`` is written.
A folder adds ``results_coco_wholebody.json`` (``results_keypoints.json`` for K != 133, the same COCO
results form with K*3 numbers) and ``image_ids.json``; a video (or webcam) gets
``<stem>_pose.mp4`` and per-frame ``<stem>/<frame>.npz|json`` (``<frame>`` is the video's own frame
index, six digits), plus ``tracks.json`` in ``<stem>/`` with ``--track`` (see docs/video.md).
Each item's files (npz + json + png, a frame's npz + json) are written as one set: all of them or, after
an error or Ctrl-C while the item is made, none (:func:`~dwpose.fileio.atomic_write_many`).
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from tqdm import tqdm

from dwpose.errors import UserError
from dwpose.fileio import AtomicVideoWriter, atomic_write_json, atomic_write_many
from dwpose.inference.boxes import BoxTable, fit_boxes
from dwpose.inference.controlnet_draw import ControlNetStyle
from dwpose.inference.draw import DEFAULT_PARTS, draw_poses, draw_track_ids
from dwpose.inference.formats import coco_wholebody_result
from dwpose.inference.options import COMMAND_LINE, FrontEnd
from dwpose.inference.pipeline import PoseResult, TopDownPipeline
from dwpose.inference.sources import (
    TruncatedVideo,
    VideoFrames,
    chunked,
    frame_count_is_exact,
    list_images,
    open_video,
    read_image,
)
from dwpose.inference.video import FramePoses, VideoOptions, VideoPoseEstimator
from dwpose.inference.wholebody_rules import RuleOptions, apply_rules
from dwpose.inference.writers import (
    cog_npz_bytes,
    encode_image,
    keypoint_arrays_npz_bytes,
    openpose_json_bytes,
)
from dwpose.keypoints import NUM_KEYPOINTS

COCO_RESULTS = "results_coco_wholebody.json"
KEYPOINT_RESULTS = "results_keypoints.json"  # COCO results of a model with K != 133 keypoints
IMAGE_IDS = "image_ids.json"
TRACKS = "tracks.json"


@dataclass
class PredictOptions:
    """Where and how results are written (see ``dwpose predict --help``)."""

    out_dir: Path
    threshold: float = 0.3
    canvas: str = "image"
    boxes: Optional[BoxTable] = None
    det_threshold: float = 0.3
    batch_frames: int = 8
    video: VideoOptions = field(default_factory=VideoOptions)  # with max_frames: at most N frames
    parts: Tuple[str, ...] = DEFAULT_PARTS  # what the pictures draw (draw.PARTS)
    style: ControlNetStyle = field(default_factory=ControlNetStyle)  # the black canvas's style
    rules: RuleOptions = field(default_factory=RuleOptions)  # whole-body rules (faces from behind, hands)
    front: FrontEnd = COMMAND_LINE  # how messages name the input and the options


def result_files(
    out_dir: Path,
    stem: str,
    image: np.ndarray,
    result: PoseResult,
    opts: PredictOptions,
    picture: bool = True,
    ids: Optional[np.ndarray] = None,
    openpose: bool = True,
) -> Dict[Path, bytes]:
    """The output set of one image's (or frame's) poses, rendered in memory: ``{path: bytes}`` of
    ``<stem>.npz`` (Cog schema), ``<stem>.json`` (OpenPose JSON, when ``openpose``) and ``<stem>.png``
    (the drawing, when ``picture``), in that order; every front end writes these bytes.

    Track ``ids`` ``(N,)`` name the npz entries ``person_<id>`` and fill the JSON's ``person_id``; a
    part not in ``opts.parts`` is -1 in the npz and an empty list in the JSON, as it is absent from the
    drawing. Another keypoint set than COCO-WholeBody's gives the plain-array ``.npz`` and no JSON.
    """
    files: Dict[Path, bytes] = {}
    kps, scores, size = result.keypoints, result.scores, result.image_size
    if not is_wholebody(kps):
        files[out_dir / f"{stem}.npz"] = keypoint_arrays_npz_bytes(kps, scores, size, ids)
    else:
        files[out_dir / f"{stem}.npz"] = cog_npz_bytes(kps, scores, size, opts.threshold, ids, opts.parts)
        if openpose:
            files[out_dir / f"{stem}.json"] = openpose_json_bytes(kps, scores, ids, opts.parts)
    if picture:
        files[out_dir / f"{stem}.png"] = encode_image(picture_of(image, result, opts), ".png")
    return files


def write_results(
    out_dir: Path,
    stem: str,
    image: np.ndarray,
    result: PoseResult,
    opts: PredictOptions,
    picture: bool = True,
    ids: Optional[np.ndarray] = None,
) -> None:
    """Write :func:`result_files` (``<stem>.npz`` + ``<stem>.json`` + ``<stem>.png`` when ``picture``) all or
    nothing (:func:`~dwpose.fileio.atomic_write_many`): an error or Ctrl-C while the set is made leaves
    none of its files."""
    atomic_write_many(result_files(out_dir, stem, image, result, opts, picture, ids))


def picture_of(image: np.ndarray, result: PoseResult, opts: PredictOptions) -> np.ndarray:
    """The drawing of ``result`` over ``image`` (or on black) as ``opts`` ask."""
    return draw_poses(
        image, result.keypoints, result.scores, opts.threshold, opts.canvas, opts.parts, opts.style
    )


def is_wholebody(keypoints: np.ndarray) -> bool:
    """Whether ``keypoints`` ``(N, K, 2)`` are COCO-WholeBody's (K = 133), which the Cog and OpenPose
    layouts need."""
    return keypoints.shape[1] == NUM_KEYPOINTS


def results_file_name(num_keypoints: int) -> str:
    """The folder results file: COCO-WholeBody results for 133 keypoints, plain COCO keypoint results else."""
    return COCO_RESULTS if num_keypoints == NUM_KEYPOINTS else KEYPOINT_RESULTS


def _boxes_for(
    opts: PredictOptions, path: Path, has_detector: bool, image: np.ndarray
) -> Optional[np.ndarray]:
    """The ``--boxes`` of this image above ``--det-threshold``, fitted to it (:func:`fit_boxes`; a note
    on stderr names boxes skipped for lying outside it); None: run the detector."""
    boxes = opts.boxes.lookup(path) if opts.boxes is not None else None
    if boxes is None:  # the detector runs, or (no detector) the boxes file names nobody here
        return None if has_detector or opts.boxes is None else np.zeros((0, 5), np.float32)
    fitted, dropped = fit_boxes(boxes[boxes[:, 4] > opts.det_threshold], image.shape[1], image.shape[0])
    if dropped:
        tqdm.write(
            f"dwpose: note: {path.name}: {dropped} box(es) of --boxes skipped: they do not overlap the "
            f"{image.shape[1]}x{image.shape[0]} picture by a pixel",
            file=sys.stderr,
        )
    return fitted


def with_rules(result: PoseResult, opts: PredictOptions) -> PoseResult:
    """``result`` after the whole-body rules ``opts.rules`` turns on (the same object when none is)."""
    if not (opts.rules.faces_from_behind or opts.rules.fix_hands):
        return result
    keypoints, scores = apply_rules(result.keypoints, result.scores, opts.threshold, opts.rules)
    return dataclasses.replace(result, keypoints=keypoints, scores=scores)


def predict_image(pipeline: TopDownPipeline, path: Path, opts: PredictOptions) -> PoseResult:
    """Poses of one image file, written to ``opts.out_dir``; errors propagate (exit code 2)."""
    image = read_image(path, label=opts.front.label("image", path))
    boxes = _boxes_for(opts, path, pipeline.detector is not None, image)
    result = with_rules(pipeline(image, boxes), opts)
    write_results(opts.out_dir, path.stem, image, result, opts)
    return result


def assign_image_ids(paths: Sequence[Path]) -> Dict[str, int]:
    """COCO image ids ``{file name: id}``: a numeric stem gives its number (``000000000785.jpg`` -> 785);
    other files get ids after the largest of those, in file order. Clashing numeric stems (``1.jpg``,
    ``01.png``) fall back to 1, 2, ... for every file."""
    numeric = {p.name: int(p.stem) for p in paths if p.stem.isdigit()}
    if len(set(numeric.values())) != len(numeric):
        numeric = {}
    ids, next_id = dict(numeric), max(numeric.values(), default=0) + 1
    for p in paths:
        if p.name not in ids:
            ids[p.name], next_id = next_id, next_id + 1
    return {p.name: ids[p.name] for p in paths}


@dataclass
class FolderSummary:
    """What :func:`predict_folder` did: images done, and ``(file name, reason)`` for each one skipped."""

    done: int
    skipped: List[Tuple[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.done + len(self.skipped)

    def skipped_line(self, shown: int = 5) -> str:
        """``"5 of 8 inputs skipped: a.jpg, b.jpg, ..."`` (the first ``shown`` names)."""
        names = [name for name, _ in self.skipped]
        more = f", ... ({len(names) - shown} more)" if len(names) > shown else ""
        return f"{len(names)} of {self.total} inputs skipped: {', '.join(names[:shown])}{more}"


def predict_folder(pipeline: TopDownPipeline, folder: Path, opts: PredictOptions) -> FolderSummary:
    """Every image of a folder; unreadable ones are reported (one line each) and skipped.

    Raises:
        UserError: the folder holds no images, or none of them could be processed.
    """
    paths = list_images(folder)
    ids = assign_image_ids(paths)
    coco: List[dict] = []
    summary = FolderSummary(0)
    for path in tqdm(paths, desc="images", unit="img", disable=None):
        try:
            result = predict_image(pipeline, path, opts)
        except (ValueError, OSError) as exc:
            tqdm.write(f"skipped {path.name}: {exc}", file=sys.stderr)
            summary.skipped.append((path.name, str(exc)))
            continue
        coco += [
            coco_wholebody_result(ids[path.name], k, s, b)
            for k, s, b in zip(result.keypoints, result.scores, result.box_scores)
        ]
        summary.done += 1
    if summary.done == 0:
        raise UserError(f"none of the {len(paths)} images in {folder} could be processed")
    atomic_write_json(opts.out_dir / results_file_name(pipeline.pose_model.num_keypoints), coco)
    atomic_write_json(opts.out_dir / IMAGE_IDS, ids)
    return summary


def _overlay(frame: np.ndarray, poses: FramePoses, opts: PredictOptions) -> np.ndarray:
    result = poses.result
    drawn = picture_of(frame, result, opts)
    if poses.ids is not None:
        draw_track_ids(drawn, result.keypoints, result.scores, poses.ids, opts.threshold)
    return drawn


def predict_video(
    pipeline: TopDownPipeline,
    source: Union[Path, int],
    opts: PredictOptions,
    on_frame: Optional[Callable[[FramePoses, Optional[int]], None]] = None,
    stem: Optional[str] = None,
) -> int:
    """A video file or webcam: annotated ``<stem>_pose.mp4`` and per-frame npz/json in ``<stem>/``.

    Frames ``opts.video.start``, ``+ stride``, ... before ``end`` (at most ``max_frames``) are processed;
    the overlay video holds exactly those frames at ``fps / stride``. With the detector on every frame,
    ``opts.batch_frames`` frames share one pose-model call; otherwise frames go one by one
    (:class:`~dwpose.inference.video.VideoPoseEstimator`). ``on_frame(poses, total)`` is called after
    each frame is written (``total``: frames to do, None when unknown), e.g. by ``dwpose app`` for its
    progress bar and table. Frame times (for ``--smooth``) are the container's timestamps where OpenCV
    gives them (:class:`~dwpose.inference.sources.VideoFrames`). ``stem`` names the outputs (default:
    the file's stem). Returns the number of frames.

    Raises:
        TruncatedVideo: the file stopped yielding frames before its declared end; everything up to
            there is written first (per-frame files, the overlay video, ``tracks.json``).
    """
    video, front = opts.video, opts.front
    label = front.label("video", source)
    cap = open_video(source, label=None if isinstance(source, int) else label)
    if stem is None:
        stem = f"webcam{source}" if isinstance(source, int) else Path(source).stem
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    total = _frames_to_do(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None, opts)
    estimator = VideoPoseEstimator(pipeline, video, fps)
    frames_dir = opts.out_dir / stem
    writer, done = None, 0
    exact = not isinstance(source, int) and frame_count_is_exact(source)
    reader = VideoFrames(cap, fps, video.start, video.end, video.stride, video.max_frames, exact)
    try:
        with tqdm(total=total, desc=stem, unit="frame", disable=None) as bar:
            for chunk in chunked(iter(reader), opts.batch_frames):
                writer = writer or AtomicVideoWriter(
                    opts.out_dir / f"{stem}_pose.mp4", fps / video.stride, chunk[0][1].shape[1::-1]
                )
                for (_, frame, _), poses in zip(chunk, estimator.process(chunk)):
                    poses = dataclasses.replace(poses, result=with_rules(poses.result, opts))
                    write_results(
                        frames_dir, f"{poses.index:06d}", frame, poses.result, opts, False, poses.ids
                    )
                    writer.write(_overlay(frame, poses, opts))
                    done += 1
                    if on_frame is not None:
                        on_frame(poses, total)
                bar.update(len(chunk))
        if done == 0 and reader.stopped_at is None:
            raise UserError(
                f"no frames to process: the video ends before {front.option('start')} {video.start}"
            )
    finally:
        cap.release()
        if writer is not None:
            writer.close()
        if video.track and done:
            atomic_write_json(frames_dir / TRACKS, estimator.tracks_summary())
    if reader.stopped_at is not None:
        kept = f"the {done} frame(s) before it are written to {opts.out_dir}" if done else "nothing written"
        if not front.keeps_partial:
            kept = f"{done} frame(s) could be read before it, none returned"
        raise TruncatedVideo(
            f"{label} is truncated or corrupt: no frame could be read from frame "
            f"{reader.stopped_at} on, of the {reader.declared} its header declares; {kept}",
            kept=done,
        )
    return done


def _frames_to_do(frame_count: Optional[int], opts: PredictOptions) -> Optional[int]:
    """How many frames the range options select (None when the length is unknown, e.g. a webcam)."""
    video = opts.video
    if frame_count is None:
        return video.max_frames
    end = min(frame_count, video.end) if video.end is not None else frame_count
    total = max(0, -(-(end - video.start) // video.stride))
    return min(total, video.max_frames) if video.max_frames else total
