"""Keypoint formats: COCO-WholeBody 133 -> OpenPose-18 body, the Cog ``.npz`` person dict, OpenPose JSON.

COCO-WholeBody index ranges: body 0-16, feet 17-22, face 23-90, left hand 91-111, right hand 112-132.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np

NUM_KEYPOINTS = 133
BODY = slice(0, 17)
FEET = slice(17, 23)
FACE = slice(23, 91)
LEFT_HAND = slice(91, 112)
RIGHT_HAND = slice(112, 133)

# OpenPose-18 slot -> COCO-17 index (-1 = neck, the mean of both shoulders).
# 0 nose, 1 neck, 2 R-shoulder, 3 R-elbow, 4 R-wrist, 5 L-shoulder, 6 L-elbow, 7 L-wrist, 8 R-hip,
# 9 R-knee, 10 R-ankle, 11 L-hip, 12 L-knee, 13 L-ankle, 14 R-eye, 15 L-eye, 16 R-ear, 17 L-ear.
OPENPOSE18_FROM_COCO = (0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)
NECK = 1
L_SHOULDER, R_SHOULDER = 5, 6


def coco133_to_openpose18(keypoints: np.ndarray, scores: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """OpenPose-18 body keypoints from COCO-WholeBody (or COCO-17) keypoints.

    Args:
        keypoints: ``(N, K, 2)`` with ``K >= 17`` (COCO order first).
        scores: ``(N, K)``.

    Returns:
        ``(N, 18, 2)`` keypoints and ``(N, 18)`` scores in OpenPose order; the neck is the mean of the
        shoulders and its score the smaller shoulder score.
    """
    keypoints = np.asarray(keypoints, dtype=np.float32)
    scores = np.asarray(scores, dtype=np.float32)
    index = np.array(OPENPOSE18_FROM_COCO)
    body = keypoints[:, np.maximum(index, 0)].copy()
    body_scores = scores[:, np.maximum(index, 0)].copy()
    body[:, NECK] = (keypoints[:, L_SHOULDER] + keypoints[:, R_SHOULDER]) * 0.5
    body_scores[:, NECK] = np.minimum(scores[:, L_SHOULDER], scores[:, R_SHOULDER])
    return body, body_scores


def _normalise(points: np.ndarray, scores: np.ndarray, size: Tuple[int, int], threshold: float) -> np.ndarray:
    """Divide ``(..., 2)`` pixels by ``(width, height)``; hidden or off-image points become -1."""
    width, height = size
    out = points.astype(np.float32) / np.array([width, height], dtype=np.float32)
    hidden = (scores < threshold) | np.any((out < 0) | (out > 1) | ~np.isfinite(out), axis=-1)
    out[hidden] = -1.0
    return out


def cog_person(
    keypoints: np.ndarray, scores: np.ndarray, image_size: Tuple[int, int], threshold: float
) -> Dict[str, np.ndarray]:
    """One person's entry of the Cog ``.npz``.

    Args:
        keypoints: ``(133, 2)`` image pixels of ONE person; ``scores``: ``(133,)``.
        image_size: ``(width, height)`` of the image.
        threshold: points scoring below it (or falling outside the image) are set to -1.

    Returns:
        ``{"body": (18, 2), "face": (68, 2), "hands": (2, 21, 2)}`` float32, coordinates divided by
        the image width and height, hands ordered left then right, both from this person.
    """
    body, body_scores = coco133_to_openpose18(keypoints[None], scores[None])
    hands = np.stack([keypoints[LEFT_HAND], keypoints[RIGHT_HAND]])
    hand_scores = np.stack([scores[LEFT_HAND], scores[RIGHT_HAND]])
    return {
        "body": _normalise(body[0], body_scores[0], image_size, threshold),
        "face": _normalise(keypoints[FACE], scores[FACE], image_size, threshold),
        "hands": _normalise(hands, hand_scores, image_size, threshold),
    }


def _flat_xys(points: np.ndarray, scores: np.ndarray) -> List[float]:
    """``(K, 2)`` points + ``(K,)`` scores -> ``[x0, y0, s0, x1, ...]`` as plain floats."""
    return np.concatenate([points, scores[:, None]], axis=1).astype(float).round(3).ravel().tolist()


def openpose_json_person(keypoints: np.ndarray, scores: np.ndarray) -> Dict[str, List[float]]:
    """One person in OpenPose JSON (pixels, real scores) from ``(133, 2)`` keypoints, ``(133,)`` scores."""
    body, body_scores = coco133_to_openpose18(keypoints[None], scores[None])
    return {
        "pose_keypoints_2d": _flat_xys(body[0], body_scores[0]),
        "face_keypoints_2d": _flat_xys(keypoints[FACE], scores[FACE]),
        "hand_left_keypoints_2d": _flat_xys(keypoints[LEFT_HAND], scores[LEFT_HAND]),
        "hand_right_keypoints_2d": _flat_xys(keypoints[RIGHT_HAND], scores[RIGHT_HAND]),
        "foot_keypoints_2d": _flat_xys(keypoints[FEET], scores[FEET]),
    }


def coco_wholebody_result(
    image_id: int, keypoints: np.ndarray, scores: np.ndarray, box_score: float
) -> Dict[str, object]:
    """One COCO-WholeBody result ``{image_id, category_id: 1, keypoints: 133*3, score}``.

    The instance score is the box score times the mean keypoint score (as MMPose rescoring does).
    """
    return {
        "image_id": int(image_id),
        "category_id": 1,
        "keypoints": _flat_xys(keypoints, scores),
        "score": round(float(box_score) * float(np.mean(scores)), 6),
    }
