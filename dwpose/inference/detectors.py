"""Person detectors: ONNX files in either common layout (read without torch), or an mmdet config +
checkpoint (:class:`MMDetDetector`, imports torch / mmdet when built); :func:`load_detector` picks one.

Every detector takes a BGR uint8 ``(H, W, 3)`` image and return ``(M, 5)`` float32 boxes
``x1, y1, x2, y2, score`` in image pixels, persons only, best first.

Layouts, told apart by the model outputs (:func:`detect_layout`):

- ``end2end``: MMDeploy export with NMS inside the graph (RTMDet, ...): outputs ``dets`` ``(B, N, 5)``
  in the letterboxed frame and ``labels`` ``(B, N)``. Pre-processing is read from the MMDeploy
  ``pipeline.json`` beside the file when there is one.
- ``yolox``: raw YOLOX head output ``(1, A, 5 + C)`` (``cx, cy, w, h`` on a grid + stride decode,
  objectness, class scores), the layout of DWPose's ``yolox_l.onnx``: person score = objectness x
  class-0 score, then NMS here.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Callable, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from dwpose.errors import UserError, first_line
from dwpose.fileio import require_file
from dwpose.inference.preprocess import to_blob
from dwpose.inference.runtime import create_session

PERSON_LABEL = 0
YOLOX_STRIDES = (8, 16, 32)
# MMDet RTMDet defaults, used when an end2end file comes without its pipeline.json.
END2END_DEFAULTS = {
    "size": (640, 640),
    "mean": (103.53, 116.28, 123.675),
    "std": (57.375, 57.12, 58.395),
    "to_rgb": False,
    "pad_value": 114.0,
}


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression (OpenCV's ``cv2.dnn.NMSBoxes``; the light install has no torchvision).

    Args:
        boxes: ``(M, 4)`` ``x1, y1, x2, y2``; ``scores``: ``(M,)``, positive (OpenCV drops boxes
            scoring 0 or less; the detectors call it on boxes above their score threshold).
        iou_threshold: a box overlapping a kept, better box by more than this is dropped.

    Returns:
        Indices of the kept boxes, best score first (ties: the earlier box first).
    """
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    boxes = np.asarray(boxes, dtype=np.float64)
    xywh = np.concatenate([boxes[:, :2], np.clip(boxes[:, 2:4] - boxes[:, :2], 0, None)], axis=1)
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), np.asarray(scores, np.float32).tolist(), 0.0, iou_threshold)
    return np.asarray(keep, dtype=np.int64).reshape(-1)


def letterbox(image: np.ndarray, size: Tuple[int, int], pad_value: float = 114.0) -> Tuple[np.ndarray, float]:
    """Resize keeping the aspect ratio into the top-left of a ``size = (W, H)`` canvas.

    Returns:
        The ``(H, W, 3)`` uint8 canvas and the resize ratio (image pixels * ratio = canvas pixels).
    """
    out_w, out_h = size
    h, w = image.shape[:2]
    ratio = min(out_w / w, out_h / h)
    new_w, new_h = max(1, int(round(w * ratio))), max(1, int(round(h * ratio)))
    canvas = np.full((out_h, out_w, 3), pad_value, dtype=np.uint8)
    canvas[:new_h, :new_w] = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    return canvas, ratio


def detect_layout(output_shapes: Sequence[Sequence], output_names: Sequence[str]) -> str:
    """``"end2end"`` (``dets`` + ``labels``) or ``"yolox"`` (a ``(1, A, 5 + C)`` head), else UserError."""
    if len(output_names) == 2 and output_shapes[0] and len(output_shapes[0]) == 3:
        last = output_shapes[0][-1]
        if not isinstance(last, int) or last == 5:
            return "end2end"
    if len(output_names) == 1 and len(output_shapes[0]) == 3:
        last = output_shapes[0][-1]
        if isinstance(last, int) and last > 5:
            return "yolox"
    raise UserError(
        f"unrecognised detector outputs {list(output_names)} {list(map(list, output_shapes))}: expected an "
        "MMDeploy end2end export (dets (B,N,5), labels (B,N)) or a raw YOLOX head (1, A, 5+classes)"
    )


