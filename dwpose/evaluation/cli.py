"""``dwpose eval GT_JSON RESULTS_JSON [--json] [--per-scene]``: score a COCO-WholeBody results file.

MPII ground truth (mmpose's ``test_mpii.json`` layout: a list of ``{"joints", "joints_vis", "image"}``)
is scored by PCKh@0.5 instead, per joint group and mean as MPII reports it
(:mod:`dwpose.evaluation.pckh`); the results are then a list of ``{"image", "keypoints": 16 x [x, y]}``
in the annotation order, 0-based pixels, and ``--headbox mpii_gt_val.mat`` gives the head sizes::

    dwpose eval data/mpii/annotations/mpii_val.json results.json \\
        --headbox data/mpii/annotations/mpii_gt_val.mat

Results: a JSON list of ``{"image_id", "category_id", "keypoints": 133*3 flat numbers, "score"}`` (the
split COCO-WholeBody form with ``foot_kpts`` ... is accepted too). The numbers are those of the official
COCO-WholeBody evaluation (see :mod:`dwpose.evaluation.wholebody`). Needs xtcocotools, not torch.

Examples::

    dwpose eval data/coco/annotations/coco_wholebody_val_v1.0.json results.json
    dwpose eval data/UBody/annotations/val_annotations.json results.json --per-scene
    dwpose eval gt.json results.json --json   # {"body": {"AP": ..., "AR": ...}, "foot": ..., ...}
"""

from __future__ import annotations

import argparse
import json
import os

from dwpose.errors import UserError
from dwpose.evaluation.report import format_table
from dwpose.keypoints import REPORTED_PARTS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``dwpose eval``."""
    parser.add_argument("gt_json", help="COCO-WholeBody ground truth (e.g. coco_wholebody_val_v1.0.json)")
    parser.add_argument("results_json", help="results: list of {image_id, category_id, keypoints, score}")
    parser.add_argument(
        "--json",
        action="store_true",
        help='print {"body": {"AP": .., "AR": ..}, "foot": .., ..., "wholebody": ..} instead of the table',
    )
    parser.add_argument(
        "--per-scene",
        action="store_true",
        help="also score each scene (first folder of the image file_name, e.g. UBody scenes); "
        'with --json the output becomes {"all": {...}, "<scene>": {...}}',
    )
    parser.add_argument(
        "--headbox",
        metavar="MAT",
        help="MPII only: MPII's head boxes (mpii_gt_val.mat) for PCKh's head sizes, one per annotation",
    )


def run(args: argparse.Namespace) -> int:
    """Score ``args.results_json`` against ``args.gt_json``; print the table or JSON. Returns 0."""
    if _is_mpii(args.gt_json):
        return _run_mpii(args)
    from dwpose.evaluation.wholebody import evaluate_by_scene, evaluate_wholebody, load_gt, load_results

    coco_gt = load_gt(args.gt_json)
    results = load_results(args.results_json)
    rows = {"all": evaluate_wholebody(coco_gt, results)}
    if args.per_scene:
        rows.update(evaluate_by_scene(coco_gt, results))
    if args.json:
        out = {name: _ap_ar(scores) for name, scores in rows.items()}
        print(json.dumps(out["all"] if not args.per_scene else out, indent=2))
    else:
        print(format_table(rows, first_column="Results"))
    return 0


def _is_mpii(gt_json: str) -> bool:
    """MPII annotations (a JSON list whose entries have ``joints``), told from the first bytes."""
    if not os.path.isfile(gt_json):
        return False  # the COCO path below names what is wrong with it
    with open(gt_json, encoding="utf-8") as f:
        head = f.read(4096).lstrip()
    return head.startswith("[") and '"joints"' in head


def _run_mpii(args: argparse.Namespace) -> int:
    from dwpose.evaluation.pckh import format_pckh_table, load_mpii_gt, load_mpii_results, mpii_pckh

    if args.per_scene:
        raise UserError("--per-scene applies to COCO-WholeBody / UBody ground truth, not MPII")
    gt = load_mpii_gt(args.gt_json, args.headbox)
    pred = load_mpii_results(args.results_json, gt["images"])
    scores = mpii_pckh(pred, gt["keypoints"], gt["visible"], gt["head_size"])
    print(json.dumps(scores, indent=2) if args.json else format_pckh_table(scores, "Results"))
    return 0


def _ap_ar(scores: dict) -> dict:
    return {part: {"AP": scores[part]["AP"], "AR": scores[part]["AR"]} for part in REPORTED_PARTS}
