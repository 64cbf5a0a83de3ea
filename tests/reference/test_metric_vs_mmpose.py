"""``WholeBodyTableMetric`` against unmodified ``mmpose.evaluation.CocoWholeBodyMetric``.

Same predictions (the real coco-wholebody-mini ground truth, perturbed, some people dropped, a false
positive added: tests/evaluation/helpers.py) through both metrics. mmpose's metric returns only the
133-point stats and prints the per-part ones; its per-part numbers are read from the xtcocotools
``COCOeval`` objects it makes (recorded after ``summarize()``, nothing in mmpose changed).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mmpose")

from tests.evaluation.helpers import perturbed_results  # noqa: E402

STATS = ("AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)")
PARTS = ("body", "foot", "face", "lefthand", "righthand", "wholebody")


def _dataset_meta() -> dict:
    import os

    import mmpose
    from mmpose.datasets.datasets.utils import parse_pose_metainfo

    path = os.path.join(os.path.dirname(mmpose.__file__), ".mim/configs/_base_/datasets/coco_wholebody.py")
    return parse_pose_metainfo(dict(from_file=path))


def _samples(results: list, gt: dict) -> list:
    """mmpose top-down outputs carrying the flat predictions (bbox scale from the GT box, for areas)."""
    boxes = {a["image_id"]: a["bbox"] for a in gt["annotations"]}
    out = []
    for i, res in enumerate(results):
        kpts = np.asarray(res["keypoints"]).reshape(1, 133, 3)
        out.append({"id": i, "img_id": res["image_id"],
                    "pred_instances": {"keypoints": kpts[..., :2], "keypoint_scores": kpts[..., 2],
                                       "bbox_scores": np.array([res["score"]])},
                    "gt_instances": {"bbox_scales": 1.25 * np.array([boxes[res["image_id"]][2:]])},
                    })  # fmt: skip
    return out


def _evaluate(metric, results, gt) -> dict:
    metric.dataset_meta = _dataset_meta()
    metric.process([], _samples(results, gt))
    return metric.evaluate(size=len(results))


@pytest.fixture()
def recorded_cocoeval(monkeypatch) -> dict:
    """``{iouType: stats}`` of every COCOeval that mmpose's CocoWholeBodyMetric summarises."""
    from mmpose.evaluation.metrics import coco_wholebody_metric
    from xtcocotools.cocoeval import COCOeval

    seen: dict = {}

    class Recording(COCOeval):
        def summarize(self):
            super().summarize()
            seen[self.params.iouType] = list(self.stats)

    monkeypatch.setattr(coco_wholebody_metric, "COCOeval", Recording)
    return seen


@pytest.mark.parametrize(
    ("score_mode", "nms_mode", "seed"), [("bbox_keypoint", "oks_nms", 0), ("bbox", "none", 3)]
)
def test_table_metric_equals_mmpose_metric(
    recorded_cocoeval, mini_gt, mini_gt_path, score_mode, nms_mode, seed
):
    from mmpose.evaluation import CocoWholeBodyMetric

    from dwpose.evaluation.metric import WholeBodyTableMetric

    results = perturbed_results(mini_gt, seed=seed)
    kwargs = dict(ann_file=str(mini_gt_path), score_mode=score_mode, nms_mode=nms_mode)
    ours = _evaluate(WholeBodyTableMetric(**kwargs), results, mini_gt)
    theirs = _evaluate(CocoWholeBodyMetric(**kwargs), results, mini_gt)
    parts = {iou.replace("keypoints_", ""): stats for iou, stats in recorded_cocoeval.items()}
    assert sorted(parts) == sorted(PARTS)
    for name, value in zip(STATS, parts["wholebody"]):
        assert theirs[f"coco-wholebody/{name}"] == pytest.approx(value, abs=1e-12)  # the recording is right
        assert ours[f"coco-wholebody/{name}"] == pytest.approx(theirs[f"coco-wholebody/{name}"], abs=1e-6)
    for part in PARTS:
        ap, ar = parts[part][0], parts[part][5]
        assert ours[f"coco-wholebody/{part}/AP"] == pytest.approx(ap, abs=1e-6), part
        assert ours[f"coco-wholebody/{part}/AR"] == pytest.approx(ar, abs=1e-6), part
    for stat, index in (("AP", 0), ("AR", 5)):  # "hand": the mean of the two hands
        hand = (parts["lefthand"][index] + parts["righthand"][index]) / 2
        assert ours[f"coco-wholebody/hand/{stat}"] == pytest.approx(hand, abs=1e-6)
    assert 0.05 < parts["wholebody"][0] < 0.99, "the perturbation should leave AP strictly inside (0, 1)"
