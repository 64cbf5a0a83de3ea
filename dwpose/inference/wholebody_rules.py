"""Whole-body sanity rules applied to predicted poses before they are drawn and written (opt-in).

- :func:`hide_faces_from_behind`: a person whose nose and both eyes score below the threshold while an
  ear or both shoulders score above it is seen from behind; the 68 face points get score 0, so the face
  is neither drawn nor written (OpenPose JSON with score 0, Cog ``.npz`` -1).
- :func:`fix_hands`: each hand's wrist point (hand point 0) is compared with the body's wrists. A hand
  whose wrist lies farther than ``tolerance`` forearms from the body wrist of its side but within it of
  the other one is swapped with the other hand (when that swap lowers the summed distances); two hands
  whose wrists lie within ``tolerance`` forearms of the same body wrist are one physical hand predicted
  twice: the one on that wrist's side is kept, the other gets score 0.

The measured hit rates on COCO-WholeBody annotations are in docs/controlnet_drawing.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np

from dwpose.keypoints import FACE, LEFT_HAND, RIGHT_HAND

NOSE, L_EYE, R_EYE, L_EAR, R_EAR, L_SHOULDER, R_SHOULDER = 0, 1, 2, 3, 4, 5, 6
L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 7, 8, 9, 10
HAND_TOLERANCE = 0.25  # forearm lengths (elbow - wrist) within which a hand's wrist "lies at" a body wrist


@dataclass(frozen=True)
class RuleOptions:
    """Which rules run (both off by default: the default outputs are the model's, as the annotator's)."""

    faces_from_behind: bool = False
    fix_hands: bool = False
    hand_tolerance: float = HAND_TOLERANCE


def seen_from_behind(scores: np.ndarray, threshold: float) -> np.ndarray:
    """``(N,)`` bool: nose and both eyes below ``threshold``, an ear or both shoulders above it."""
    face_gone = (scores[:, [NOSE, L_EYE, R_EYE]] < threshold).all(axis=1)
    ear = (scores[:, [L_EAR, R_EAR]] > threshold).any(axis=1)
    shoulders = (scores[:, [L_SHOULDER, R_SHOULDER]] > threshold).all(axis=1)
    return face_gone & (ear | shoulders)


def hide_faces_from_behind(scores: np.ndarray, threshold: float) -> Tuple[np.ndarray, np.ndarray]:
    """``(scores with the face points of people seen from behind set to 0, (N,) fired)``."""
    fired = seen_from_behind(scores, threshold)
    out = scores.copy()
    out[np.ix_(fired, np.arange(FACE.start, FACE.stop))] = 0.0
    return out, fired


def _hand_distances(kps: np.ndarray, scores: np.ndarray, threshold: float) -> Tuple[np.ndarray, float]:
    """``d[h, w]``: distance of hand ``h``'s wrist (0 left, 1 right) to body wrist ``w`` in forearms
    (inf where a point is missing), and the forearm length used."""
    forearms = [np.linalg.norm(kps[e] - kps[w]) for e, w in ((L_ELBOW, L_WRIST), (R_ELBOW, R_WRIST))
                if scores[e] > threshold and scores[w] > threshold]  # fmt: skip
    forearm = float(np.mean(forearms)) if forearms else 0.0
    d = np.full((2, 2), np.inf)
    if forearm <= 0:
        return d, forearm
    for h, start in enumerate((LEFT_HAND.start, RIGHT_HAND.start)):
        if scores[start] < threshold:
            continue
        for w, wrist in enumerate((L_WRIST, R_WRIST)):
            if scores[wrist] > threshold:
                d[h, w] = np.linalg.norm(kps[start] - kps[wrist]) / forearm
    return d, forearm


def _fix_one(kps: np.ndarray, scores: np.ndarray, threshold: float, tolerance: float) -> str:
    """Fix one person's hands in place; ``"swap"``, ``"duplicate"`` or ``""``."""
    d, _ = _hand_distances(kps, scores, threshold)
    hands = (LEFT_HAND, RIGHT_HAND)
    for w in (0, 1):  # both hands at body wrist w: one hand predicted twice; keep the one of side w
        if d[0, w] <= tolerance and d[1, w] <= tolerance and not d[1 - w, 1 - w] <= tolerance:
            other = hands[1 - w]
            scores[other] = 0.0
            return "duplicate"
    own, crossed = d[0, 0] + d[1, 1], d[0, 1] + d[1, 0]
    wrong = [h for h in (0, 1) if d[h, h] > tolerance and d[h, 1 - h] <= tolerance]
    if wrong and (crossed < own or not np.isfinite(own)):
        kps[LEFT_HAND], kps[RIGHT_HAND] = kps[RIGHT_HAND].copy(), kps[LEFT_HAND].copy()
        scores[LEFT_HAND], scores[RIGHT_HAND] = scores[RIGHT_HAND].copy(), scores[LEFT_HAND].copy()
        return "swap"
    return ""


def fix_hands(
    keypoints: np.ndarray, scores: np.ndarray, threshold: float, tolerance: float = HAND_TOLERANCE
) -> Tuple[np.ndarray, np.ndarray, list]:
    """``(keypoints, scores, per-person action)`` after the hand rules; the inputs are not modified."""
    kps, out = keypoints.copy(), scores.copy()
    actions = [_fix_one(kps[n], out[n], threshold, tolerance) for n in range(len(kps))]
    return kps, out, actions


def apply_rules(
    keypoints: np.ndarray, scores: np.ndarray, threshold: float, rules: RuleOptions
) -> Tuple[np.ndarray, np.ndarray]:
    """``(keypoints, scores)`` of ``(N, 133, ...)`` whole-body poses after the rules ``rules`` turns on."""
    if len(keypoints) == 0 or keypoints.shape[1] != 133:
        return keypoints, scores
    if rules.fix_hands:
        keypoints, scores, _ = fix_hands(keypoints, scores, threshold, rules.hand_tolerance)
    if rules.faces_from_behind:
        scores, _ = hide_faces_from_behind(scores, threshold)
    return keypoints, scores