def _finish(boxes: np.ndarray, scores: np.ndarray, image_shape: Tuple[int, ...]) -> np.ndarray:
    h, w = image_shape[:2]
    boxes = np.clip(boxes, 0, [w, h, w, h])
    order = np.argsort(-scores, kind="stable")
    return np.concatenate([boxes, scores[:, None]], axis=1)[order].astype(np.float32)


class YoloxOnnxDetector:
    """Raw YOLOX ONNX (DWPose's ``yolox_l.onnx`` layout): BGR 0-255 input, letterbox pad 114, no mean/std."""

    def __init__(self, session, score_threshold: float = 0.3, nms_threshold: float = 0.45) -> None:
        self.session = session
        inp = session.get_inputs()[0]
        self.input_name = inp.name
        h, w = inp.shape[2:]
        if not (isinstance(h, int) and isinstance(w, int)):
            h, w = 640, 640
        self.input_size = (w, h)
        self.score_threshold, self.nms_threshold = score_threshold, nms_threshold
        self._grid, self._stride = self._grid_and_strides(self.input_size)

    @staticmethod
    def _grid_and_strides(size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
        grids, strides = [], []
        for s in YOLOX_STRIDES:
            xs, ys = np.meshgrid(np.arange(size[0] // s), np.arange(size[1] // s))
            grids.append(np.stack([xs, ys], -1).reshape(-1, 2))
            strides.append(np.full((grids[-1].shape[0], 1), s))
        return np.concatenate(grids).astype(np.float32), np.concatenate(strides).astype(np.float32)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """BGR uint8 ``(H, W, 3)`` -> ``(M, 5)`` person boxes ``x1, y1, x2, y2, score`` in image pixels."""
        canvas, ratio = letterbox(image, self.input_size)
        pred = self.session.run(None, {self.input_name: to_blob(canvas[None])})[0][0]
        if pred.shape[0] != self._grid.shape[0]:
            raise UserError(f"YOLOX output has {pred.shape[0]} anchors, expected {self._grid.shape[0]}")
        scores = pred[:, 4] * pred[:, 5 + PERSON_LABEL]
        keep = scores > self.score_threshold
        pred, scores = pred[keep], scores[keep]
        centers = (pred[:, :2] + self._grid[keep]) * self._stride[keep]
        sizes = np.exp(pred[:, 2:4]) * self._stride[keep]
        boxes = np.concatenate([centers - sizes / 2, centers + sizes / 2], axis=1) / ratio
        kept = nms(boxes, scores, self.nms_threshold)
        return _finish(boxes[kept], scores[kept], image.shape)


class End2EndOnnxDetector:
    """MMDeploy end2end ONNX (NMS in the graph): letterbox, normalise, keep label 0 above the threshold."""

    def __init__(self, session, preprocess: Optional[dict] = None, score_threshold: float = 0.3) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.cfg = {**END2END_DEFAULTS, **(preprocess or {})}
        self.score_threshold = score_threshold

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """BGR uint8 ``(H, W, 3)`` -> ``(M, 5)`` person boxes ``x1, y1, x2, y2, score`` in image pixels."""
        cfg = self.cfg
        canvas, ratio = letterbox(image, cfg["size"], cfg["pad_value"])
        blob = to_blob(canvas[None], cfg["mean"], cfg["std"], cfg["to_rgb"])
        dets, labels = self.session.run(None, {self.input_name: blob})[:2]
        dets, labels = dets[0], labels[0]
        keep = (labels == PERSON_LABEL) & (dets[:, 4] > self.score_threshold)
        return _finish(dets[keep, :4] / ratio, dets[keep, 4], image.shape)


def read_mmdeploy_pipeline(onnx_path: Path) -> Optional[dict]:
    """Letterbox size, mean/std, channel order and pad value from the MMDeploy ``pipeline.json`` beside
    ``onnx_path`` (``pipeline.json``, or ``<prefix>_pipeline.json`` for ``<prefix>_end2end.onnx``)."""
    prefix = onnx_path.stem.replace("end2end", "").rstrip("_-.")
    candidates = [onnx_path.with_name(f"{prefix}_pipeline.json")] if prefix else []
    candidates.append(onnx_path.with_name("pipeline.json"))
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        return None
    try:
        transforms = json.loads(found.read_text())["pipeline"]["tasks"][0]["transforms"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise UserError(f"cannot read the MMDeploy pipeline {found}: {exc}") from exc
    cfg: dict = {}
    for t in transforms:
        if t.get("type") == "Resize" and "size" in t:
            cfg["size"] = tuple(int(v) for v in t["size"])[::-1]  # mmdet (h, w) -> (w, h)
        elif t.get("type") == "Pad" and isinstance(t.get("pad_val"), dict):
            cfg["pad_value"] = float(np.mean(t["pad_val"].get("img", 114)))
        elif t.get("type") == "Normalize":
            cfg.update(mean=tuple(t["mean"]), std=tuple(t["std"]), to_rgb=bool(t.get("to_rgb", False)))
    return cfg


def load_onnx_detector(
    path: str | Path, device: str = "cpu", score_threshold: float = 0.3, nms_threshold: float = 0.45
) -> Union[YoloxOnnxDetector, End2EndOnnxDetector]:
    """Open a detector ONNX of either layout (see the module docstring)."""
    path = Path(path)
    session = create_session(path, device, what="detector")
    outputs = session.get_outputs()
    layout = detect_layout([o.shape for o in outputs], [o.name for o in outputs])
    if layout == "yolox":
        return YoloxOnnxDetector(session, score_threshold, nms_threshold)
    return End2EndOnnxDetector(session, read_mmdeploy_pipeline(path), score_threshold)


class MMDetDetector:
    """An mmdet config + checkpoint (lazy torch / mmdet import); keeps class 0 (person) above a threshold."""

    def __init__(
        self, config: str, checkpoint: str, device: str = "cpu", score_threshold: float = 0.3
    ) -> None:
        for f, what in ((config, "detector config"), (checkpoint, "detector checkpoint")):
            require_file(f, what)
        from mmdet.apis import init_detector

        from dwpose.engine.config import read_config
        from dwpose.inference.torch_pose import load_weights

        cfg = read_config(config, "detector config")
        try:
            cfg.model.get("backbone", {})["init_cfg"] = None  # never download pretrained weights
            with warnings.catch_warnings():  # "checkpoint is None, use COCO classes": it is loaded below
                warnings.simplefilter("ignore")
                self.model = init_detector(cfg, None, device=device)
        except Exception as exc:  # bad config: unknown types, missing fields
            raise UserError(f"cannot build a detector from {config}: {first_line(exc)}") from exc
        load_weights(self.model, checkpoint, f"detector config {config}")
        self.score_threshold = score_threshold

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """BGR uint8 ``(H, W, 3)`` -> ``(M, 5)`` person boxes, best first."""
        from mmdet.apis import inference_detector

        pred = inference_detector(self.model, image).pred_instances.cpu().numpy()
        keep = (pred.labels == 0) & (pred.scores > self.score_threshold)
        boxes = np.concatenate([pred.bboxes[keep], pred.scores[keep, None]], axis=1).astype(np.float32)
        return boxes[np.argsort(-boxes[:, 4], kind="stable")]


def load_detector(
    spec: Sequence[str], device: str = "cpu", score_threshold: float = 0.3
) -> Callable[[np.ndarray], np.ndarray]:
    """A detector from ``[DET.onnx]`` (either layout) or ``[CONFIG, CHECKPOINT]`` (mmdet)."""
    spec = [str(s) for s in spec]
    if len(spec) == 1 and spec[0].lower().endswith(".onnx"):
        return load_onnx_detector(spec[0], device, score_threshold)
    if len(spec) == 2:
        return MMDetDetector(spec[0], spec[1], device, score_threshold)
    raise UserError(f"--det takes DETECTOR.onnx or CONFIG CHECKPOINT, got {' '.join(spec) or 'nothing'}")
