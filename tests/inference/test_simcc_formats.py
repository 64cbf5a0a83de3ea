"""SimCC decoding and keypoint formats (COCO-133 -> OpenPose-18, Cog dict, OpenPose JSON, COCO results)."""

from __future__ import annotations

import numpy as np
import pytest

from dwpose.inference.formats import (
    coco133_to_openpose18,
    coco_wholebody_result,
    cog_person,
    openpose_json_person,
)
from dwpose.inference.simcc import decode_simcc

# The Cog wrapper's OpenPose-18 layout: OpenPose slot -> COCO body index (neck handled separately).
SPEC_ORDER = {
    0: 0,
    2: 6,
    3: 8,
    4: 10,
    5: 5,
    6: 7,
    7: 9,
    8: 12,
    9: 14,
    10: 16,
    11: 11,
    12: 13,
    13: 15,
    14: 2,
    15: 1,
    16: 4,
    17: 3,
}


def test_decode_simcc_locations_and_min_score():
    x = np.zeros((2, 3, 384), np.float32)
    y = np.zeros((2, 3, 512), np.float32)
    x[0, 0, 100], y[0, 0, 301] = 0.9, 0.4  # score = the smaller axis maximum
    x[1, 2, 383], y[1, 2, 0] = 0.2, 0.7
    kpts, scores = decode_simcc(x, y, split_ratio=2.0)
    assert kpts.shape == (2, 3, 2) and scores.shape == (2, 3)
    np.testing.assert_allclose(kpts[0, 0], [50.0, 150.5])
    np.testing.assert_allclose(kpts[1, 2], [191.5, 0.0])
    np.testing.assert_allclose([scores[0, 0], scores[1, 2]], [0.4, 0.2])


def test_decode_simcc_infers_split_ratio_from_input_size():
    x = np.zeros((1, 1, 576), np.float32)
    y = np.zeros((1, 1, 768), np.float32)
    x[0, 0, 300], y[0, 0, 30] = 1, 1
    kpts, _ = decode_simcc(x, y, input_size=(288, 384))
    np.testing.assert_allclose(kpts[0, 0], [150.0, 15.0])


def _random_logits(seed: int, positive: bool):
    rng = np.random.default_rng(seed)
    x, y = (
        rng.normal(size=(3, 133, 384)).astype(np.float32),
        rng.normal(size=(3, 133, 512)).astype(np.float32),
    )
    if positive:  # maxima > 0 everywhere (a trained RTMPose's usual case)
        x, y = x - x.min() + 0.01, y - y.min() + 0.01
    else:  # every third keypoint has all logits <= 0 on one axis
        x[:, ::3] -= x[:, ::3].max() + 0.1
    return x, y


@pytest.mark.parametrize("seed", [0, 1])
def test_decode_simcc_matches_mmpose(seed):
    """mmpose's get_simcc_maximum, then SimCCLabel's division by the split ratio."""
    mmpose_codecs = pytest.importorskip("mmpose.codecs.utils")
    x, y = _random_logits(seed, positive=True)
    locs, vals = mmpose_codecs.get_simcc_maximum(x, y)
    kpts, scores = decode_simcc(x, y, split_ratio=2.0)
    np.testing.assert_array_equal(kpts, locs / 2.0)
    np.testing.assert_array_equal(scores, vals)


def test_decode_simcc_matches_mmpose_for_non_positive_scores():
    mmpose_codecs = pytest.importorskip("mmpose.codecs.utils")
    x, y = _random_logits(2, positive=False)
    locs, vals = mmpose_codecs.get_simcc_maximum(x, y)
    kpts, scores = decode_simcc(x, y, split_ratio=2.0)
    assert (vals <= 0).any()
    np.testing.assert_array_equal(scores, vals)
    np.testing.assert_array_equal(kpts, locs / 2.0)


def test_decode_simcc_rejects_bad_shapes():
    with pytest.raises(ValueError, match="SimCC outputs must be"):
        decode_simcc(np.zeros((2, 3, 8)), np.zeros((2, 4, 8)), 2.0)


def _distinct_people(n: int = 2):
    kpts = np.stack([np.stack([np.arange(133) + 1000 * p, np.arange(133) + 0.5], 1) for p in range(n)])
    return kpts.astype(np.float32), np.linspace(0.1, 0.99, 133, dtype=np.float32)[None].repeat(n, 0)


