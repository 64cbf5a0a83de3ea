"""Results of models whose keypoints are not COCO-WholeBody's 133 (body-only, MPII, custom sets)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dwpose.datasets.part_subset import part_subset
from dwpose.inference.draw import draw_poses
from dwpose.inference.pipeline import PoseResult
from dwpose.inference.predict_io import PredictOptions, results_file_name, write_results


def _result(k: int, n: int = 2) -> PoseResult:
    rng = np.random.default_rng(0)
    return PoseResult(boxes=np.tile([[10, 10, 90, 70]], (n, 1)).astype(np.float32),
                      box_scores=np.full(n, 0.9, np.float32),
                      keypoints=rng.uniform(10, 60, size=(n, k, 2)).astype(np.float32),
                      scores=rng.uniform(0, 1, size=(n, k)).astype(np.float32), image_size=(100, 80))


@pytest.mark.parametrize("k", [16, 17, 21])
def test_plain_arrays_instead_of_cog_and_openpose(tmp_path, k):
    result = _result(k)
    image = np.zeros((80, 100, 3), np.uint8)
    write_results(tmp_path, "img", image, result, PredictOptions(tmp_path), ids=np.array([4, 7]))
    with np.load(tmp_path / "img.npz") as npz:  # no pickles: allow_pickle stays False
        np.testing.assert_array_equal(npz["keypoints"], result.keypoints)
        np.testing.assert_array_equal(npz["scores"], result.scores)
        assert npz["image_size"].tolist() == [100, 80] and npz["person_ids"].tolist() == [4, 7]
    assert not (tmp_path / "img.json").exists()
    assert results_file_name(k) == "results_keypoints.json"


def test_wholebody_results_keep_the_cog_layout(tmp_path):
    write_results(tmp_path, "img", np.zeros((80, 100, 3), np.uint8), _result(133), PredictOptions(tmp_path))
    person = np.load(tmp_path / "img.npz", allow_pickle=True)["person_0"].item()
    assert set(person) == {"body", "face", "hands"}
    assert json.loads((tmp_path / "img.json").read_text())["people"]
    assert results_file_name(133) == "results_coco_wholebody.json"


def test_other_keypoint_sets_are_drawn_as_dots_above_the_threshold():
    result = _result(21, n=1)
    result.scores[:] = 0.0
    result.scores[0, 5] = 1.0
    drawn = draw_poses(np.zeros((80, 100, 3), np.uint8), result.keypoints, result.scores, 0.3)
    ys, xs = np.nonzero(drawn.any(axis=2))
    x, y = result.keypoints[0, 5]
    assert len(xs) > 0 and abs(xs.mean() - x) < 1.5 and abs(ys.mean() - y) < 1.5  # one dot, there


def test_part_subset_of_a_wholebody_file():
    hand = [float(v) for i in range(21) for v in (i, 2 * i, 2 if i % 3 else 0)]
    wb = {"images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "b.jpg"}],
          "annotations": [
              {"id": 10, "image_id": 1, "bbox": [0, 0, 50, 50], "lefthand_valid": True,
               "lefthand_kpts": hand, "lefthand_box": [1, 2, 3, 4]},
              {"id": 11, "image_id": 2, "bbox": [0, 0, 50, 50], "lefthand_valid": False,
               "lefthand_kpts": [0.0] * 63, "lefthand_box": [0, 0, 0, 0]}]}
    out = part_subset(wb, "lefthand")
    assert [im["id"] for im in out["images"]] == [1]
    (ann,) = out["annotations"]
    assert ann["keypoints"] == hand and ann["bbox"] == [1, 2, 3, 4] and ann["area"] == 12.0
    assert ann["num_keypoints"] == 14  # 21 points, every third unlabelled
    assert len(out["categories"][0]["keypoints"]) == 21
    with pytest.raises(ValueError, match="part must be one of"):
        part_subset(wb, "tail")
    with pytest.raises(ValueError, match="lefthand has 21 keypoints but 2 names"):
        part_subset(wb, "lefthand", names=["a", "b"])
