"""COCO-WholeBody keypoint facts, the single source for the library, the tools and the tests.

The 133 keypoints are, in order: body 0-16 (COCO-17), foot 17-22, face 23-90 (68 iBUG landmarks),
left hand 91-111, right hand 112-132 (21 points each). Also here: the field of each part in a
COCO-WholeBody annotation, the COCO ``person`` category (17 names, 19-link skeleton), the OpenPose-18
body slots and the OKS sigmas. numpy and the standard library only, so the ONNX-only install of
``dwpose predict`` can import it.
"""

from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np

NUM_KEYPOINTS = 133

# Part -> its index range in the 133 keypoints, in keypoint order.
PART_SLICES: Dict[str, slice] = {
    "body": slice(0, 17),
    "foot": slice(17, 23),
    "face": slice(23, 91),
    "lefthand": slice(91, 112),
    "righthand": slice(112, 133),
}
PART_SIZES: Dict[str, int] = {part: s.stop - s.start for part, s in PART_SLICES.items()}
# Part -> field of a COCO-WholeBody annotation / result (each ``3 * PART_SIZES[part]`` numbers).
PART_FIELDS: Dict[str, str] = {
    "body": "keypoints",
    "foot": "foot_kpts",
    "face": "face_kpts",
    "lefthand": "lefthand_kpts",
    "righthand": "righthand_kpts",
}
SCORED_PARTS: Tuple[str, ...] = (*PART_SLICES, "wholebody")  # what COCOeval scores
# What the metric reports: ``hand`` is the mean of ``lefthand`` and ``righthand``.
REPORTED_PARTS: Tuple[str, ...] = (*PART_SLICES, "hand", "wholebody")

BODY = PART_SLICES["body"]
FEET = PART_SLICES["foot"]
FACE = PART_SLICES["face"]
LEFT_HAND = PART_SLICES["lefthand"]
RIGHT_HAND = PART_SLICES["righthand"]

COCO_BODY_KEYPOINTS: Tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
    "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
# COCO's 19 limbs, 1-based keypoint indices as in person_keypoints_*.json.
COCO_BODY_SKELETON: Tuple[Tuple[int, int], ...] = (
    (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8), (7, 9),
    (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7),
)  # fmt: skip
PERSON_CATEGORY_ID = 1


def person_category() -> Dict[str, Any]:
    """A fresh copy of the COCO ``person`` category (id 1, 17 keypoint names, 19-link skeleton)."""
    return {
        "supercategory": "person",
        "id": PERSON_CATEGORY_ID,
        "name": "person",
        "keypoints": list(COCO_BODY_KEYPOINTS),
        "skeleton": [list(link) for link in COCO_BODY_SKELETON],
    }


def part_of(index: int) -> str:
    """The part of keypoint ``index`` (0-132); indices past 132 count as body."""
    for part, s in PART_SLICES.items():
        if s.start <= index < s.stop:
            return part
    return "body"


# OpenPose-18 slot -> COCO-17 index (-1 = neck, the mean of both shoulders).
# 0 nose, 1 neck, 2 R-shoulder, 3 R-elbow, 4 R-wrist, 5 L-shoulder, 6 L-elbow, 7 L-wrist, 8 R-hip,
# 9 R-knee, 10 R-ankle, 11 L-hip, 12 L-knee, 13 L-ankle, 14 R-eye, 15 L-eye, 16 R-ear, 17 L-ear.
OPENPOSE18_FROM_COCO: Tuple[int, ...] = (0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)
OPENPOSE18_NECK = 1
COCO_L_SHOULDER, COCO_R_SHOULDER = 5, 6

_HAND_SIGMAS = [0.029, 0.022, 0.035, 0.037, 0.047, 0.026, 0.025, 0.024, 0.035, 0.018, 0.024,
                0.022, 0.026, 0.017, 0.021, 0.021, 0.032, 0.02, 0.019, 0.022, 0.031]  # fmt: skip
# The COCO-WholeBody v1.0 keypoint sigmas (body 17, foot 6, face 68, left hand 21, right hand 21).
WHOLEBODY_SIGMAS: np.ndarray = np.array(
    [0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087,
     0.087, 0.089, 0.089]
    + [0.068, 0.066, 0.066, 0.092, 0.094, 0.094]
    + [0.042, 0.043, 0.044, 0.043, 0.040, 0.035, 0.031, 0.025, 0.020, 0.023, 0.029, 0.032, 0.037, 0.038,
       0.043, 0.041, 0.045, 0.013, 0.012, 0.011, 0.011, 0.012, 0.012, 0.011, 0.011, 0.013, 0.015, 0.009,
       0.007, 0.007, 0.007, 0.012, 0.009, 0.008, 0.016, 0.010, 0.017, 0.011, 0.009, 0.011, 0.009, 0.007,
       0.013, 0.008, 0.011, 0.012, 0.010, 0.034, 0.008, 0.008, 0.009, 0.008, 0.008, 0.007, 0.010, 0.008,
       0.009, 0.009, 0.009, 0.007, 0.007, 0.008, 0.011, 0.008, 0.008, 0.008, 0.01, 0.008]
    + _HAND_SIGMAS
    + _HAND_SIGMAS
)  # fmt: skip


def keypoints_from_annotation(ann: Dict[str, Any]) -> np.ndarray:
    """``(133, 3)`` float64 x, y, visibility of one COCO-WholeBody annotation, in keypoint order."""
    return np.concatenate([np.asarray(ann[f], dtype=np.float64).reshape(-1, 3) for f in PART_FIELDS.values()])
