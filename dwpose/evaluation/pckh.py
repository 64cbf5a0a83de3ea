"""MPII PCKh: per-joint and mean accuracy, as MPII's evaluation (and mmpose's ``MpiiPCKAccuracy``) reports it.

A joint is correct when ``||pred + 1 - gt|| < thr * head_size``: MPII's ground truth is in 1-based
(MATLAB) pixels, predictions are 0-based; ``head_size`` is 0.6 times the diagonal of MPII's head box
(``mpii_gt_val.mat``, ``headboxes_src``). Only visible ground-truth joints count. The mean is
weighted by each joint's count and leaves out pelvis and thorax, as MPII's table does; the grouped
columns (Shoulder, Elbow, ...) average the left and right joints.

Light on purpose (numpy; scipy only to read the head-box ``.mat``).

Example::

    scores = mpii_pckh(pred, gt, visible, head_size)   # (N, 16, 2), (N, 16, 2), (N, 16), (N,)
    print(format_pckh_table(scores))
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from dwpose.errors import UserError
from dwpose.fileio import read_json

MPII_JOINTS = ("r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax",
               "upper_neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow",
               "l_wrist")
# MPII's columns: (title, joint indices); the mean leaves out pelvis (6) and thorax (7)
MPII_GROUPS = (("Head", (9,)), ("Shoulder", (12, 13)), ("Elbow", (11, 14)), ("Wrist", (10, 15)),
               ("Hip", (2, 3)), ("Knee", (1, 4)), ("Ankle", (0, 5)))
LEFT_OUT_OF_MEAN = (6, 7)
HEAD_SIZE_FACTOR = 0.6  # MPII's SC_BIAS


def pckh_per_joint(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, head_size: np.ndarray,
                   thr: float = 0.5) -> Tuple[np.ndarray, np.ndarray]:
    """Per-joint PCKh in percent and the number of joints that count.

    Args:
        pred: predictions in 0-based pixels, (N, K, 2).
        gt: MPII ground truth in 1-based pixels, (N, K, 2).
        visible: (N, K); joints with a non-positive value do not count.
        head_size: (N,) normalisation (0.6 x head-box diagonal); people with size 0 do not count.
        thr: threshold on the normalised distance (0.5 for PCKh@0.5).

    Returns:
        ``(pckh (K,), count (K,))``; a joint with no count has PCKh -100 (mmpose's convention).
    """
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    head = np.asarray(head_size, np.float64).reshape(-1)
    valid = (np.asarray(visible) > 0) & (head[:, None] > 0)
    safe = np.where(head > 0, head, 1.0)[:, None]
    dist = np.linalg.norm(pred + 1.0 - gt, axis=-1) / safe
    count = valid.sum(axis=0)
    correct = (valid & (dist < thr)).sum(axis=0)
    pckh = np.where(count > 0, 100.0 * correct / np.maximum(count, 1), -100.0)
    return pckh, count


def mpii_pckh(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, head_size: np.ndarray,
              thr: float = 0.5) -> Dict[str, float]:
    """MPII's table: per joint (``PCKh/<joint>``), per group (``Head`` ... ``Ankle``), ``Mean``, ``Mean@0.1``.

    Shapes as :func:`pckh_per_joint`, K = 16 in MPII's joint order (:data:`MPII_JOINTS`).
    ``Mean`` is mmpose's ``PCK`` and ``Mean@0.1`` its ``PCK@0.1`` (both at 0.5 / 0.1 whatever ``thr``
    the per-joint values use, as MPII's table does).
    """
    if np.asarray(gt).shape[1:] != (16, 2):
        raise UserError(f"MPII PCKh needs 16 keypoints in MPII's order, got ground truth of shape "
                        f"{np.asarray(gt).shape}")
    pckh, count = pckh_per_joint(pred, gt, visible, head_size, thr)
    in_mean = np.ones(16, bool)
    in_mean[list(LEFT_OUT_OF_MEAN)] = False
    ratio = np.where(in_mean, count, 0) / max(count[in_mean].sum(), 1)
    out = {f"PCKh/{name}": float(v) for name, v in zip(MPII_JOINTS, pckh)}
    out.update({title: float(np.mean(pckh[list(idx)])) for title, idx in MPII_GROUPS})
    at_05 = pckh if thr == 0.5 else pckh_per_joint(pred, gt, visible, head_size, 0.5)[0]
    out["Mean"] = float(np.sum(at_05 * ratio))
    out["Mean@0.1"] = float(np.sum(pckh_per_joint(pred, gt, visible, head_size, 0.1)[0] * ratio))
    return out


def format_pckh_table(rows: Dict[str, Dict[str, float]], first_column: str = "Model") -> str:
    """A Markdown table with MPII's columns (Head ... Ankle, Mean, Mean@0.1), one row per entry.

    Args:
        rows: ``{row name: scores of mpii_pckh}``; a single scores dict is one row named ``all``.
    """
    if "Mean" in rows:
        rows = {"all": rows}
    titles = [t for t, _ in MPII_GROUPS] + ["Mean", "Mean@0.1"]
    lines = [f"| {first_column} | " + " | ".join(titles) + " |", "|---" * (len(titles) + 1) + "|"]
    for name, scores in rows.items():
        cells = [("n/a" if scores.get(t, -100.0) < 0 else f"{scores[t]:.1f}") for t in titles]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def load_head_sizes(headbox_mat: str) -> np.ndarray:
    """(N,) head sizes from MPII's ``mpii_gt_val.mat`` (``headboxes_src``, (2, 2, N)): 0.6 x diagonal."""
    from scipy.io import loadmat

    boxes = np.transpose(loadmat(headbox_mat)["headboxes_src"], [2, 0, 1])  # (N, 2 corners, 2)
    return HEAD_SIZE_FACTOR * np.linalg.norm(boxes[:, 1] - boxes[:, 0], axis=1)


def load_mpii_gt(ann_file: str, headbox_mat: Optional[str] = None) -> dict:
    """MPII annotations (mmpose's JSON: ``joints``, ``joints_vis``, ``image``, ...) as arrays.

    Head sizes come from ``headbox_mat`` (one head box per annotation, in order) or from a
    ``head_size`` field of every annotation.

    Returns:
        ``{"images": [str], "keypoints": (N, 16, 2), "visible": (N, 16), "head_size": (N,)}``.

    Raises:
        UserError: not MPII annotations, or no head sizes.
    """
    anns = read_json(ann_file, "MPII annotation file")
    if not isinstance(anns, list) or not anns or "joints" not in anns[0]:
        raise UserError(f"{ann_file} is not an MPII annotation list (entries with 'joints')")
    if headbox_mat is not None:
        head = load_head_sizes(headbox_mat)
        if len(head) != len(anns):
            raise UserError(f"{headbox_mat} holds {len(head)} head boxes for {len(anns)} annotations")
    elif all("head_size" in a for a in anns):
        head = np.array([a["head_size"] for a in anns], np.float64)
    else:
        raise UserError("PCKh needs head sizes: pass MPII's head boxes (mpii_gt_val.mat: dwpose eval "
                        "--headbox, mmpose's MpiiDataset headbox_file), or give every annotation a "
                        "head_size")
    return {"images": [a["image"] for a in anns],
            "keypoints": np.array([a["joints"] for a in anns], np.float64),
            "visible": np.array([a["joints_vis"] for a in anns], np.float64),
            "head_size": head}


def load_mpii_results(results_json: str, images: Sequence[str]) -> np.ndarray:
    """(N, 16, 2) predictions from a JSON list of ``{"image", "keypoints": 16 x [x, y(, score)]}``.

    The list is in the order of the annotation file (one entry per annotated person), in 0-based
    pixels as mmpose predicts them.
    """
    results = read_json(results_json, "results file")
    if not isinstance(results, list) or len(results) != len(images):
        n = len(results) if isinstance(results, list) else "no list"
        raise UserError(f"{results_json}: expected a list of {len(images)} predictions (one per "
                        f"annotated person, in the annotation order), got {n}")
    for i, (res, image) in enumerate(zip(results, images)):
        if res.get("image") != image:
            raise UserError(f"{results_json}: entry {i} is for {res.get('image')!r} but annotation "
                            f"{i} is {image!r}; keep the annotation order")
    return np.array([[kp[:2] for kp in res["keypoints"]] for res in results], np.float64)
