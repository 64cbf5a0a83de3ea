"""The pose-model interface of the top-down pipeline, and the default RGB normalisation.

Every pose model (:class:`dwpose.inference.pose_models.OnnxPoseModel`,
:class:`dwpose.inference.torch_pose.TorchPoseModel`, or your own) is a :class:`PoseModel`; the pipeline
relies on nothing else. numpy and the standard library only.
"""

from __future__ import annotations

from typing import Protocol, Tuple, runtime_checkable

import numpy as np

RGB_MEAN = (123.675, 116.28, 103.53)  # ImageNet mean / std on the 0-255 scale, RGB order
RGB_STD = (58.395, 57.12, 57.375)


@runtime_checkable
class PoseModel(Protocol):
    """A top-down SimCC pose model.

    Attributes:
        input_size: ``(W, H)`` of the crops it takes.
        mean, std: RGB normalisation on the 0-255 scale (``(x - mean) / std``).
        num_keypoints: ``K``, the keypoints it predicts (133 for COCO-WholeBody).
    """

    input_size: Tuple[int, int]
    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]
    num_keypoints: int

    def __call__(self, batch: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """``(N, 3, H, W)`` float32 normalised RGB crops -> ``simcc_x (N, K, Wx)``, ``simcc_y (N, K, Wy)``."""
        ...
