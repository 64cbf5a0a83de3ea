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

Run the real HTTP server without Docker::

    COG_PREDICT_TYPE_STUB=predict.py:Predictor PORT=5000 python -m cog.server.http --host 127.0.0.1
"""

from __future__ import annotations

import os
import pathlib
import tempfile
from typing import List

from cog import BasePredictor, Input, Path

from dwpose.inference.boxes import load_detector
from dwpose.inference.draw import draw_poses
from dwpose.inference.pipeline import TopDownPipeline
from dwpose.inference.pose_models import load_pose_model
from dwpose.inference.runtime import use_shared_thread_pool
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

    def predict(
        self,
        image: Path = Input(description="Photo with people (JPEG, PNG, BMP, WebP, TIFF)"),  # noqa: B008
        threshold: float = Input(  # noqa: B008
            description="Keypoint score threshold; points below it are -1 in the .npz",
            default=0.3,
            ge=0.0,
            le=1.0,
        ),
    ) -> List[Path]:
        """Returns ``[keypoints.npz, keypoints.png]``: ``person_i`` -> ``{"body": (18, 2), "face": (68, 2),
        "hands": (2, 21, 2)}`` relative coordinates (or -1), and the poses drawn over the photo."""
        if not 0.0 <= threshold <= 1.0:  # without cog's built schema the server does not check ge / le
            raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
        picture = read_image(image)  # ValueError for a non-image -> a failed prediction with that message
        result = self.pipeline(picture)
        out = pathlib.Path(tempfile.mkdtemp(prefix="dwpose-"))
        npz = write_cog_npz(
            out / "keypoints.npz", result.keypoints, result.scores, result.image_size, threshold
        )
        png = write_image(
            out / "keypoints.png", draw_poses(picture, result.keypoints, result.scores, threshold)
        )
        return [Path(npz), Path(png)]
