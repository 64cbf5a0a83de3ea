"""The stand-in average-pose ONNX model: positions and scores from annotations, run by the real pipeline."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dwpose.export.average_pose import average_pose, write_average_pose_onnx
from dwpose.inference.pipeline import TopDownPipeline
from dwpose.inference.pose_models import OnnxPoseModel


def _person(box, offset, visible_face: bool) -> dict:
    x, y, w, h = box
    kpts = np.zeros((133, 3), np.float32)
    kpts[:, 0] = x + w * (0.2 + 0.6 * np.linspace(0, 1, 133)) + offset
    kpts[:, 1] = y + h * (0.1 + 0.8 * np.linspace(0, 1, 133))
    kpts[:, 2] = 2
    if not visible_face:
        kpts[23:91] = 0
    kpts[91:112, 2] = 0  # left hand never visible
    parts = {"keypoints": kpts[:17], "foot_kpts": kpts[17:23], "face_kpts": kpts[23:91]}
    parts.update(lefthand_kpts=kpts[91:112], righthand_kpts=kpts[112:])
    ann = {k: v.reshape(-1).tolist() for k, v in parts.items()}
    return {**ann, "bbox": list(box), "num_keypoints": 17, "image_id": 1, "category_id": 1}


@pytest.fixture()
def annotations(tmp_path):
    path = tmp_path / "ann.json"
    people = [_person((100, 50, 96, 128), -4.0, True), _person((10, 20, 48, 64), 2.0, False)]
    people.append({**_person((0, 0, 50, 50), 0, True), "num_keypoints": 3})  # too few labels: left out
    path.write_text(json.dumps({"annotations": people}))
    return path


def test_average_pose_is_the_mean_crop_position_and_the_visibility_rate(annotations):
    mean, rate = average_pose(annotations)
    # both people span the same fraction of their box; their crops are 2x and 4x zooms of it
    share = 0.2 + 0.6 * np.linspace(0, 1, 133)
    crop_x = 192 / 2 + (share - 0.5) * 96 * 192 / 120  # box 96 wide -> crop 120 wide (1.25x)
    expected_x = np.where(np.arange(133) < 91, crop_x + (-4.0 * 1.6 + 2.0 * 3.2) / 2, crop_x)
    expected_x[23:91] = crop_x[23:91] - 4.0 * 1.6  # face: first person only
    np.testing.assert_allclose(mean[:91, 0], expected_x[:91], atol=1e-3)
    np.testing.assert_allclose(mean[91:112], np.tile([[96.0, 128.0]], (21, 1)))  # never seen: centre
    np.testing.assert_allclose(rate, np.r_[np.ones(23), np.full(68, 0.5), np.zeros(21), np.ones(21)])
    with pytest.raises(ValueError, match="no person with 20 or more labelled keypoints"):
        average_pose(annotations, min_keypoints=20)


def test_average_pose_onnx_draws_that_pose_in_every_box(annotations, tmp_path):
    mean, rate = write_average_pose_onnx(tmp_path / "avg.onnx", annotations)
    pipeline = TopDownPipeline(OnnxPoseModel(tmp_path / "avg.onnx"))
    boxes = np.array([[40, 30, 136, 158], [300, 10, 348, 74]], np.float32)  # 96x128 and 48x64 people
    result = pipeline(np.zeros((240, 400, 3), np.uint8), boxes)
    for n, (zoom, x0, y0) in enumerate([(1.6, 28, 30 - 16), (3.2, 294, 10 - 8)]):
        shown = result.scores[n] > 0
        want = mean / zoom + [x0, y0]  # crop (1.25x box, 3:4) back to image pixels
        np.testing.assert_allclose(result.keypoints[n][shown], want[shown], atol=0.5 / zoom + 1e-3)
        np.testing.assert_allclose(result.scores[n], rate, atol=1e-6)
