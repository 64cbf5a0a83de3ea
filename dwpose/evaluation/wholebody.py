"""Scoring COCO-WholeBody keypoint results the official way: xtcocotools + numpy, no torch, no mm*.

The numbers are exactly those of the COCO-WholeBody evaluation (``xtcocotools.cocoeval.COCOeval`` with
``iouType='keypoints_<part>'``, the standard per-part sigmas and ``use_area=True``), as run by mmpose's
``CocoWholeBodyMetric``; this module only adds input checks, quiet output and per-scene subsets.

Parts: ``body`` (17 points), ``foot`` (6), ``face`` (68), ``lefthand`` (21), ``righthand`` (21) and
``wholebody`` (all 133). ``hand`` is derived: the mean of the ``lefthand`` and ``righthand`` numbers,
stat by stat, which is how COCO-WholeBody's authors and the DWPose README report the "Hand" column
(jin-s13/COCO-WholeBody#38). A stat that COCOeval cannot define (no annotated keypoint of that part in
the evaluated images) is ``-1``, the COCO convention; ``hand`` then averages the defined sides only.

Example::

    gt = load_gt("coco_wholebody_val_v1.0.json")
    scores = evaluate_wholebody(gt, load_results("results.json"))
    scores["hand"]["AP"], scores["wholebody"]["AR"]
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Dict, List, Optional

import numpy as np
from xtcocotools.coco import COCO
from xtcocotools.cocoeval import COCOeval

from dwpose.errors import UserError
from dwpose.evaluation.report import PartScores
from dwpose.fileio import read_json
from dwpose.keypoints import (
    NUM_KEYPOINTS,
    PART_FIELDS,
    PART_SIZES,
    PART_SLICES,
    REPORTED_PARTS,  # noqa: F401  (re-exported: what the metric reports)
    WHOLEBODY_SIGMAS,
)

# The 10 keypoint stats of COCOeval.summarize(), in its order (AP and AR are what the tables show).
STATS_NAMES: tuple = ("AP", "AP .5", "AP .75", "AP (M)", "AP (L)",
                      "AR", "AR .5", "AR .75", "AR (M)", "AR (L)")  # fmt: skip


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence xtcocotools' progress prints and its "'<part>_score' not found" warning."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def part_slices() -> Dict[str, slice]:
    """Index ranges of each part in the 133 keypoints: body 0-16, foot 17-22, face 23-90, ..."""
    return {**PART_SLICES, "wholebody": slice(0, NUM_KEYPOINTS)}


def part_sigmas(sigmas: Optional[Sequence[float]] = None) -> Dict[str, np.ndarray]:
    """Per-part OKS sigmas cut from the 133 whole-body sigmas (default: the COCO-WholeBody ones).

    Args:
        sigmas: ``(133,)`` sigmas in COCO-WholeBody keypoint order.

    Returns:
        ``{part: (k,) array}`` for every name in :data:`PARTS`.
    """
    full = WHOLEBODY_SIGMAS if sigmas is None else np.asarray(sigmas, dtype=np.float64)
    if full.shape != (NUM_KEYPOINTS,):
        raise UserError(f"expected {NUM_KEYPOINTS} keypoint sigmas, got shape {full.shape}")
    return {part: full[s] for part, s in part_slices().items()}


def load_gt(source: str | os.PathLike | Mapping[str, Any]) -> COCO:
    """Load and check a COCO-WholeBody ground-truth file (or an already parsed dict).

    Raises:
        FileNotFoundError: the file does not exist.
        UserError: not COCO-style JSON, no ``categories``, or annotations without whole-body fields.
    """
    if isinstance(source, Mapping):
        data, name = copy.deepcopy(dict(source)), "ground truth"  # COCOeval writes into annotations
    else:
        data, name = read_json(source, "ground-truth file"), str(source)
    if not isinstance(data, dict) or not {"images", "annotations"} <= data.keys():
        raise UserError(f"{name} is not a COCO-style annotation file (needs 'images' and 'annotations')")
    if not data.get("categories"):
        raise UserError(f"{name} has no 'categories'; for UBody run add_cat.py on it first")
    for ann in data["annotations"]:
        for part, field in PART_FIELDS.items():
            if len(ann.get(field) or []) != 3 * PART_SIZES[part]:
                raise UserError(
                    f"{name}: annotation {ann.get('id')} has no valid '{field}' "
                    f"({3 * PART_SIZES[part]} numbers); is this a COCO-WholeBody file?"
                )
    coco = COCO()
    coco.dataset = data
    with quiet():
        coco.createIndex()
    return coco


def load_results(path: str | os.PathLike) -> List[dict]:
    """Read a results JSON: a list of ``{image_id, category_id, keypoints, score}`` dicts."""
    results = read_json(path, "results file")
    if not isinstance(results, list):
        raise UserError(f"results file {path} must hold a JSON list of detections")
    return results


def to_part_format(results: Sequence[Mapping[str, Any]], known_img_ids: Optional[set] = None) -> List[dict]:
    """Check results and give each one the COCO-WholeBody per-part fields.

    A result holds either ``keypoints`` as 133*3 flat numbers (x, y, score per point) or the split form
    (``keypoints`` 17*3, ``foot_kpts`` 6*3, ``face_kpts`` 68*3, ``lefthand_kpts`` / ``righthand_kpts``
    21*3). Other fields (``score``, ``foot_score``, ``bbox``, ...) pass through; ``category_id``
    defaults to 1 (person).

    Raises:
        UserError: empty results, a missing field, a wrong length, or an image id not in the GT.
    """
    if len(results) == 0:
        raise UserError("the results hold no detections; nothing to score")
    out = []
    for i, res in enumerate(results):
        if "image_id" not in res or "score" not in res or "keypoints" not in res:
            raise UserError(f"result #{i} lacks one of 'image_id', 'score', 'keypoints'")
        if known_img_ids is not None and res["image_id"] not in known_img_ids:
            raise UserError(
                f"result #{i} names image_id {res['image_id']!r}, which is not in the ground truth"
            )
        new = {k: v for k, v in res.items() if k not in PART_FIELDS.values()}
        new.setdefault("category_id", 1)
        new.update(_split_keypoints(res, i))
        out.append(new)
    return out


def _split_keypoints(res: Mapping[str, Any], index: int) -> Dict[str, list]:
    kpts = np.asarray(res["keypoints"], dtype=np.float64).reshape(-1)
    if kpts.size == 3 * NUM_KEYPOINTS:
        return {PART_FIELDS[p]: kpts[s].tolist() for p, s in _flat_slices().items()}
    parts = {}
    for part, field in PART_FIELDS.items():
        values = res.get(field)
        if values is None or len(values) != 3 * PART_SIZES[part]:
            raise UserError(
                f"result #{index}: expected 'keypoints' with {3 * NUM_KEYPOINTS} numbers (133 x, y, score) "
                f"or the split form with '{field}' of {3 * PART_SIZES[part]} numbers"
            )
        parts[field] = [float(v) for v in values]
    return parts


def _flat_slices() -> Dict[str, slice]:
    return {p: slice(3 * s.start, 3 * s.stop) for p, s in part_slices().items() if p != "wholebody"}


def evaluate_part(
    coco_gt: COCO,
    coco_dt: COCO,
    part: str,
    sigmas: np.ndarray,
    img_ids: Optional[Sequence[int]] = None,
    use_area: bool = True,
) -> np.ndarray:
    """Run COCOeval for one part (``iouType='keypoints_<part>'``).

    Args:
        coco_gt: ground truth.
        coco_dt: results loaded with ``coco_gt.loadRes``.
        part: a name in :data:`PARTS`.
        sigmas: ``(k,)`` sigmas of that part.
        img_ids: evaluate only these images (default: every GT image).
        use_area: use the GT ``area`` for OKS (COCO-WholeBody: True).

    Returns:
        ``(10,)`` stats in :data:`STATS_NAMES` order.
    """
    with quiet():
        coco_eval = COCOeval(coco_gt, coco_dt, f"keypoints_{part}", np.asarray(sigmas), use_area=use_area)
        coco_eval.params.useSegm = None
        if img_ids is not None:
            coco_eval.params.imgIds = sorted(img_ids)
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    return np.asarray(coco_eval.stats, dtype=np.float64)


def evaluate_wholebody(
    coco_gt: COCO,
    results: Sequence[Mapping[str, Any]],
    sigmas: Optional[Sequence[float]] = None,
    img_ids: Optional[Sequence[int]] = None,
    use_area: bool = True,
) -> PartScores:
    """Score whole-body results: every part of :data:`PARTS` plus the derived ``hand``.

    Args:
        coco_gt: ground truth from :func:`load_gt`.
        results: detections, flat (133*3) or split form (see :func:`to_part_format`).
        sigmas: ``(133,)`` OKS sigmas; default the COCO-WholeBody ones.
        img_ids: evaluate only these images (default: every GT image).
        use_area: see :func:`evaluate_part`.

    Returns:
        ``{part: {stat name: value}}`` with the stats of :data:`STATS_NAMES`.
    """
    return score_loaded(coco_gt, load_detections(coco_gt, results), sigmas, img_ids, use_area)


def load_detections(coco_gt: COCO, results: Sequence[Mapping[str, Any]]) -> COCO:
    """Check results (:func:`to_part_format`) and load them against the GT (``coco_gt.loadRes``)."""
    dets = to_part_format(results, set(coco_gt.getImgIds()))
    with quiet():
        return coco_gt.loadRes(dets)


def score_loaded(
    coco_gt: COCO,
    coco_dt: COCO,
    sigmas: Optional[Sequence[float]] = None,
    img_ids: Optional[Sequence[int]] = None,
    use_area: bool = True,
) -> PartScores:
    """:func:`evaluate_wholebody` on detections already loaded by :func:`load_detections`."""
    scores: PartScores = {}
    for part, part_sig in part_sigmas(sigmas).items():
        stats = evaluate_part(coco_gt, coco_dt, part, part_sig, img_ids, use_area)
        scores[part] = {name: float(v) for name, v in zip(STATS_NAMES, stats)}
    scores["hand"] = {
        name: mean_defined(scores["lefthand"][name], scores["righthand"][name]) for name in STATS_NAMES
    }
    return scores


def mean_defined(*values: float) -> float:
    """Mean of the values that COCOeval could define (>= 0); -1 when none is."""
    defined = [v for v in values if v >= 0]
    return float(np.mean(defined)) if defined else -1.0


def scene_of(file_name: str) -> str:
    """The scene of an image: the first folder of its ``file_name`` ('' when it has none).

    ``'Fitness/vid_1/000001.png'`` -> ``'Fitness'``; a leading '/' is ignored.
    """
    parts = file_name.lstrip("/").split("/")
    return parts[0] if len(parts) > 1 else ""


def image_ids_by_scene(coco_gt: COCO, img_ids: Optional[Sequence[int]] = None) -> Dict[str, List[int]]:
    """Group image ids by :func:`scene_of` their ``file_name``, scenes sorted by name."""
    ids = coco_gt.getImgIds() if img_ids is None else img_ids
    groups: Dict[str, List[int]] = {}
    for img_id in ids:
        groups.setdefault(scene_of(coco_gt.imgs[img_id].get("file_name", "")), []).append(img_id)
    return dict(sorted(groups.items()))


def evaluate_by_scene(
    coco_gt: COCO,
    results: Sequence[Mapping[str, Any]],
    sigmas: Optional[Sequence[float]] = None,
    img_ids: Optional[Sequence[int]] = None,
    use_area: bool = True,
) -> Dict[str, PartScores]:
    """:func:`evaluate_wholebody` restricted to the images of each scene (see :func:`scene_of`).

    Returns:
        ``{scene: {part: {stat name: value}}}``, scenes sorted by name.
    """
    coco_dt = load_detections(coco_gt, results)
    return {
        scene: score_loaded(coco_gt, coco_dt, sigmas, ids, use_area)
        for scene, ids in image_ids_by_scene(coco_gt, img_ids).items()
    }
