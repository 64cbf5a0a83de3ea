"""Cog predictor for DWPose: an image in, the Cog ``.npz`` of keypoints and the keypoints drawn over it out;
or a video in, the overlay video, a zip of per-frame ``.npz`` / OpenPose JSON and ``tracks.json`` out.

Same interface as the original DWPose Cog wrapper (inputs ``image``, ``threshold``; outputs the
``.npz`` and a picture), without its defects: hands stay with their own person, the crop is converted
to RGB before the RGB mean/std, and the picture is an overlay on the photo.

Models (ONNX only, so the image needs neither torch nor mm*; read once in ``setup()``):

- ``DWPOSE_POSE_MODEL``: pose model, ``MODEL.onnx`` (e.g. ``dw-ll_ucoco_384.onnx``) or ``CONFIG::CHECKPOINT``
  (mmpose, needs the training stack); default ``ckpts/dw-ll_ucoco_384.onnx`` beside this file.
- ``DWPOSE_DET_MODEL``: person detector ONNX, MMDeploy end2end or raw YOLOX layout; default
  ``ckpts/yolox_l.onnx`` beside this file.
- ``DWPOSE_DEVICE``: ``cpu`` (default) or ``cuda`` (needs onnxruntime-gpu).

What the server accepts and keeps:

- ``image`` is the photo itself, as a ``data:`` URL or an ``http(s)`` URL that Cog downloads. A path
  on the server, a ``file://`` URL or anything else is refused with one message (:data:`REFUSED_IMAGE`)
  before any file is looked at, so the answer says nothing about the server's disk.
- ``video`` (instead of ``image``), the same way: a ``data:`` or ``http(s)`` URL. Its options are those of
  ``dwpose predict`` on a video (docs/video.md): ``track``, ``smooth`` (JSON booleans), ``det_every``
  (0: automatic, 5 with ``track`` or ``smooth``, else 1), ``start``, ``end`` (0: to the end), ``stride``,
  ``max_frames`` (0: all), each a JSON whole number; given with an image they are refused. The answer
  is ``[pose.mp4, frames.zip, tracks.json]``: the overlay video (frames ``start``, ``start + stride``,
  ... at ``fps / stride``), ``<frame>.npz`` + ``<frame>.json`` per frame (frame = the video's own
  index, six digits), and per track ID its frames (``{}`` without ``track``). A video that cannot be
  read, has no frames or is cut short fails that prediction with one message; the server stays up.
- ``threshold`` is a JSON number in [0, 1]; booleans, strings, ``null`` and lists are refused.
- Each request writes its two files into its own folder, deleted as soon as Cog has read them.
- Up to 64 requests are taken at once (``@cog.concurrent(max=64)``, an async ``predict``); they wait
  in a queue and run one after another in one inference thread (onnxruntime already uses every core
  for one image). The bare server reads the limit only from ``COG_MAX_CONCURRENCY``; without it,
  concurrent clients get HTTP 409 "At capacity".

- An ``http(s)`` URL is fetched by :mod:`dwpose.inference.cog_fetch` in place of Cog's own download:
  public addresses only (``DWPOSE_COG_ALLOW_PRIVATE_URLS=1`` allows loopback, private and link-local
  ones), one message for every failure, no file left behind (docs/cog_inputs.md).

Run the real HTTP server without Docker (:mod:`dwpose.inference.cog_server` puts this interpreter
first on ``PATH``, where Cog's server looks for the ``python`` of its worker)::

    COG_PREDICT_TYPE_STUB=predict.py:Predictor COG_MAX_CONCURRENCY=64 PORT=5000 \\
        .venv/bin/python -m dwpose.inference.cog_server --host 127.0.0.1
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import shutil
from concurrent.futures import ThreadPoolExecutor
from typing import Any, List, Tuple

import cog
from cog import BasePredictor, Input, Path

from dwpose.errors import UserError
from dwpose.fileio import atomic_write_many, write_zip
from dwpose.inference import cog_fetch
from dwpose.inference.cog_io import (  # noqa: F401  (REFUSED_IMAGE etc.: the server's contract)
    BOTH_GIVEN,
    COG,
    EMPTY_IMAGE,
    MISSING_IMAGE,
    REFUSED_IMAGE,
    REFUSED_VIDEO,
    OutputFolders,
    check_count,
    check_flag,
    check_threshold,
    uploaded_file,
    uploaded_video,
)
from dwpose.inference.controlnet_draw import ControlNetStyle, check_detect_resolution
from dwpose.inference.detectors import load_detector
from dwpose.inference.pipeline import TopDownPipeline
from dwpose.inference.pose_models import load_pose_model
from dwpose.inference.predict_io import TRACKS, PredictOptions, predict_video, result_files
from dwpose.inference.runtime import providers_line, use_shared_thread_pool
from dwpose.inference.sources import read_image, silence_opencv_logging
from dwpose.inference.video import VideoOptions

HERE = pathlib.Path(__file__).resolve().parent
cog_fetch.install()  # http(s) inputs: public addresses only, one message for every failure, no leftovers
DEFAULT_POSE_MODEL = "ckpts/dw-ll_ucoco_384.onnx"
DEFAULT_DET_MODEL = "ckpts/yolox_l.onnx"
VIDEO_OUTPUTS = ("pose.mp4", "frames.zip", TRACKS)
CANVASES = ("image", "black")


def model_spec(value: str) -> List[str]:
    """``"MODEL.onnx"`` -> ``[path]``; ``"CONFIG::CHECKPOINT"`` -> ``[config, checkpoint]``; relative
    paths are taken from this file's folder."""
    parts = value.split("::") if "::" in value else [value]
    return [str(p if pathlib.Path(p).is_absolute() else HERE / p) for p in parts]


