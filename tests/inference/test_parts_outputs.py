"""``--parts`` governs every output: a part not drawn is -1 in the Cog ``.npz`` and an empty list in the
OpenPose JSON; the other parts are written as before."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from dwpose.app.service import Settings, analyse
from dwpose.inference.detectors import load_detector
from dwpose.inference.draw import PARTS, draw_poses
from dwpose.inference.formats import ALL_PARTS, cog_person, openpose_json_person
from dwpose.inference.pipeline import TopDownPipeline
from dwpose.inference.pose_models import load_pose_model
from dwpose.keypoints import FACE

REPO = Path(__file__).resolve().parents[2]
FIELDS = {"body": ["pose_keypoints_2d"], "face": ["face_keypoints_2d"], "feet": ["foot_keypoints_2d"],
          "hands": ["hand_left_keypoints_2d", "hand_right_keypoints_2d"]}  # fmt: skip


def _person(seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(10, 90, (133, 2)).astype(np.float32), rng.uniform(0.5, 1, 133).astype(np.float32)


def test_the_part_names_are_the_drawings():
    assert ALL_PARTS == PARTS


@pytest.mark.parametrize("left_out", ALL_PARTS)
def test_a_part_left_out_is_empty_in_json_and_minus_one_in_npz(left_out):
    kps, scores = _person()
    kept = tuple(p for p in ALL_PARTS if p != left_out)
    full_json, json_ = openpose_json_person(kps, scores), openpose_json_person(kps, scores, kept)
    for part, names in FIELDS.items():
        for name in names:
            assert json_[name] == ([] if part == left_out else full_json[name]), name
    full, person = cog_person(kps, scores, (100, 100), 0.3), cog_person(kps, scores, (100, 100), 0.3, kept)
    for name in full:
        if name == left_out:
            assert np.all(person[name] == -1) and np.all(full[name] >= 0), name
        else:
            np.testing.assert_array_equal(person[name], full[name])


@pytest.mark.slow
def test_face_off_through_predict_and_the_app(tmp_path, peaks_onnx, weights_dir, photos):
    photo, det = photos[-1], weights_dir / "yolox-nano_coco80.onnx"
    parts = ("body", "hands")
    cmd = [sys.executable, "-m", "dwpose.cli", "predict", str(photo), "--pose", str(peaks_onnx.path),
           "--det", str(det), "--out", str(tmp_path / "cli"), "--canvas", "black",
           "--parts", ",".join(parts)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "cli" / f"{photo.stem}.json").read_text())
    data = np.load(tmp_path / "cli" / f"{photo.stem}.npz", allow_pickle=True)
    assert len(doc["people"]) == len(data.files) >= 2
    for person in doc["people"]:
        assert person["face_keypoints_2d"] == [] and person["foot_keypoints_2d"] == []
        assert len(person["pose_keypoints_2d"]) == 54 and len(person["hand_left_keypoints_2d"]) == 63
    for name in data.files:
        person = data[name].item()
        assert np.all(person["face"] == -1) and (person["body"] >= 0).any() and (person["hands"] >= 0).any()
    pipeline = TopDownPipeline(load_pose_model([str(peaks_onnx.path)]), load_detector([str(det)]))
    app = analyse(pipeline, photo, tmp_path / "app", Settings(canvas="black", parts=parts))
    for made in app.downloads:  # the page writes the very same files
        assert made.read_bytes() == (tmp_path / "cli" / made.name).read_bytes(), made.name
    image = cv2.imread(str(photo))
    result = pipeline(image)
    assert np.all(result.scores[:, FACE] > 0.3)  # the model does put faces there
    faceless = result.scores.copy()
    faceless[:, FACE] = 0
    expected = draw_poses(image, result.keypoints, faceless, 0.3, "black", ("body", "face", "hands"))
    assert np.array_equal(cv2.imread(str(tmp_path / "cli" / f"{photo.stem}.png")), expected)
