"""A stand-in pose model: an ONNX file that answers a data set's average pose for every person box.

It has the I/O of the official DWPose ONNX files (``input`` ``(B, 3, H, W)``, ``simcc_x`` / ``simcc_y``),
so ``dwpose predict`` and ``dwpose app`` run it like a trained model, but it ignores the pixels: each
keypoint's SimCC peak sits at that keypoint's mean position, in the crop frame of the pipeline
(box padded 1.25x, aspect ratio of the input), over the annotated people of a COCO-WholeBody file,
and its score is the fraction of those people in whom the keypoint is visible. It is what this
project shows in screenshots (``tools/app_screenshot.py``), where no trained weights are shipped: a
plausible figure placed in each detected person box, not an estimate of that person's pose.
"""

from __future__ import annotations

from pathlib import Path
from typing import Tuple

import numpy as np

from dwpose.errors import UserError
from dwpose.fileio import atomic_write_bytes, read_json
from dwpose.inference.geometry import (
    apply_affine,
    bbox_xyxy_to_center_scale,
    fix_aspect_ratio,
    get_warp_matrix,
)

WHOLEBODY_PARTS = ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")  # 17+6+68+21+21
SPLIT_RATIO = 2.0  # SimCC bins per input pixel, as RTMPose / DWPose


def average_pose(
    annotations: Path, input_size: Tuple[int, int] = (192, 256), min_keypoints: int = 10
) -> Tuple[np.ndarray, np.ndarray]:
    """Mean crop-frame position and visibility rate of each of the 133 keypoints.

    Args:
        annotations: a COCO-WholeBody annotation file.
        input_size: model input ``(W, H)``; crops as the pipeline cuts them from each person's box.
        min_keypoints: people with fewer labelled body keypoints are left out.

    Returns:
        ``(133, 2)`` mean positions in input pixels (a keypoint never visible gets the crop centre) and
        ``(133,)`` the fraction of the people in whom it is visible.

    Raises:
        UserError: the file has no person with ``min_keypoints`` labelled keypoints.
    """
    data = read_json(annotations, "annotation file")
    points, visible = [], []
    for ann in data.get("annotations", []):
        if ann.get("num_keypoints", 0) < min_keypoints or not all(p in ann for p in WHOLEBODY_PARTS):
            continue
        kpts = np.concatenate([np.reshape(ann[p], (-1, 3)) for p in WHOLEBODY_PARTS]).astype(np.float32)
        x, y, w, h = ann["bbox"]
        centers, scales = bbox_xyxy_to_center_scale(np.array([[x, y, x + w, y + h]], np.float32), 1.25)
        scales = fix_aspect_ratio(scales, input_size[0] / input_size[1])
        points.append(apply_affine(kpts[:, :2], get_warp_matrix(centers[0], scales[0], input_size)))
        visible.append(kpts[:, 2] > 0)
    if not points:
        raise UserError(f"{annotations}: no person with {min_keypoints} or more labelled keypoints")
    pts, vis = np.stack(points), np.stack(visible)
    counts = vis.sum(axis=0)
    mean = (pts * vis[..., None]).sum(axis=0) / np.maximum(counts, 1)[:, None]
    mean[counts == 0] = np.array(input_size, np.float32) / 2
    return mean.astype(np.float32), (counts / len(pts)).astype(np.float32)


def write_average_pose_onnx(
    path: Path, annotations: Path, input_size: Tuple[int, int] = (192, 256)
) -> Tuple[np.ndarray, np.ndarray]:
    """Write the stand-in model of :func:`average_pose` to ``path``; returns its positions and scores.

    The graph adds ``0 * mean(input)`` to constant one-hot SimCC logits (peak value = the visibility
    rate), so it has a dynamic batch axis and every crop gets the same answer.
    """
    mean, rate = average_pose(annotations, input_size)
    w, h = input_size
    bins_x, bins_y = int(w * SPLIT_RATIO), int(h * SPLIT_RATIO)
    k = len(mean)
    simcc_x, simcc_y = np.zeros((1, k, bins_x), np.float32), np.zeros((1, k, bins_y), np.float32)
    peak_x = np.clip(np.round(mean[:, 0] * SPLIT_RATIO), 0, bins_x - 1).astype(int)
    peak_y = np.clip(np.round(mean[:, 1] * SPLIT_RATIO), 0, bins_y - 1).astype(int)
    simcc_x[0, np.arange(k), peak_x] = rate
    simcc_y[0, np.arange(k), peak_y] = rate
    model = constant_simcc_model(simcc_x, simcc_y, input_size, name="average_pose")
    atomic_write_bytes(path, model.SerializeToString())
    return mean, rate


def constant_simcc_model(simcc_x: np.ndarray, simcc_y: np.ndarray, input_size: Tuple[int, int],
                         batch="B", input_gain: float = 0.0, name: str = "constant_simcc"):
    """An ONNX model with the DWPose I/O that answers the constant logits ``simcc_x`` ``(1, K, Wx)`` /
    ``simcc_y`` ``(1, K, Wy)`` for every crop, plus ``input_gain * mean(crop)`` on every logit.

    ``input`` is ``(batch, 3, H, W)`` for ``input_size`` ``(W, H)``; ``batch`` is a symbolic name for a
    dynamic batch axis or a fixed integer. With ``input_gain=0`` the output ignores the pixels.
    Returns the ``onnx.ModelProto`` (opset 13).
    """
    from onnx import TensorProto, helper, numpy_helper

    w, h = input_size
    k = simcc_x.shape[1]
    nodes = [
        helper.make_node("ReduceMean", ["input"], ["m"], keepdims=1, axes=[1, 2, 3]),
        helper.make_node("Reshape", ["m", "shape"], ["m3"]),
        helper.make_node("Mul", ["m3", "zero"], ["z"]),
        helper.make_node("Add", ["z", "cx"], ["simcc_x"]),
        helper.make_node("Add", ["z", "cy"], ["simcc_y"]),
    ]
    inits = [
        numpy_helper.from_array(np.array([-1, 1, 1], np.int64), "shape"),
        numpy_helper.from_array(np.full((1,), input_gain, np.float32), "zero"),
        numpy_helper.from_array(simcc_x.astype(np.float32), "cx"),
        numpy_helper.from_array(simcc_y.astype(np.float32), "cy"),
    ]
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, h, w])],
        [
            helper.make_tensor_value_info("simcc_x", TensorProto.FLOAT, [batch, k, simcc_x.shape[2]]),
            helper.make_tensor_value_info("simcc_y", TensorProto.FLOAT, [batch, k, simcc_y.shape[2]]),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model
