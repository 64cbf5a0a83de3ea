"""Writers: the Cog .npz schema (and the wrapper's hand-pairing defect), OpenPose JSON."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from dwpose.inference.writers import (
    cog_npz_bytes,
    openpose_json,
    write_cog_npz,
    write_openpose_json,
)


def _people(n: int, width: int = 1000, height: int = 800):
    """n people whose every keypoint encodes (person, index): x = 100 * p + i / 2, y = i * 5."""
    idx = np.arange(133, dtype=np.float32)
    kpts = np.stack([np.stack([100.0 * p + idx / 2, idx * 5], 1) for p in range(n)]).astype(np.float32)
    return kpts, np.full((n, 133), 0.9, np.float32), (width, height)


def test_npz_schema_roundtrip(tmp_path):
    kpts, scores, size = _people(3)
    path = write_cog_npz(tmp_path / "r.npz", kpts, scores, size, threshold=0.3)
    data = np.load(path, allow_pickle=True)
    assert sorted(data.files) == ["person_0", "person_1", "person_2"]
    person = data["person_2"].item()
    assert set(person) == {"body", "face", "hands"}
    assert (
        person["body"].shape == (18, 2)
        and person["face"].shape == (68, 2)
        and person["hands"].shape == (2, 21, 2)
    )
    np.testing.assert_allclose(person["body"][0], [200 / 1000, 0.0])  # nose of person 2
    np.testing.assert_allclose(person["face"][0], [(200 + 23 / 2) / 1000, 23 * 5 / 800], rtol=1e-6)


def test_npz_without_people_is_empty(tmp_path):
    data = np.load(io.BytesIO(cog_npz_bytes(np.zeros((0, 133, 2)), np.zeros((0, 133)), (10, 10), 0.3)))
    assert data.files == []


def test_hands_belong_to_their_own_person():
    """Cog wrapper defect (docs/algorithm.md): with several people it paired hands across persons."""
    kpts, scores, size = _people(4)
    data = np.load(io.BytesIO(cog_npz_bytes(kpts, scores, size, 0.3)), allow_pickle=True)
    for p in range(4):
        hands = data[f"person_{p}"].item()["hands"] * np.array(size)
        np.testing.assert_allclose(hands[0, :, 0], 100 * p + np.arange(91, 112) / 2, rtol=1e-5)  # left
        np.testing.assert_allclose(hands[1, :, 0], 100 * p + np.arange(112, 133) / 2, rtol=1e-5)  # right
        np.testing.assert_allclose(hands[1, :, 1], np.arange(112, 133) * 5, rtol=1e-5)


def test_threshold_sets_points_to_minus_one():
    kpts, scores, size = _people(1)
    scores[0, 91:112] = 0.2  # whole left hand uncertain
    person = np.load(io.BytesIO(cog_npz_bytes(kpts, scores, size, 0.3)), allow_pickle=True)["person_0"].item()
    assert np.all(person["hands"][0] == -1) and np.all(person["hands"][1] >= 0)


def test_openpose_json(tmp_path):
    kpts, scores, _ = _people(2)
    path = write_openpose_json(tmp_path / "r.json", kpts, scores)
    doc = json.loads(path.read_text())
    assert doc["version"] == 1.3 and len(doc["people"]) == 2
    assert doc["people"][1]["pose_keypoints_2d"][:3] == pytest.approx([100.0, 0.0, 0.9])
    assert doc == json.loads(json.dumps(openpose_json(kpts, scores)))
