"""Person boxes given by the user in a boxes JSON (``--boxes``).

Boxes are ``(M, 5)`` float32 ``x1, y1, x2, y2, score`` in image pixels.

Detectors that find the boxes themselves are in :mod:`dwpose.inference.detectors`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np

from dwpose.fileio import read_json

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
    data = read_json(path, "boxes file")
    if isinstance(data, dict):
        return BoxTable({str(k): _as_boxes(v, f"{path} [{k}]") for k, v in data.items()})
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return BoxTable(_coco_detections(data, path))
    if isinstance(data, list):
        return BoxTable({}, default=_as_boxes(data, str(path)))
    raise ValueError(f"boxes file {path}: unsupported layout; expected {BOXES_HELP}")
