"""The whole-body rules on the shared COCO-WholeBody annotations (tools/analysis/wholebody_rules.py), and
their options: off, nothing changes; on, the people they fire on change as documented."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np

from dwpose.inference.pipeline import PoseResult
from dwpose.inference.predict_io import PredictOptions, with_rules
from dwpose.inference.wholebody_rules import HAND_TOLERANCE, RuleOptions, apply_rules
from dwpose.keypoints import FACE, LEFT_HAND, RIGHT_HAND

REPO = Path(__file__).resolve().parents[2]


def _tool():
    path = REPO / "tools/analysis/wholebody_rules.py"
    spec = importlib.util.spec_from_file_location("wholebody_rules", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _people(coco_mini):
    return _tool().annotated_people(json.loads((coco_mini / "coco_wholebody_mini.json").read_text()))


def test_face_rule_on_real_annotations(coco_mini):
    tool = _tool()
    kps, scores, face_valid = _people(coco_mini)
    counts = tool.measure_faces(scores, face_valid)
    assert counts["people"] == 14 and counts["with_face"] >= 3
    assert counts["fired_right"] == counts["fired"]  # never on a person whose face is annotated
    assert counts["removed_fired"] == counts["with_face"]  # every face removed as seen from behind


def test_hand_rules_on_real_annotations(coco_mini):
    tool = _tool()
    kps, scores, _ = _people(coco_mini)
    h = tool.measure_hands(kps, scores, HAND_TOLERANCE)
    assert h["people"] >= 4 and h["plain_fired"] == 0  # the annotated hands are left alone
    assert h["swap_right"] == h["swap_fired"] >= 0.8 * h["people"]  # swapped hands go back, exactly
    assert h["dup_right"] == h["dup_fired"] >= 0.6 * h["dup_cases"]  # the copy is dropped, not the hand
    wide = tool.measure_hands(kps, scores, 1.0)
    assert wide["swap_fired"] <= h["swap_fired"]  # a wider tolerance misses swaps of close hands


def test_options_switch_the_rules_off_and_on(coco_mini):
    kps, scores, face_valid = _people(coco_mini)
    behind = scores.copy()
    behind[:, :3] = 0.0  # nose and eyes unseen, the face points still "predicted"
    swapped_k, swapped_s = kps.copy(), behind.copy()
    for arr in (swapped_k, swapped_s):
        arr[:, LEFT_HAND], arr[:, RIGHT_HAND] = arr[:, RIGHT_HAND].copy(), arr[:, LEFT_HAND].copy()
    result = PoseResult(np.zeros((len(kps), 4)), np.ones(len(kps)), swapped_k, swapped_s, (640, 480))
    assert with_rules(result, PredictOptions(Path("."))) is result  # default: off
    off_k, off_s = apply_rules(swapped_k, swapped_s, 0.3, RuleOptions())
    assert np.array_equal(off_k, swapped_k) and np.array_equal(off_s, swapped_s)
    opts = PredictOptions(Path("."))
    opts.rules = RuleOptions(faces_from_behind=True, fix_hands=True)
    ruled = with_rules(result, opts)
    faces_hidden = ~ruled.scores[:, FACE].any(axis=1)
    had_face = swapped_s[:, FACE].any(axis=1)
    assert faces_hidden[had_face].all() and had_face.sum() >= 3
    fixed = [np.array_equal(ruled.keypoints[i], kps[i]) for i in range(len(kps))]
    assert sum(fixed) > sum(np.array_equal(swapped_k[i], kps[i]) for i in range(len(kps)))
