"""tools/analysis/part_errors.py: its OKS tolerance and crop scale against mmpose's own functions."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location("part_errors", REPO / "tools/analysis/part_errors.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("sigma,area", [(0.026, 5000.0), (0.089, 1200.0), (0.017, 30000.0)])
def test_tolerance_is_where_mmpose_oks_is_one_half(sigma, area):
    nms = pytest.importorskip("mmpose.evaluation.functional.nms")
    d50 = _tool().D50 * 2 * sigma * math.sqrt(area)
    g = np.array([10.0, 20.0, 2.0])                  # one visible keypoint
    d = np.array([[10.0 + d50, 20.0, 1.0]])          # predicted d50 away
    oks = nms.oks_iou(g, d, area, np.array([area]), sigmas=np.array([sigma]))
    assert oks[0] == pytest.approx(0.5, abs=1e-9)


@pytest.mark.parametrize("bbox", [(5, 7, 40, 120), (0, 0, 200, 50), (3, 3, 75, 100)])
def test_input_scale_matches_mmpose_crop(bbox):
    pytest.importorskip("mmpose")
    from mmpose.datasets.transforms import TopdownAffine
    from mmpose.structures.bbox import bbox_xyxy2cs

    x, y, w, h = bbox
    _, scale = bbox_xyxy2cs(np.array([x, y, x + w, y + h], dtype=np.float32), padding=1.25)
    scale = TopdownAffine._fix_aspect_ratio(scale, aspect_ratio=96 / 128)
    assert _tool().input_scale(bbox, (96, 128)) == pytest.approx(128 / scale[1], rel=1e-6)
    assert _tool().input_scale(bbox, (96, 128)) == pytest.approx(96 / scale[0], rel=1e-6)


def test_relative_sizes_skip_invalid_hands():
    ann = {"bbox": [0, 0, 50, 100], "face_box": [0, 0, 12, 16], "face_valid": True,
           "lefthand_box": [0, 0, 6, 8], "lefthand_valid": True,
           "righthand_box": [0, 0, 30, 40], "righthand_valid": False}
    rel = _tool().relative_sizes([ann])
    assert rel["face"] == pytest.approx(0.2) and rel["hand"] == pytest.approx(0.1)
