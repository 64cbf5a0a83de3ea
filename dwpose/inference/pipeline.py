"""Top-down whole-body pose: person boxes -> affine crops -> one batched pose call -> image keypoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from dwpose.errors import UserError
from dwpose.inference.geometry import bbox_xyxy_to_center_scale, crop_to_image, fix_aspect_ratio, warp_crops
from dwpose.inference.pose_protocol import PoseModel
from dwpose.inference.preprocess import to_blob
from dwpose.inference.simcc import decode_simcc

Detector = Callable[[np.ndarray], np.ndarray]  # BGR uint8 (H, W, 3) -> (M, 5) x1, y1, x2, y2, score
MIN_BOX_SIDE = 1.0


@dataclass
class PoseResult:
    """Poses of one image.

    Attributes:
        boxes: ``(N, 4)`` person boxes ``x1, y1, x2, y2`` (pixels); ``box_scores``: ``(N,)``.
        keypoints: ``(N, K, 2)`` ``x, y`` in image pixels; ``scores``: ``(N, K)``.
        image_size: ``(width, height)``.
    """

    boxes: np.ndarray
    box_scores: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    image_size: Tuple[int, int]

    def __len__(self) -> int:
        return len(self.boxes)


def normalize_crops(crops: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """BGR uint8 crops ``(N, H, W, 3)`` -> RGB, ``(x - mean) / std``, ``(N, 3, H, W)`` float32.

    ``mean`` / ``std`` are in RGB order (MMPose's ``PoseDataPreprocessor`` with ``bgr_to_rgb=True``):
    the channel swap happens before normalising, which the Cog wrapper got wrong.
    """
    return to_blob(crops, mean, std, swap_rb=True)


def clean_boxes(boxes: Optional[np.ndarray]) -> np.ndarray:
    """``(M, 4)`` or ``(M, 5)`` boxes -> ``(M', 5)`` float32 (score 1 added if absent); tiny boxes and
    boxes with a non-finite value dropped."""
    boxes = np.zeros((0, 5), np.float32) if boxes is None else np.asarray(boxes, dtype=np.float32)
    boxes = boxes.reshape(-1, boxes.shape[-1]) if boxes.size else np.zeros((0, 5), np.float32)
    if boxes.shape[1] == 4:
        boxes = np.concatenate([boxes, np.ones((len(boxes), 1), np.float32)], axis=1)
    if boxes.shape[1] != 5:
        raise ValueError(f"boxes must be (M, 4) or (M, 5) x1, y1, x2, y2[, score]; got shape {boxes.shape}")
    finite = np.isfinite(boxes).all(axis=1)
    with np.errstate(invalid="ignore", over="ignore"):
        big = (boxes[:, 2] - boxes[:, 0] >= MIN_BOX_SIDE) & (boxes[:, 3] - boxes[:, 1] >= MIN_BOX_SIDE)
        big &= np.isfinite(boxes[:, 2] - boxes[:, 0]) & np.isfinite(boxes[:, 3] - boxes[:, 1])
    return boxes[finite & big]


class TopDownPipeline:
    """Detector + pose model.

    Example:
        >>> pipe = TopDownPipeline(OnnxPoseModel("dw-ll_ucoco_384.onnx"), load_onnx_detector("yolox_l.onnx"))
        >>> result = pipe(cv2.imread("photo.jpg"))      # takes a BGR uint8 (H, W, 3) array
        >>> result.keypoints.shape, result.scores.shape  # (N, 133, 2) image pixels, (N, 133)
    """

    def __init__(
        self, pose_model: PoseModel, detector: Optional[Detector] = None, padding: float = 1.25
    ) -> None:
        self.pose_model = pose_model
        self.detector = detector
        self.padding = padding

    def __call__(self, image: np.ndarray, boxes: Optional[np.ndarray] = None) -> PoseResult:
        """Poses of one BGR uint8 ``(H, W, 3)`` image; ``boxes`` ``(M, 4|5)`` skip the detector."""
        return self.predict_batch([image], None if boxes is None else [boxes])[0]

    def detect(self, image: np.ndarray) -> np.ndarray:
        """``(M, 5)`` person boxes of a BGR image (UserError when there is no detector)."""
        if self.detector is None:
            raise UserError("no person detector was given: pass --det DETECTOR or --boxes BOXES.json")
        return self.detector(image)

    def predict_batch(
        self, images: Sequence[np.ndarray], boxes: Optional[Sequence[Optional[np.ndarray]]] = None
    ) -> List[PoseResult]:
        """Poses of several BGR images (e.g. video frames); all their crops go through ONE model call.

        Args:
            images: BGR uint8 ``(H, W, 3)`` arrays.
            boxes: per image ``(M, 4|5)`` boxes, or None to run the detector on that image.

        Returns:
            One :class:`PoseResult` per image, in order.
        """
        boxes = list(boxes) if boxes is not None else [None] * len(images)
        per_image = [clean_boxes(self.detect(img) if b is None else b) for img, b in zip(images, boxes)]
        model = self.pose_model
        aspect = model.input_size[0] / model.input_size[1]
        crops, centers, scales = [], [], []
        for img, b in zip(images, per_image):
            c, s = bbox_xyxy_to_center_scale(b[:, :4], self.padding)
            s = fix_aspect_ratio(s, aspect)
            crops.append(warp_crops(img, c, s, model.input_size))
            centers.append(c)
            scales.append(s)
        keypoints, scores = self._estimate(
            np.concatenate(crops), np.concatenate(centers), np.concatenate(scales)
        )
        results, start = [], 0
        for img, b in zip(images, per_image):
            end = start + len(b)
            size = (img.shape[1], img.shape[0])
            results.append(PoseResult(b[:, :4], b[:, 4], keypoints[start:end], scores[start:end], size))
            start = end
        return results

    def _estimate(
        self, crops: np.ndarray, centers: np.ndarray, scales: np.ndarray
    ) -> Tuple[np.ndarray, np.ndarray]:
        """``(N, H, W, 3)`` BGR crops -> ``(N, K, 2)`` image keypoints and ``(N, K)`` scores."""
        model = self.pose_model
        if len(crops) == 0:
            k = model.num_keypoints
            return np.zeros((0, k, 2), np.float32), np.zeros((0, k), np.float32)
        simcc_x, simcc_y = model(normalize_crops(crops, model.mean, model.std))
        crop_points, scores = decode_simcc(simcc_x, simcc_y, input_size=model.input_size)
        return crop_to_image(crop_points, centers, scales, model.input_size), scores
