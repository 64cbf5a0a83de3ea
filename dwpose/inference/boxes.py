"""Person boxes from elsewhere: a user's boxes JSON, or an mmdet config + checkpoint (lazy import).

Both give ``(M, 5)`` float32 ``x1, y1, x2, y2, score`` in image pixels.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence

import numpy as np

from dwpose.fileio import require_file
from dwpose.inference.detectors import load_onnx_detector

BOXES_HELP = (
    'BOXES.json: {"<file name or stem>": [[x1, y1, x2, y2(, score)], ...]}, a plain list of such boxes '
    "(used for every image), or COCO detections [{image_id, bbox: [x, y, w, h], score, category_id}] "
    "matched to numeric file stems"
)


def _as_boxes(rows, where: str) -> np.ndarray:
    arr = np.asarray(rows, dtype=np.float32)
    if arr.size == 0:
        return np.zeros((0, 5), np.float32)
    if arr.ndim != 2 or arr.shape[1] not in (4, 5):
        raise ValueError(f"{where}: boxes must be [[x1, y1, x2, y2(, score)], ...]")
    if arr.shape[1] == 4:
        arr = np.concatenate([arr, np.ones((len(arr), 1), np.float32)], axis=1)
    return arr


class BoxTable:
    """Boxes per image, looked up by file name, stem, or numeric stem (COCO image id)."""

    def __init__(self, table: Dict[str, np.ndarray], default: Optional[np.ndarray] = None) -> None:
        self.table, self.default = table, default

    def lookup(self, image_path: Path) -> Optional[np.ndarray]:
        """``(M, 5)`` boxes for this image, or None when the file names none."""
        path = Path(image_path)
        keys = [path.name, path.stem] + ([str(int(path.stem))] if path.stem.isdigit() else [])
        for key in keys:
            if key in self.table:
                return self.table[key]
        return self.default


def _coco_detections(rows: Sequence[dict], path: Path) -> Dict[str, np.ndarray]:
    table: Dict[str, list] = {}
    for i, det in enumerate(rows):
        if not isinstance(det, dict) or "image_id" not in det or "bbox" not in det:
            raise ValueError(f"{path}: entry #{i} lacks image_id / bbox")
        if det.get("category_id", 1) != 1:
            continue
        x, y, w, h = (float(v) for v in det["bbox"])
        table.setdefault(str(int(det["image_id"])), []).append(
            [x, y, x + w, y + h, float(det.get("score", 1.0))]
        )
    return {k: _as_boxes(v, str(path)) for k, v in table.items()}


def load_boxes(path: str | Path) -> BoxTable:
    """Read a boxes JSON (see ``BOXES_HELP``).

    Raises:
        FileNotFoundError: no such file. ValueError: not JSON or not one of the accepted layouts.
    """
    path = Path(path)
    require_file(path, "boxes file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"boxes file {path} is not valid JSON ({exc})") from exc
    if isinstance(data, dict):
        return BoxTable({str(k): _as_boxes(v, f"{path} [{k}]") for k, v in data.items()})
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return BoxTable(_coco_detections(data, path))
    if isinstance(data, list):
        return BoxTable({}, default=_as_boxes(data, str(path)))
    raise ValueError(f"boxes file {path}: unsupported layout; expected {BOXES_HELP}")


class MMDetDetector:
    """An mmdet config + checkpoint (lazy torch / mmdet import); keeps class 0 (person) above a threshold."""

    def __init__(
        self, config: str, checkpoint: str, device: str = "cpu", score_threshold: float = 0.3
    ) -> None:
        for f, what in ((config, "detector config"), (checkpoint, "detector checkpoint")):
            require_file(f, what)
        from mmdet.apis import init_detector
        from mmengine.config import Config

        from dwpose.inference.torch_pose import load_weights

        try:
            cfg = Config.fromfile(config)
            cfg.model.get("backbone", {})["init_cfg"] = None  # never download pretrained weights
            with warnings.catch_warnings():  # "checkpoint is None, use COCO classes": it is loaded below
                warnings.simplefilter("ignore")
                self.model = init_detector(cfg, None, device=device)
        except Exception as exc:  # bad config: syntax, unknown types, missing _base_
            raise ValueError(f"cannot build a detector from {config}: {str(exc).splitlines()[0]}") from exc
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
    raise ValueError(f"--det takes DETECTOR.onnx or CONFIG CHECKPOINT, got {' '.join(spec) or 'nothing'}")
