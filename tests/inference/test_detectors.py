"""Person detectors: NMS, letterbox, layout detection, and the two real ONNX detectors on real photos."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from dwpose.inference.boxes import load_boxes
from dwpose.inference.detectors import (
    End2EndOnnxDetector,
    YoloxOnnxDetector,
    detect_layout,
    letterbox,
    load_detector,
    nms,
    read_mmdeploy_pipeline,
)


def test_nms_golden():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9]], np.float32)
    scores = np.array([0.5, 0.9, 0.8, 0.3], np.float32)
    # box 0 overlaps box 1 by IoU 81/119 = 0.68; box 3 overlaps box 1 by 72/118 = 0.61
    assert nms(boxes, scores, 0.45).tolist() == [1, 2]
    assert nms(boxes, scores, 0.65).tolist() == [1, 2, 3]
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []


def test_letterbox_top_left_and_ratio():
    image = np.full((100, 200, 3), 7, np.uint8)
    canvas, ratio = letterbox(image, (320, 320))
    assert ratio == pytest.approx(1.6) and canvas.shape == (320, 320, 3)
    assert np.all(canvas[:160] == 7) and np.all(canvas[160:] == 114)


def test_detect_layout():
    assert detect_layout([["batch", "num_dets", "d"], ["batch", "num_dets"]], ["dets", "labels"]) == "end2end"
    assert detect_layout([[1, 3549, 85]], ["output"]) == "yolox"
    with pytest.raises(ValueError, match="unrecognised detector outputs"):
        detect_layout([[1, 133, 384], [1, 133, 512]], ["simcc_x", "simcc_y"])


def test_mmdeploy_pipeline_is_read(weights_dir):
    cfg = read_mmdeploy_pipeline(weights_dir / "rtmdet-nano_person_end2end.onnx")
    assert cfg["size"] == (320, 320) and cfg["pad_value"] == 114 and cfg["to_rgb"] is False
    assert cfg["mean"] == pytest.approx((103.53, 116.28, 123.675))


def _gt_boxes(coco_mini):
    doc = json.loads((coco_mini / "coco_wholebody_mini.json").read_text())
    names = {im["id"]: im["file_name"] for im in doc["images"]}
    out: dict = {}
    for a in doc["annotations"]:
        x, y, w, h = a["bbox"]
        if w * h > 5000:  # people large enough for a nano detector at threshold 0.3
            out.setdefault(names[a["image_id"]], []).append([x, y, x + w, y + h])
    return out


def _iou(a, b):
    lt, rb = np.maximum(a[:2], b[:2]), np.minimum(a[2:4], b[2:4])
    inter = np.prod(np.clip(rb - lt, 0, None))
    return inter / (np.prod(a[2:4] - a[:2]) + np.prod(b[2:4] - b[:2]) - inter)


@pytest.mark.parametrize(
    "name, cls",
    [("rtmdet-nano_person_end2end.onnx", End2EndOnnxDetector), ("yolox-nano_coco80.onnx", YoloxOnnxDetector)],
)
def test_real_detectors_find_the_annotated_people(weights_dir, coco_mini, name, cls):
    detector = load_detector([str(weights_dir / name)])
    assert isinstance(detector, cls)
    for file_name, gts in _gt_boxes(coco_mini).items():
        image = cv2.imread(str(coco_mini / "images" / file_name))
        boxes = detector(image)
        assert boxes.shape[1] == 5 and np.all(np.diff(boxes[:, 4]) <= 0) and np.all(boxes[:, 4] > 0.3)
        assert np.all(boxes[:, [0, 2]] <= image.shape[1]) and np.all(boxes[:, :2] >= 0)
        matched = [max(_iou(np.array(g), b) for b in boxes) for g in gts]
        assert sum(m > 0.5 for m in matched) >= len(gts) - 1, (file_name, matched)


def test_user_boxes_layouts(tmp_path, coco_mini):
    table = load_boxes(coco_mini / "person_detections.json")  # COCO detections, xywh
    boxes = table.lookup(coco_mini / "images" / "000000000785.jpg")
    assert boxes.shape[1] == 5 and len(boxes) > 0 and np.all(boxes[:, 2] > boxes[:, 0])
    (tmp_path / "a.json").write_text(
        json.dumps({"photo.jpg": [[1, 2, 30, 40]], "other": [[0, 0, 5, 5, 0.4]]})
    )
    table = load_boxes(tmp_path / "a.json")
    np.testing.assert_allclose(table.lookup(tmp_path / "photo.jpg"), [[1, 2, 30, 40, 1]])
    np.testing.assert_allclose(table.lookup(tmp_path / "other.png"), [[0, 0, 5, 5, 0.4]])
    assert table.lookup(tmp_path / "missing.jpg") is None
    (tmp_path / "b.json").write_text(json.dumps([[1, 2, 3]]))
    with pytest.raises(ValueError, match=r"boxes must be \[\[x1, y1, x2, y2"):
        load_boxes(tmp_path / "b.json")
