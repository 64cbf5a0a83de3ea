"""Keypoint formats: COCO-WholeBody 133 -> OpenPose-18 body, the Cog ``.npz`` person dict, OpenPose JSON.

The part ranges and the OpenPose-18 slots come from :mod:`dwpose.keypoints`.
"""

from __future__ import annotations

from typing import Collection, Dict, List, Tuple

import numpy as np

from dwpose.keypoints import (
    COCO_L_SHOULDER,
    COCO_R_SHOULDER,
    FACE,
    FEET,
    LEFT_HAND,
    OPENPOSE18_FROM_COCO,
    OPENPOSE18_NECK,
    PERSON_CATEGORY_ID,
    RIGHT_HAND,
)

# What --parts names; a part left out is absent from the Cog .npz (-1) and the OpenPose JSON (empty list).
ALL_PARTS: Tuple[str, ...] = ("body", "feet", "face", "hands")


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
    body[:, OPENPOSE18_NECK] = (keypoints[:, COCO_L_SHOULDER] + keypoints[:, COCO_R_SHOULDER]) * 0.5
    body_scores[:, OPENPOSE18_NECK] = np.minimum(scores[:, COCO_L_SHOULDER], scores[:, COCO_R_SHOULDER])
    return body, body_scores


def _normalise(points: np.ndarray, scores: np.ndarray, size: Tuple[int, int], threshold: float) -> np.ndarray:
    """Divide ``(..., 2)`` pixels by ``(width, height)``; hidden or off-image points become -1."""
    width, height = size
    out = points.astype(np.float32) / np.array([width, height], dtype=np.float32)
    hidden = (scores < threshold) | np.any((out < 0) | (out > 1) | ~np.isfinite(out), axis=-1)
    out[hidden] = -1.0
    return out


def cog_person(
    keypoints: np.ndarray,
    scores: np.ndarray,
    image_size: Tuple[int, int],
    threshold: float,
    parts: Collection[str] = ALL_PARTS,
) -> Dict[str, np.ndarray]:
    """One person's entry of the Cog ``.npz``.

    Args:
        keypoints: ``(133, 2)`` image pixels of ONE person; ``scores``: ``(133,)``.
        image_size: ``(width, height)`` of the image.
        threshold: points scoring below it (or falling outside the image) are set to -1.
        parts: the parts kept (:data:`ALL_PARTS`); the points of the others (body, face, hands) are -1.

    Returns:
        ``{"body": (18, 2), "face": (68, 2), "hands": (2, 21, 2)}`` float32, coordinates divided by
        the image width and height, hands ordered left then right, both from this person.
    """
    body, body_scores = coco133_to_openpose18(keypoints[None], scores[None])
    hands = np.stack([keypoints[LEFT_HAND], keypoints[RIGHT_HAND]])
    hand_scores = np.stack([scores[LEFT_HAND], scores[RIGHT_HAND]])
    person = {
        "body": _normalise(body[0], body_scores[0], image_size, threshold),
        "face": _normalise(keypoints[FACE], scores[FACE], image_size, threshold),
        "hands": _normalise(hands, hand_scores, image_size, threshold),
    }
    for part, points in person.items():
        if part not in parts:
            points[:] = -1.0
    return person


def _flat_xys(points: np.ndarray, scores: np.ndarray) -> List[float]:
    """``(K, 2)`` points + ``(K,)`` scores -> ``[x0, y0, s0, x1, ...]`` as plain floats."""
    return np.concatenate([points, scores[:, None]], axis=1).astype(float).round(3).ravel().tolist()


def openpose_json_person(
    keypoints: np.ndarray, scores: np.ndarray, parts: Collection[str] = ALL_PARTS
) -> Dict[str, List[float]]:
    """One person in OpenPose JSON (pixels, real scores) from ``(133, 2)`` keypoints, ``(133,)`` scores;
    the fields of a part not in ``parts`` are empty lists."""
    body, body_scores = coco133_to_openpose18(keypoints[None], scores[None])
    fields = {
        "pose_keypoints_2d": ("body", body[0], body_scores[0]),
        "face_keypoints_2d": ("face", keypoints[FACE], scores[FACE]),
        "hand_left_keypoints_2d": ("hands", keypoints[LEFT_HAND], scores[LEFT_HAND]),
        "hand_right_keypoints_2d": ("hands", keypoints[RIGHT_HAND], scores[RIGHT_HAND]),
        "foot_keypoints_2d": ("feet", keypoints[FEET], scores[FEET]),
    }
    return {name: _flat_xys(p, s) if part in parts else [] for name, (part, p, s) in fields.items()}


def coco_wholebody_result(
    image_id: int, keypoints: np.ndarray, scores: np.ndarray, box_score: float
) -> Dict[str, object]:
    """One COCO-WholeBody result ``{image_id, category_id: 1, keypoints: 133*3, score}``.

    The instance score is the box score times the mean keypoint score (as MMPose rescoring does).
    """
    return {
        "image_id": int(image_id),
        "category_id": PERSON_CATEGORY_ID,
        "keypoints": _flat_xys(keypoints, scores),
        "score": round(float(box_score) * float(np.mean(scores)), 6),
    }
