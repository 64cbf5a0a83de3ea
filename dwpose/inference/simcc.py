"""SimCC decoding: per-axis classification logits -> keypoint locations in crop pixels."""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np


def decode_simcc(
    simcc_x: np.ndarray,
    simcc_y: np.ndarray,
    split_ratio: Optional[float] = None,
    input_size: Optional[Tuple[int, int]] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """Decode SimCC logits the way MMPose's ``SimCCLabel`` (and DWPose's ONNX annotator) does.

    The location along each axis is the argmax bin divided by the split ratio; the score is the
    smaller of the two axis maxima (``get_simcc_maximum``), so a keypoint is only as confident as its
    less certain axis. A keypoint whose score is not positive gets location ``-1 / split_ratio`` on both
    axes, as in ``get_simcc_maximum``.

    Args:
        simcc_x: ``(N, K, Wx)`` logits over ``Wx = W * split_ratio`` bins.
        simcc_y: ``(N, K, Wy)`` logits over ``Wy = H * split_ratio`` bins.
        split_ratio: bins per input pixel; if None it is ``Wx / input_size[0]`` (2.0 for RTMPose).
        input_size: model input ``(W, H)``, only needed when ``split_ratio`` is None.

    Returns:
        ``keypoints`` ``(N, K, 2)`` float32 ``(x, y)`` in crop pixels and ``scores`` ``(N, K)`` float32.

    Example:
        >>> x = np.zeros((1, 1, 8)); x[0, 0, 6] = 1.0
        >>> y = np.zeros((1, 1, 8)); y[0, 0, 2] = 0.5
        >>> decode_simcc(x, y, split_ratio=2.0)
        (array([[[3., 1.]]], dtype=float32), array([[0.5]], dtype=float32))
    """
    if simcc_x.ndim != 3 or simcc_y.ndim != 3 or simcc_x.shape[:2] != simcc_y.shape[:2]:
        raise ValueError(
            f"SimCC outputs must be (N, K, W) and (N, K, H), got {simcc_x.shape}, {simcc_y.shape}"
        )
    if split_ratio is None:
        if input_size is None:
            raise ValueError("decode_simcc needs split_ratio or input_size")
        split_ratio = simcc_x.shape[-1] / float(input_size[0])
    x_locs = np.argmax(simcc_x, axis=-1)
    y_locs = np.argmax(simcc_y, axis=-1)
    max_x = np.take_along_axis(simcc_x, x_locs[..., None], axis=-1)[..., 0]
    max_y = np.take_along_axis(simcc_y, y_locs[..., None], axis=-1)[..., 0]
    keypoints = np.stack([x_locs, y_locs], axis=-1).astype(np.float32)
    scores = np.minimum(max_x, max_y).astype(np.float32)
    keypoints[scores <= 0] = -1  # as get_simcc_maximum: no positive logit, no location
    keypoints /= np.float32(split_ratio)
    return keypoints, scores
