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


def test_predict_and_onnx_export_of_an_mpii_model(tmp_path, shared_dir, capsys):
    """A 16-keypoint SimCC model (the MPII student config, random init) on a real MPII photo:
    PyTorch and its ONNX export predict the same keypoints, written as plain arrays."""
    import torch

    from dwpose.cli import main as dwpose
    from tests.distiller.helpers import REPO, build_plain, save_plain_checkpoint

    anns = json.loads((shared_dir / "data/mpii-mini/test_mpii.json").read_text())
    image = anns[0]["image"]
    boxes = [[a["center"][0] - 100 * a["scale"], a["center"][1] - 100 * a["scale"],
              a["center"][0] + 100 * a["scale"], a["center"][1] + 100 * a["scale"]]
             for a in anns if a["image"] == image]
    (tmp_path / "boxes.json").write_text(json.dumps({image: boxes}))
    cfg = str(REPO / "configs/body_2d_keypoint/simcc/mpii"
              / "simcc_mobilenetv2_wo-deconv_8xb64-270e_mpii-256x256.py")
    torch.manual_seed(0)
    model = build_plain(cfg)
    model.init_weights()
    ckpt = save_plain_checkpoint(model, tmp_path / "mpii.pth")
    photo = str(shared_dir / "data/mpii-mini" / image)
    onnx_path = tmp_path / "mpii.onnx"
    assert dwpose(["export", "onnx", cfg, ckpt, str(onnx_path), "--check"]) == 0
    for name, pose in (("torch", [cfg, ckpt]), ("onnx", [str(onnx_path)])):
        assert dwpose(["predict", photo, "--pose", *pose, "--boxes", str(tmp_path / "boxes.json"),
                       "--out", str(tmp_path / name)]) == 0
        assert "note: the pose model predicts 16 keypoints" in capsys.readouterr().out
    stem = image.rsplit(".", 1)[0]
    got = {name: np.load(tmp_path / name / f"{stem}.npz") for name in ("torch", "onnx")}
    assert got["torch"]["keypoints"].shape == (len(boxes), 16, 2)
    np.testing.assert_allclose(got["onnx"]["keypoints"], got["torch"]["keypoints"], atol=0.51)
    np.testing.assert_allclose(got["onnx"]["scores"], got["torch"]["scores"], atol=1e-4)
    assert not (tmp_path / "torch" / f"{stem}.json").exists()
