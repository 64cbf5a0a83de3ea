"""Person boxes given by the user in a boxes JSON (``--boxes``).

Boxes are ``(M, 5)`` float32 ``x1, y1, x2, y2, score`` in image pixels.

Detectors that find the boxes themselves are in :mod:`dwpose.inference.detectors`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from dwpose.errors import UserError
from dwpose.fileio import read_json

BOXES_HELP = (
    'BOXES.json: {"<file name or stem>": [[x1, y1, x2, y2(, score)], ...]}, a plain list of such boxes '
    "(used for every image), or COCO detections [{image_id, bbox: [x, y, w, h], score, category_id}] "
    "matched to numeric file stems; every value a finite number. A box reaching far outside a picture "
    "is cut to the picture's size around it; one that does not overlap the picture by a pixel is "
    "skipped with a note"
)
BOX_LAYOUT = "boxes must be [[x1, y1, x2, y2(, score)], ...] of numbers"


def _as_boxes(rows, where: str) -> np.ndarray:
    """``(M, 5)`` float64 boxes from JSON rows; UserError for another layout or a non-finite value."""
    try:
        arr = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise UserError(f"{where}: {BOX_LAYOUT}") from None
    if arr.size == 0:
        return np.zeros((0, 5), np.float64)
    if arr.ndim != 2 or arr.shape[1] not in (4, 5):
        raise UserError(f"{where}: {BOX_LAYOUT}")
    bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))
    if len(bad):
        row = ", ".join(f"{v:g}" for v in arr[bad[0]])
        raise UserError(f"{where}: box #{bad[0]} [{row}] holds a value that is not a finite number")
    if arr.shape[1] == 4:
        arr = np.concatenate([arr, np.ones((len(arr), 1))], axis=1)
    return arr


def fit_boxes(boxes: np.ndarray, width: int, height: int) -> Tuple[np.ndarray, int]:
    """User boxes made safe for a ``width`` x ``height`` picture: coordinates cut to the picture's size
    around it (``[-width, 2 * width]``, ``[-height, 2 * height]``, so every sane box is unchanged and a
    box of +-1e30 becomes three pictures wide), and boxes overlapping the picture by under one pixel in
    either direction dropped.

    Returns:
        ``(M', 5)`` float32 boxes and how many were dropped.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 5)
    low = np.array([-width, -height, -width, -height], np.float64)
    clipped = np.clip(boxes[:, :4], low, -2 * low)
    overlap_w = np.minimum(clipped[:, 2], width) - np.maximum(clipped[:, 0], 0)
    overlap_h = np.minimum(clipped[:, 3], height) - np.maximum(clipped[:, 1], 0)
    keep = (overlap_w >= 1) & (overlap_h >= 1)
    fitted = np.concatenate([clipped, boxes[:, 4:]], axis=1)[keep].astype(np.float32)
    return fitted, int((~keep).sum())


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
            raise UserError(f"{path}: entry #{i} lacks image_id / bbox")
        if det.get("category_id", 1) != 1:
            continue
        try:
            x, y, w, h = (float(v) for v in det["bbox"])
            score, image_id = float(det.get("score", 1.0)), int(det["image_id"])
        except (TypeError, ValueError, OverflowError):
            raise UserError(
                f"{path}: entry #{i}: bbox must be [x, y, w, h], score a number, image_id a whole number"
            ) from None
        table.setdefault(str(image_id), []).append([x, y, x + w, y + h, score])
    return {k: _as_boxes(v, str(path)) for k, v in table.items()}


def load_boxes(path: str | Path) -> BoxTable:
    """Read a boxes JSON (see ``BOXES_HELP``).

    Raises:
        FileNotFoundError: no such file. UserError: not JSON or not one of the accepted layouts.
    """
    path = Path(path)
    data = read_json(path, "boxes file")
    if isinstance(data, dict):
        return BoxTable({str(k): _as_boxes(v, f"{path} [{k}]") for k, v in data.items()})
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return BoxTable(_coco_detections(data, path))
    if isinstance(data, list):
        return BoxTable({}, default=_as_boxes(data, str(path)))
    raise UserError(f"boxes file {path}: unsupported layout; expected {BOXES_HELP}")
