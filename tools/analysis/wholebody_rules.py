"""How often the whole-body rules of ``dwpose predict`` fire, and how often they are right, on annotations.

People of a COCO-WholeBody annotation file, scored 1 where a keypoint is annotated and 0 elsewhere:

- faces from behind (``--hide-faces-from-behind``): on every person (right when the annotation has no
  valid face), and on the people with a valid face after their face is removed as a view from behind
  shows it (nose, eyes and the 68 face points unannotated: it should fire);
- hands (``--fix-hands``): on every person as annotated (it should not fire), after exchanging the left
  and right hands (it should swap them back: right when the hands are restored), and after copying one
  annotated hand, 2 px off, into the other hand's slot (it should drop the copy: right when the hand of
  the wrist's side is kept and the copy scores 0).

Usage::

    python tools/analysis/wholebody_rules.py ANN_JSON [--tolerance 0.25 0.5 1.0]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from dwpose.errors import guarded
from dwpose.inference.wholebody_rules import HAND_TOLERANCE, fix_hands, seen_from_behind
from dwpose.keypoints import FACE, LEFT_HAND, RIGHT_HAND, keypoints_from_annotation

THRESHOLD = 0.3
L_WRIST, R_WRIST = 9, 10


def annotated_people(doc: dict) -> tuple:
    """``(keypoints (N, 133, 2), scores (N, 133), face_valid (N,))``: score 1 where annotated."""
    anns = [a for a in doc["annotations"] if not a.get("iscrowd")]
    kps = np.stack([keypoints_from_annotation(a) for a in anns])
    scores = (kps[..., 2] > 0).astype(np.float32)
    face_valid = np.array([bool(a.get("face_valid")) and scores[i, FACE].any() for i, a in enumerate(anns)])
    return kps[..., :2].astype(np.float32), scores, face_valid


def measure_faces(scores: np.ndarray, face_valid: np.ndarray) -> Dict[str, int]:
    """Counts of the face rule on the people as annotated and with their faces removed."""
    fired = seen_from_behind(scores, THRESHOLD)
    removed = scores[face_valid].copy()
    removed[:, :3] = 0.0  # nose, eyes
    removed[:, FACE] = 0.0
    fired_removed = seen_from_behind(removed, THRESHOLD)
    return {
        "people": len(scores),
        "fired": int(fired.sum()),
        "fired_right": int((fired & ~face_valid).sum()),
        "no_face": int((~face_valid).sum()),
        "with_face": int(face_valid.sum()),
        "removed_fired": int(fired_removed.sum()),
    }


def _hands_ok(scores: np.ndarray) -> np.ndarray:
    """People whose body wrists are annotated and who have at least one annotated hand wrist."""
    wrists = (scores[:, [L_WRIST, R_WRIST]] > THRESHOLD).all(axis=1)
    return wrists & ((scores[:, LEFT_HAND.start] > 0) | (scores[:, RIGHT_HAND.start] > 0))


def measure_hands(kps: np.ndarray, scores: np.ndarray, tolerance: float) -> Dict[str, int]:
    """Counts of the hand rules on the people as annotated, with hands swapped, and with a copied hand."""
    ok = _hands_ok(scores)
    kps, scores = kps[ok], scores[ok]
    _, _, plain = fix_hands(kps, scores, THRESHOLD, tolerance)
    swapped_k, swapped_s = kps.copy(), scores.copy()
    for arr in (swapped_k, swapped_s):
        arr[:, LEFT_HAND], arr[:, RIGHT_HAND] = arr[:, RIGHT_HAND].copy(), arr[:, LEFT_HAND].copy()
    fixed_k, fixed_s, swaps = fix_hands(swapped_k, swapped_s, THRESHOLD, tolerance)
    restored = [a == "swap" and np.array_equal(fixed_k[i], kps[i]) and np.array_equal(fixed_s[i], scores[i])
                for i, a in enumerate(swaps)]  # fmt: skip
    dup_fired = dup_right = dup_cases = 0
    for keep, copy in ((LEFT_HAND, RIGHT_HAND), (RIGHT_HAND, LEFT_HAND)):
        have = scores[:, keep.start] > 0
        dk, ds = kps[have].copy(), scores[have].copy()
        dk[:, copy], ds[:, copy] = dk[:, keep] + 2.0, ds[:, keep]
        _, out_s, actions = fix_hands(dk, ds, THRESHOLD, tolerance)
        dup_cases += int(have.sum())
        dup_fired += sum(a == "duplicate" for a in actions)
        dup_right += sum(a == "duplicate" and not out_s[i, copy].any()
                         and np.array_equal(out_s[i, keep], ds[i, keep])
                         for i, a in enumerate(actions))  # fmt: skip
    return {
        "people": int(ok.sum()),
        "plain_fired": sum(bool(a) for a in plain),
        "swap_fired": sum(a == "swap" for a in swaps),
        "swap_right": int(sum(restored)),
        "dup_cases": dup_cases,
        "dup_fired": int(dup_fired),
        "dup_right": int(dup_right),
    }


def report(doc: dict, tolerances: Sequence[float]) -> List[str]:
    """The measurement as markdown lines."""
    kps, scores, face_valid = annotated_people(doc)
    f = measure_faces(scores, face_valid)
    lines = [
        "| faces from behind | people | fires | right |",
        "|---|---|---|---|",
        f"| as annotated ({f['no_face']} of {f['people']} without a valid face) | {f['people']} | "
        f"{f['fired']} | {f['fired_right']} |",
        f"| faces removed (nose, eyes, face points) | {f['with_face']} | {f['removed_fired']} | "
        f"{f['removed_fired']} |",
        "",
        "| hands: tolerance (forearms) | people | fires as annotated | swapped: fires / restored | "
        "copied hand: cases / fires / right |",
        "|---|---|---|---|---|",
    ]
    for tol in tolerances:
        h = measure_hands(kps, scores, tol)
        swap, dup = f"{h['swap_fired']} / {h['swap_right']}", f"{h['dup_fired']} / {h['dup_right']}"
        lines.append(f"| {tol:g} | {h['people']} | {h['plain_fired']} | {swap} | {h['dup_cases']} / {dup} |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("annotations", type=Path, help="COCO-WholeBody annotation JSON")
    parser.add_argument("--tolerance", type=float, nargs="+", default=[HAND_TOLERANCE, 0.5, 1.0])
    args = parser.parse_args(argv)
    doc = json.loads(args.annotations.read_text())
    print("\n".join(report(doc, args.tolerance)))
    return 0


if __name__ == "__main__":
    raise SystemExit(guarded(main))
