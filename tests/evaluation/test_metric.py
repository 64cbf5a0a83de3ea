"""``WholeBodyTableMetric`` inside mmpose's evaluation path gives the numbers of ``dwpose eval``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("mmpose")

from dwpose.evaluation.metric import WholeBodyTableMetric  # noqa: E402
from dwpose.evaluation.wholebody import REPORTED_PARTS, evaluate_by_scene, evaluate_wholebody, load_gt  # noqa: E402
from tests.evaluation.helpers import perturbed_results  # noqa: E402


def _dataset_meta() -> dict:
    import mmpose
    from mmpose.datasets.datasets.utils import parse_pose_metainfo

    path = os.path.join(os.path.dirname(mmpose.__file__), ".mim/configs/_base_/datasets/coco_wholebody.py")
    return parse_pose_metainfo(dict(from_file=path))


def _data_samples(results: list) -> list:
    """mmpose top-down outputs carrying exactly the given flat predictions."""
    samples = []
    for i, res in enumerate(results):
        kpts = np.asarray(res["keypoints"]).reshape(1, 133, 3)
        samples.append({
            "id": i,
            "img_id": res["image_id"],
            "pred_instances": {"keypoints": kpts[..., :2], "keypoint_scores": kpts[..., 2],
                               "bbox_scores": np.array([res["score"]])},
            "gt_instances": {},
        })  # fmt: skip
    return samples


def _run_metric(ann_file, results, **kwargs) -> dict:
    metric = WholeBodyTableMetric(ann_file=str(ann_file), score_mode="bbox", nms_mode="none", **kwargs)
    metric.dataset_meta = _dataset_meta()
    metric.process([], _data_samples(results))
    return metric.evaluate(size=len(results))


def test_metric_equals_scoring_core_and_keeps_mmpose_keys(mini_gt, mini_gt_path):
    results = perturbed_results(mini_gt)
    metrics = _run_metric(mini_gt_path, results)
    expected = evaluate_wholebody(load_gt(mini_gt), results)
    assert metrics["coco-wholebody/AP"] == pytest.approx(expected["wholebody"]["AP"], abs=1e-6)
    assert metrics["coco-wholebody/AR (L)"] == pytest.approx(expected["wholebody"]["AR (L)"], abs=1e-6)
    for part in REPORTED_PARTS:
        for stat in ("AP", "AR"):
            assert metrics[f"coco-wholebody/{part}/{stat}"] == pytest.approx(expected[part][stat], abs=1e-6)
    assert not any("/scene/" in key for key in metrics)


@pytest.mark.slow
def test_metric_equals_dwpose_eval_cli(tmp_path, mini_gt, mini_gt_path):
    results = perturbed_results(mini_gt, seed=7)
    metrics = _run_metric(mini_gt_path, results)
    res_file = tmp_path / "results.json"
    res_file.write_text(json.dumps(results))
    proc = subprocess.run(
        [sys.executable, "-m", "dwpose.cli", "eval", str(mini_gt_path), str(res_file), "--json"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    for part, stats in json.loads(proc.stdout).items():
        for stat, value in stats.items():
            assert metrics[f"coco-wholebody/{part}/{stat}"] == pytest.approx(value, abs=1e-6)


def _scene_gt(tmp_path, mini_gt) -> tuple:
    gt = json.loads(json.dumps(mini_gt))
    for i, img in enumerate(gt["images"]):
        img["file_name"] = f"{'Fitness' if i % 2 else 'Speech'}/clip_{i}/{i + 1:06d}.png"
    path = tmp_path / "val_annotations.json"
    path.write_text(json.dumps(gt))
    return gt, path


def test_scene_rows_equal_per_scene_scoring(tmp_path, mini_gt):
    gt, path = _scene_gt(tmp_path, mini_gt)
    results = perturbed_results(gt, seed=2)
    metrics = _run_metric(path, results, scene_from_path=True)
    expected = evaluate_by_scene(load_gt(gt), results)
    assert sorted(expected) == ["Fitness", "Speech"]
    for scene, scores in expected.items():
        for part in REPORTED_PARTS:
            key = f"coco-wholebody/scene/{scene}/{part}/AP"
            assert metrics[key] == pytest.approx(scores[part]["AP"], abs=1e-6)


def test_seen_images_only_scores_the_images_the_dataset_gave(tmp_path, mini_gt):
    gt, path = _scene_gt(tmp_path, mini_gt)
    speech_ids = {im["id"] for im in gt["images"] if im["file_name"].startswith("Speech/")}
    results = [r for r in perturbed_results(gt, seed=4) if r["image_id"] in speech_ids]
    seen = _run_metric(path, results, seen_images_only=True)
    everything = _run_metric(path, results)
    speech_alone = evaluate_by_scene(load_gt(gt), results)["Speech"]
    assert seen["coco-wholebody/AR"] == pytest.approx(speech_alone["wholebody"]["AR"], abs=1e-6)
    assert everything["coco-wholebody/AR"] < seen["coco-wholebody/AR"]  # Fitness people counted as missed


def test_metric_is_registered_in_mmpose():
    from mmpose.registry import METRICS

    assert METRICS.get("WholeBodyTableMetric") is WholeBodyTableMetric
