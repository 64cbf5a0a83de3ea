"""Top-down crop geometry: boxes -> (center, scale) -> affine warp into the model input, and back.

Conventions (the same as MMPose's ``GetBBoxCenterScale`` + ``TopdownAffine`` without rotation):
a box ``(x1, y1, x2, y2)`` becomes a center ``((x1 + x2) / 2, (y1 + y2) / 2)`` and a scale
``(w, h) * padding``; the scale is then enlarged to the model's aspect ratio ``W / H``; the warp maps
the center to ``(W / 2, H / 2)`` and ``scale`` pixels to ``W`` (resp. ``H``) pixels.
"""

from __future__ import annotations

from typing import Sequence, Tuple

import cv2
import numpy as np


def bbox_xyxy_to_center_scale(boxes: np.ndarray, padding: float = 1.25) -> Tuple[np.ndarray, np.ndarray]:
    """Turn boxes into crop centers and scales.

    Args:
        boxes: ``(N, 4)`` boxes ``x1, y1, x2, y2`` in image pixels (extra columns are ignored).
        padding: factor applied to the box width and height.

    Returns:
        ``centers`` ``(N, 2)`` and ``scales`` ``(N, 2)`` (width, height), float32.

    Example:
        >>> c, s = bbox_xyxy_to_center_scale(np.array([[0, 0, 100, 200]]), padding=1.0)
        >>> c.tolist(), s.tolist()
        ([[50.0, 100.0]], [[100.0, 200.0]])
    """
    boxes = np.asarray(boxes, dtype=np.float32)
    boxes = boxes.reshape(-1, boxes.shape[-1])
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    centers = np.stack([(x1 + x2) * 0.5, (y1 + y2) * 0.5], axis=1)
    scales = np.stack([x2 - x1, y2 - y1], axis=1) * np.float32(padding)
    return centers.astype(np.float32), scales.astype(np.float32)


def fix_aspect_ratio(scales: np.ndarray, aspect_ratio: float) -> np.ndarray:
    """Grow each ``(w, h)`` scale (never shrink it) until ``w / h == aspect_ratio``.

    Args:
        scales: ``(N, 2)`` crop sizes ``(w, h)``.
        aspect_ratio: the model input ``W / H`` (0.75 for 192x256).

    Returns:
        ``(N, 2)`` float32 scales with the requested aspect ratio.
    """
    scales = np.asarray(scales, dtype=np.float32).reshape(-1, 2)
    w, h = scales[:, :1], scales[:, 1:]
    wide = w > h * aspect_ratio
    fixed = np.where(wide, np.hstack([w, w / aspect_ratio]), np.hstack([h * aspect_ratio, h]))
    return fixed.astype(np.float32)


def get_warp_matrix(
    center: Sequence[float], scale: Sequence[float], output_size: Tuple[int, int], inverse: bool = False
) -> np.ndarray:
    """Affine matrix that maps the crop ``center +- scale / 2`` onto an ``output_size`` image.

    Like MMPose's ``get_warp_matrix`` with ``rot=0`` and a fixed aspect ratio: one uniform zoom
    ``W / scale_w`` for both axes.

    Args:
        center: crop center ``(x, y)`` in image pixels.
        scale: crop size ``(w, h)`` in image pixels (only ``w`` sets the zoom).
        output_size: model input size ``(W, H)``.
        inverse: return the crop -> image matrix instead of image -> crop.

    Returns:
        ``(2, 3)`` float64 matrix ``M`` with ``[u, v] = M @ [x, y, 1]``.
    """
    (cx, cy), sw = center, float(scale[0])
    out_w, out_h = output_size
    zoom = out_w / sw
    if inverse:
        return np.array([[1 / zoom, 0, cx - out_w * 0.5 / zoom], [0, 1 / zoom, cy - out_h * 0.5 / zoom]])
    return np.array([[zoom, 0, out_w * 0.5 - zoom * cx], [0, zoom, out_h * 0.5 - zoom * cy]])


def apply_affine(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a ``(2, 3)`` affine matrix to ``(..., 2)`` points; returns float32 ``(..., 2)``."""
    pts = np.asarray(points, dtype=np.float64)
    out = pts @ matrix[:, :2].T + matrix[:, 2]
    return out.astype(np.float32)


def warp_crops(
    image: np.ndarray, centers: np.ndarray, scales: np.ndarray, input_size: Tuple[int, int]
) -> np.ndarray:
    """Cut one model-input crop per (center, scale) out of an image.

    Args:
        image: ``(H, W, 3)`` uint8 image (any channel order; it is kept).
        centers: ``(N, 2)`` crop centers; ``scales``: ``(N, 2)`` crop sizes already fixed to the
            aspect ratio of ``input_size``.
        input_size: model input ``(W, H)``.

    Returns:
        ``(N, H, W, 3)`` uint8 crops (bilinear, zero padding outside the image).
    """
    out_w, out_h = input_size
    crops = np.zeros((len(centers), out_h, out_w, 3), dtype=np.uint8)
    for i, (center, scale) in enumerate(zip(centers, scales)):
        matrix = get_warp_matrix(center, scale, input_size)
        cv2.warpAffine(image, matrix, (out_w, out_h), dst=crops[i], flags=cv2.INTER_LINEAR)
    return crops


def crop_to_image(
    points: np.ndarray, centers: np.ndarray, scales: np.ndarray, input_size: Tuple[int, int]
) -> np.ndarray:
    """Map crop-pixel keypoints ``(N, K, 2)`` back to image pixels through each inverse warp."""
    out = np.empty_like(points, dtype=np.float32)
    for i, (center, scale) in enumerate(zip(centers, scales)):
        out[i] = apply_affine(points[i], get_warp_matrix(center, scale, input_size, inverse=True))
    return out
