"""The scoring core equals xtcocotools' COCO-WholeBody evaluation, and fails clearly on bad input."""

from __future__ import annotations

import copy
import json
import os

import numpy as np
import pytest

from dwpose.evaluation import wholebody as wb
from tests.evaluation.helpers import gt_as_results, perturbed_results, split_result

PART_IOU = ("body", "foot", "face", "lefthand", "righthand", "wholebody")


def mmpose_sigmas() -> np.ndarray:
    """The 133 sigmas of mmpose's own COCO-WholeBody metainfo file (an independent source)."""
    mmpose = pytest.importorskip("mmpose")
    from mmengine.config import Config

    path = os.path.join(os.path.dirname(mmpose.__file__), ".mim/configs/_base_/datasets/coco_wholebody.py")
    return np.asarray(Config.fromfile(path).dataset_info["sigmas"])


def direct_cocoeval(gt_path, split_results, sigmas):
    """xtcocotools run by hand as the COCO-WholeBody demo does: {part: stats (10,)}."""
    from xtcocotools.coco import COCO
    from xtcocotools.cocoeval import COCOeval

    cuts = np.cumsum([0, 17, 6, 68, 21, 21])
    part_sig = {p: sigmas[cuts[i] : cuts[i + 1]] for i, p in enumerate(PART_IOU[:-1])}
    part_sig["wholebody"] = sigmas
    with wb.quiet():
        gt = COCO(str(gt_path))
        dt = gt.loadRes(copy.deepcopy(split_results))
        stats = {}
        for part in PART_IOU:
            ev = COCOeval(gt, dt, f"keypoints_{part}", part_sig[part], use_area=True)
            ev.params.useSegm = None
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            stats[part] = np.asarray(ev.stats)
    return stats


def test_sigmas_and_slices_are_coco_wholebody():
    np.testing.assert_array_equal(wb.WHOLEBODY_SIGMAS, mmpose_sigmas())
    bounds = [(s.start, s.stop) for p, s in wb.part_slices().items() if p != "wholebody"]
    assert bounds == [(0, 17), (17, 23), (23, 91), (91, 112), (112, 133)]


def test_ground_truth_scored_against_itself_is_perfect(mini_gt):
    scores = wb.evaluate_wholebody(wb.load_gt(mini_gt), gt_as_results(mini_gt))
    for part in wb.REPORTED_PARTS:
        assert scores[part]["AP"] == pytest.approx(1.0), part
        assert scores[part]["AR"] == pytest.approx(1.0), part


def test_perturbed_predictions_equal_direct_cocoeval(mini_gt, mini_gt_path):
    results = perturbed_results(mini_gt)
    ours = wb.evaluate_wholebody(wb.load_gt(mini_gt_path), results)
    direct = direct_cocoeval(mini_gt_path, [split_result(r) for r in results], mmpose_sigmas())
    for part in PART_IOU:
        got = np.array([ours[part][name] for name in wb.STATS_NAMES])
        np.testing.assert_allclose(got, direct[part], atol=1e-6, err_msg=part)
    for name in wb.STATS_NAMES:
        expected = (
            direct["lefthand"][wb.STATS_NAMES.index(name)] + direct["righthand"][wb.STATS_NAMES.index(name)]
        ) / 2
        assert ours["hand"][name] == pytest.approx(expected, abs=1e-12)
    assert ours["wholebody"]["AP"] < 0.99  # the perturbation is felt
    assert ours["wholebody"]["AR"] < 0.99  # and the dropped people are missed


def test_flat_and_split_results_score_the_same(mini_gt):
    gt = wb.load_gt(mini_gt)
    results = perturbed_results(mini_gt, seed=3)
    flat = wb.evaluate_wholebody(gt, results)
    split = wb.evaluate_wholebody(gt, [split_result(r) for r in results])
    assert flat == split


