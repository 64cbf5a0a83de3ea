"""Predictions derived from a COCO-WholeBody ground truth, for the scoring tests."""

from __future__ import annotations

import copy

import numpy as np

from dwpose.keypoints import PART_FIELDS, PART_SLICES
from dwpose.keypoints import keypoints_from_annotation as flat_keypoints  # noqa: F401  (used by the tests)


def perturbed_results(gt: dict, seed: int = 0, drop_every: int = 5) -> list:
    """Flat (133*3) predictions: GT points + noise scaled to each person, one in ``drop_every`` missing,
    random scores, plus a false positive on the first image."""
    rng = np.random.default_rng(seed)
    results = []
    for i, ann in enumerate(gt["annotations"]):
        if i % drop_every == drop_every - 1:
            continue
        kpts = flat_keypoints(ann)
        noise = rng.normal(scale=0.01 * np.sqrt(max(ann["area"], 1.0)), size=(133, 2))
        kpts[:, :2] += noise * rng.uniform(0.1, 1.5)
        kpts[:, 2] = rng.uniform(0.3, 1.0, size=133)
        results.append(
            {
                "image_id": ann["image_id"],
                "category_id": 1,
                "keypoints": kpts.reshape(-1).tolist(),
                "score": float(rng.uniform(0.5, 1.0)),
            }
        )
    fp = copy.deepcopy(results[0])
    fp["keypoints"] = (np.asarray(fp["keypoints"]) + 40.0).tolist()
    fp["score"] = 0.95
    results.append(fp)
    return results


def split_result(res: dict) -> dict:
    """The COCO-WholeBody split form of a flat result, as mmpose's metric writes it."""
    flat = np.asarray(res["keypoints"]).reshape(-1)
    out = {k: v for k, v in res.items() if k != "keypoints"}
    for part, field in PART_FIELDS.items():
        s = PART_SLICES[part]
        out[field] = flat[3 * s.start : 3 * s.stop].tolist()
    return out


def gt_as_results(gt: dict) -> list:
    """Every GT person as a perfect prediction (visibility flags become scores)."""
    return [
        {
            "image_id": a["image_id"],
            "category_id": 1,
            "keypoints": flat_keypoints(a).reshape(-1).tolist(),
            "score": 1.0,
        }
        for a in gt["annotations"]
    ]
