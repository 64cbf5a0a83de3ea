"""Cog predictor for DWPose: an image in, the Cog ``.npz`` of keypoints and the keypoints drawn over it out.

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
- ``threshold`` is a JSON number in [0, 1]; booleans, strings, ``null`` and lists are refused.
- Each request writes its two files into its own folder, deleted as soon as Cog has read them.
- Up to 64 requests are taken at once (``@cog.concurrent(max=64)``, an async ``predict``); they wait
  in a queue and run one after another in one inference thread (onnxruntime already uses every core
  for one image). The bare server reads the limit only from ``COG_MAX_CONCURRENCY``; without it,
  concurrent clients get HTTP 409 "At capacity".

Run the real HTTP server without Docker::

    COG_PREDICT_TYPE_STUB=predict.py:Predictor COG_MAX_CONCURRENCY=64 PORT=5000 \\
        python -m cog.server.http --host 127.0.0.1
"""

from __future__ import annotations

import asyncio
import os
import pathlib
from concurrent.futures import ThreadPoolExecutor
from typing import List

import cog
from cog import BasePredictor, Input, Path

from dwpose.inference.cog_io import (  # noqa: F401  (REFUSED_IMAGE etc.: the server's contract)
    EMPTY_IMAGE,
    MISSING_IMAGE,
    REFUSED_IMAGE,
    OutputFolders,
    check_threshold,
    uploaded_file,
)
from dwpose.inference.detectors import load_detector
from dwpose.inference.draw import draw_poses
from dwpose.inference.pipeline import TopDownPipeline
from dwpose.inference.pose_models import load_pose_model
from dwpose.inference.runtime import providers_line, use_shared_thread_pool
from dwpose.inference.sources import read_image
from dwpose.inference.writers import write_cog_npz, write_image

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_POSE_MODEL = "ckpts/dw-ll_ucoco_384.onnx"
DEFAULT_DET_MODEL = "ckpts/yolox_l.onnx"


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
            description="Photo with people (JPEG, PNG, BMP, WebP, TIFF) as a data: URL or an http(s) URL"
        ),
        threshold: float = Input(  # noqa: B008
            description="Keypoint score threshold; points below it are -1 in the .npz",
            default=0.3,
            ge=0.0,
            le=1.0,
        ),
    ) -> List[Path]:
        """Returns ``[keypoints.npz, keypoints.png]``: ``person_i`` -> ``{"body": (18, 2), "face": (68, 2),
        "hands": (2, 21, 2)}`` relative coordinates (or -1), and the poses drawn over the photo."""
        threshold = check_threshold(threshold)
        photo = uploaded_file(image)
        return await asyncio.get_running_loop().run_in_executor(self.inference, self._run, photo, threshold)

    def _run(self, photo: pathlib.Path, threshold: float) -> List[Path]:
        """The blocking part of :meth:`predict`, in the inference thread."""
        try:
            picture = read_image(photo)
        except (ValueError, FileNotFoundError) as exc:  # the message without the server's temp path
            raise ValueError(str(exc).replace(f" {photo}", "")) from None
        result = self.pipeline(picture)
        overlay = draw_poses(picture, result.keypoints, result.scores, threshold)
        folder = self.outputs.new()
        try:
            files = [
                write_cog_npz(
                    folder / "keypoints.npz", result.keypoints, result.scores, result.image_size, threshold
                ),
                write_image(folder / "keypoints.png", overlay),
            ]
        except BaseException:
            self.outputs.discard(folder)
            raise
        self.outputs.hand_over(folder, files)
        return [Path(f) for f in files]