class Predictor(BasePredictor):
    """Whole-body (133 keypoints) pose of every person in a photo."""

    def setup(self) -> None:
        """Load the pose model and the detector named by ``DWPOSE_POSE_MODEL`` / ``DWPOSE_DET_MODEL``."""
        device = os.environ.get("DWPOSE_DEVICE", "cpu")
        use_shared_thread_pool()  # the worker process is ours: detector and pose share one pool
        pose = load_pose_model(model_spec(os.environ.get("DWPOSE_POSE_MODEL", DEFAULT_POSE_MODEL)), device)
        det = load_detector(model_spec(os.environ.get("DWPOSE_DET_MODEL", DEFAULT_DET_MODEL)), device)
        self.pipeline = TopDownPipeline(pose, det)
        silence_opencv_logging()
        print(providers_line(pose_model=pose, detector=det), flush=True)  # what really runs each model
        self.outputs = OutputFolders()
        # One inference at a time, in arrival order: the other requests wait in this executor's queue.
        self.inference = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dwpose-inference")
        slots = os.environ.get("COG_MAX_CONCURRENCY", "")
        if not (slots.isdigit() and int(slots) > 1):
            print(
                "dwpose: COG_MAX_CONCURRENCY is unset or 1, so this server takes one request at a time "
                "and answers concurrent ones with HTTP 409; start it with COG_MAX_CONCURRENCY=64"
            )

    @cog.concurrent(max=64)
    async def predict(
        self,
        image: Path = Input(  # noqa: B008
            description="Photo with people (JPEG, PNG, BMP, WebP, TIFF) as a data: URL or an http(s) URL",
            default=None,
        ),
        threshold: float = Input(  # noqa: B008
            description="Keypoint score threshold; points below it are -1 in the .npz",
            default=0.3,
            ge=0.0,
            le=1.0,
        ),
        video: Path = Input(  # noqa: B008
            description="Instead of image: a video (MP4, MOV, AVI, MKV, WebM) as a data: URL or an http(s) "
            "URL; returns [pose.mp4, frames.zip, tracks.json]",
            default=None,
        ),
        track: bool = Input(description="Video: stable person IDs across frames", default=False),  # noqa: B008
        smooth: bool = Input(description="Video: One-Euro filter per person and keypoint", default=False),  # noqa: B008
        det_every: int = Input(  # noqa: B008
            description="Video: detector on every N-th frame; 0 = automatic (5 with track or smooth, else 1)",
            default=0,
            ge=0,
        ),
        start: int = Input(description="Video: first frame", default=0, ge=0),  # noqa: B008
        end: int = Input(description="Video: stop before this frame; 0 = the end", default=0, ge=0),  # noqa: B008
        stride: int = Input(description="Video: every K-th frame", default=1, ge=1),  # noqa: B008
        max_frames: int = Input(description="Video: at most N frames; 0 = all", default=0, ge=0),  # noqa: B008
        canvas: str = Input(  # noqa: B008
            description="Draw over the photo (image), or on black exactly as ControlNet's DWPose annotator",
            default="image",
            choices=list(CANVASES),
        ),
        detect_resolution: int = Input(  # noqa: B008
            description="Black canvas: short side the poses are drawn at, then resized (512, as the "
            "annotator; 0 = the photo's own size)",
            default=512,
            ge=0,
        ),
    ) -> List[Path]:
        """An image: ``[keypoints.npz, keypoints.png]``: ``person_i`` -> ``{"body": (18, 2), "face": (68, 2),
        "hands": (2, 21, 2)}`` relative coordinates (or -1), and the poses drawn over the photo. A video:
        ``[pose.mp4, frames.zip, tracks.json]`` (see the module docstring)."""
        # called as a plain method (not through the server), unset inputs arrive as Input() fields
        image, threshold, video, track, smooth, det_every, start, end, stride, max_frames = (
            _plain(v) for v in (image, threshold, video, track, smooth, det_every, start, end, stride,
                                max_frames))
        cog_fetch.claim(image, video)  # Cog deletes these after the prediction
        threshold = check_threshold(threshold)
        drawing = _drawing(_plain(canvas), _plain(detect_resolution))
        given = dict(track=track, smooth=smooth, det_every=det_every, start=start, end=end, stride=stride,
                     max_frames=max_frames, threshold=threshold)  # fmt: skip
        options = VideoOptions.from_mapping(given, COG, is_video=video is not None)
        loop = asyncio.get_running_loop()
        if video is not None:
            if image is not None:
                raise UserError(BOTH_GIVEN)
            clip = uploaded_video(video)
            run_video = self._run_video
            return await loop.run_in_executor(self.inference, run_video, clip, threshold, options, drawing)
        photo = uploaded_file(image)
        return await loop.run_in_executor(self.inference, self._run, photo, threshold, drawing)

    def _run_video(
        self, clip: pathlib.Path, threshold: float, video: VideoOptions, drawing: tuple
    ) -> List[Path]:
        """The blocking part of :meth:`predict` for a video, in the inference thread."""
        folder = self.outputs.new()
        work = folder / "work"
        opts = PredictOptions(work, threshold, drawing[0], video=video, style=drawing[1], front=COG)
        try:
            work.mkdir()
            predict_video(self.pipeline, clip, opts, stem="video")  # COG: no temp path in any message
            files = [folder / name for name in VIDEO_OUTPUTS]
            shutil.move(str(work / "video_pose.mp4"), files[0])
            frames = sorted(p for p in (work / "video").iterdir() if p.name != TRACKS)
            write_zip(files[1], frames, work / "video")
            tracks = work / "video" / TRACKS
            if tracks.is_file():
                shutil.move(str(tracks), files[2])
            else:
                files[2].write_text(json.dumps({}))
            shutil.rmtree(work)
        except BaseException:
            self.outputs.discard(folder)
            raise
        self.outputs.hand_over(folder, files)
        return [Path(f) for f in files]

    def _run(self, photo: pathlib.Path, threshold: float, drawing: tuple) -> List[Path]:
        """The blocking part of :meth:`predict`, in the inference thread."""
        picture = read_image(photo, label=COG.label("image", photo))
        result = self.pipeline(picture)
        opts = PredictOptions(pathlib.Path(), threshold, drawing[0], style=drawing[1], front=COG)
        folder = self.outputs.new()
        try:
            rendered = result_files(folder, "keypoints", picture, result, opts, openpose=False)
            atomic_write_many(rendered)
            files = list(rendered)
        except BaseException:
            self.outputs.discard(folder)
            raise
        self.outputs.hand_over(folder, files)
        return [Path(f) for f in files]


def _drawing(canvas: Any, detect_resolution: Any) -> Tuple[str, ControlNetStyle]:
    """``(canvas, style)`` of the picture, from the raw JSON values; UserError naming a bad one."""
    if canvas not in CANVASES:
        raise UserError(f"canvas must be one of {', '.join(CANVASES)}, got {canvas!r}")
    resolution = check_count("detect_resolution", detect_resolution, 0)
    return canvas, ControlNetStyle(detect_resolution=check_detect_resolution(resolution, "detect_resolution"))


def _plain(value):
    """An ``Input(...)`` field's default (a direct call), else the value as the server passed it."""
    return value.default if type(value).__name__ == "FieldInfo" and hasattr(value, "default") else value