def test_coco_to_openpose_order_neck_and_scores():
    kpts, scores = _distinct_people(1)
    body, body_scores = coco133_to_openpose18(kpts, scores)
    assert body.shape == (1, 18, 2) and body_scores.shape == (1, 18)
    for slot, coco in SPEC_ORDER.items():
        np.testing.assert_allclose(body[0, slot], kpts[0, coco])
        assert body_scores[0, slot] == scores[0, coco]
    np.testing.assert_allclose(body[0, 1], (kpts[0, 5] + kpts[0, 6]) / 2)
    assert body_scores[0, 1] == min(scores[0, 5], scores[0, 6])


def test_cog_person_normalises_and_hides_low_scores_and_off_image_points():
    kpts = np.full((133, 2), 50.0, np.float32)
    scores = np.full(133, 0.9, np.float32)
    kpts[0] = (100.0, 25.0)  # nose at the image's right edge, a quarter down
    scores[24] = 0.1  # face point 1 below the threshold
    kpts[91] = (-5.0, 10.0)  # left wrist (hand point 0) off the image
    person = cog_person(kpts, scores, (100, 100), threshold=0.3)
    assert (
        person["body"].shape == (18, 2)
        and person["face"].shape == (68, 2)
        and person["hands"].shape == (2, 21, 2)
    )
    np.testing.assert_allclose(person["body"][0], [1.0, 0.25])
    np.testing.assert_allclose(person["face"][1], [-1, -1])
    np.testing.assert_allclose(person["hands"][0, 0], [-1, -1])
    np.testing.assert_allclose(person["hands"][1, 0], [0.5, 0.5])
    for arr in person.values():
        assert np.all(((arr >= 0) & (arr <= 1)) | (arr == -1))


def test_cog_person_hands_are_left_then_right():
    kpts, scores = _distinct_people(1)
    person = cog_person(kpts[0] * 0 + np.arange(133)[:, None], scores[0] * 0 + 1, (1000, 1000), 0.3)
    np.testing.assert_allclose(person["hands"][0, :, 0] * 1000, np.arange(91, 112))
    np.testing.assert_allclose(person["hands"][1, :, 0] * 1000, np.arange(112, 133))


def test_openpose_json_person_layout_and_real_scores():
    kpts, scores = _distinct_people(1)
    person = openpose_json_person(kpts[0], scores[0])
    lengths = {k: len(v) for k, v in person.items()}
    assert lengths == {
        "pose_keypoints_2d": 54,
        "face_keypoints_2d": 204,
        "hand_left_keypoints_2d": 63,
        "hand_right_keypoints_2d": 63,
        "foot_keypoints_2d": 18,
    }
    assert person["pose_keypoints_2d"][6:9] == pytest.approx([6.0, 6.5, scores[0, 6]], abs=1e-3)  # R-shoulder
    assert person["foot_keypoints_2d"][:3] == pytest.approx([17.0, 17.5, scores[0, 17]], abs=1e-3)
    assert person["hand_right_keypoints_2d"][-3:] == pytest.approx([132.0, 132.5, scores[0, 132]], abs=1e-3)


def test_coco_wholebody_result():
    kpts, scores = _distinct_people(1)
    res = coco_wholebody_result(785, kpts[0], scores[0], box_score=0.5)
    assert res["image_id"] == 785 and res["category_id"] == 1 and len(res["keypoints"]) == 399
    assert res["keypoints"][3:6] == pytest.approx([1.0, 1.5, scores[0, 1]], abs=1e-3)
    assert res["score"] == pytest.approx(0.5 * scores[0].mean(), rel=1e-5)


def test_coco_results_score_perfectly_when_they_are_the_ground_truth(coco_mini):
    """Our results records are what `dwpose eval` scores: ground truth written through them gives AP 1."""
    wholebody = pytest.importorskip("dwpose.evaluation.wholebody")
    import json

    doc = json.loads((coco_mini / "coco_wholebody_mini.json").read_text())
    fields = ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")
    results = []
    for ann in (a for a in doc["annotations"] if a["num_keypoints"] > 0):  # others are ignored GT
        flat = np.concatenate([np.asarray(ann[f], np.float32).reshape(-1, 3) for f in fields])
        results.append(coco_wholebody_result(ann["image_id"], flat[:, :2], np.ones(133, np.float32), 1.0))
    scores = wholebody.evaluate_wholebody(wholebody.load_gt(coco_mini / "coco_wholebody_mini.json"), results)
    assert scores["body"]["AP"] == pytest.approx(1.0) and scores["wholebody"]["AP"] == pytest.approx(1.0)