def test_scoring_does_not_modify_the_results(mini_gt):
    results = perturbed_results(mini_gt)
    before = copy.deepcopy(results)
    wb.evaluate_wholebody(wb.load_gt(mini_gt), results)
    assert results == before


def _with_scenes(gt: dict) -> dict:
    gt = copy.deepcopy(gt)
    for i, img in enumerate(gt["images"]):
        img["file_name"] = f"{'SceneA' if i < 2 else 'SceneB'}/video_{i}/{img['file_name']}"
    gt["images"][0]["file_name"] = "/" + gt["images"][0]["file_name"]  # UBody style leading slash
    return gt


def _subset(gt: dict, scene: str) -> dict:
    sub = copy.deepcopy(gt)
    sub["images"] = [im for im in sub["images"] if wb.scene_of(im["file_name"]) == scene]
    ids = {im["id"] for im in sub["images"]}
    sub["annotations"] = [a for a in sub["annotations"] if a["image_id"] in ids]
    return sub


def test_per_scene_scores_equal_scoring_that_scene_alone(mini_gt):
    gt = _with_scenes(mini_gt)
    results = perturbed_results(gt, seed=1)
    rows = wb.evaluate_by_scene(wb.load_gt(gt), results)
    assert list(rows) == ["SceneA", "SceneB"]
    for scene, scores in rows.items():
        sub = _subset(gt, scene)
        ids = {im["id"] for im in sub["images"]}
        alone = wb.evaluate_wholebody(wb.load_gt(sub), [r for r in results if r["image_id"] in ids])
        assert scores == alone, scene


def test_hand_averages_only_the_defined_side(mini_gt):
    gt = copy.deepcopy(mini_gt)
    for ann in gt["annotations"]:
        ann["righthand_kpts"] = [0.0] * 63  # no right hand annotated anywhere
    scores = wb.evaluate_wholebody(wb.load_gt(gt), perturbed_results(gt))
    assert scores["righthand"]["AP"] == -1.0
    assert scores["hand"]["AP"] == scores["lefthand"]["AP"]
    assert scores["hand"]["AR"] == scores["lefthand"]["AR"]


def test_empty_results_are_an_error(mini_gt):
    with pytest.raises(ValueError, match="no detections"):
        wb.evaluate_wholebody(wb.load_gt(mini_gt), [])


def test_unknown_image_id_is_named(mini_gt):
    results = perturbed_results(mini_gt)
    results[2]["image_id"] = 123456789
    with pytest.raises(ValueError, match="image_id 123456789"):
        wb.evaluate_wholebody(wb.load_gt(mini_gt), results)


def test_wrong_keypoint_count_is_an_error(mini_gt):
    results = perturbed_results(mini_gt)
    results[0]["keypoints"] = results[0]["keypoints"][:51]  # body only, no split fields
    with pytest.raises(ValueError, match="399 numbers"):
        wb.evaluate_wholebody(wb.load_gt(mini_gt), results)


def test_gt_without_wholebody_fields_is_refused(mini_gt):
    gt = copy.deepcopy(mini_gt)
    for ann in gt["annotations"]:
        del ann["foot_kpts"]
    with pytest.raises(ValueError, match="foot_kpts.*COCO-WholeBody"):
        wb.load_gt(gt)


def test_gt_without_categories_points_to_add_cat(mini_gt):
    gt = copy.deepcopy(mini_gt)
    del gt["categories"]
    with pytest.raises(ValueError, match="add_cat"):
        wb.load_gt(gt)


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        wb.load_gt(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        wb.load_results(broken)
    obj = tmp_path / "obj.json"
    obj.write_text(json.dumps({"image_id": 1}))
    with pytest.raises(ValueError, match="JSON list"):
        wb.load_results(obj)


def test_scene_of():
    assert wb.scene_of("/Fitness/vid.a/000001.png") == "Fitness"
    assert wb.scene_of("Speech/x/y/000002.png") == "Speech"
    assert wb.scene_of("000000000785.jpg") == ""
