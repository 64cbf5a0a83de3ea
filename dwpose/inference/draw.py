"""Drawing whole-body poses in the OpenPose / ControlNet style, over the photo or on a black canvas."""

from __future__ import annotations

import colorsys
from typing import Collection, List, Tuple

import cv2
import numpy as np

from dwpose.errors import UserError
from dwpose.inference.controlnet_draw import ControlNetStyle, draw_controlnet
from dwpose.inference.formats import coco133_to_openpose18
from dwpose.keypoints import FACE, LEFT_HAND, NUM_KEYPOINTS, RIGHT_HAND

PARTS: Tuple[str, ...] = ("body", "feet", "face", "hands")
DEFAULT_PARTS: Tuple[str, ...] = ("body", "face", "hands")  # ControlNet's DWPose drawing (no feet)

# OpenPose-18 limbs (0-based slots of keypoints.OPENPOSE18_FROM_COCO), ControlNet's order and colours.
BODY_LIMBS: Tuple[Tuple[int, int], ...] = (
    (1, 2),
    (1, 5),
    (2, 3),
    (3, 4),
    (5, 6),
    (6, 7),
    (1, 8),
    (8, 9),
    (9, 10),
    (1, 11),
    (11, 12),
    (12, 13),
    (1, 0),
    (0, 14),
    (14, 16),
    (0, 15),
    (15, 17),
)
BODY_COLORS_RGB: Tuple[Tuple[int, int, int], ...] = (
    (255, 0, 0),
    (255, 85, 0),
    (255, 170, 0),
    (255, 255, 0),
    (170, 255, 0),
    (85, 255, 0),
    (0, 255, 0),
    (0, 255, 85),
    (0, 255, 170),
    (0, 255, 255),
    (0, 170, 255),
    (0, 85, 255),
    (0, 0, 255),
    (85, 0, 255),
    (170, 0, 255),
    (255, 0, 255),
    (255, 0, 170),
    (255, 0, 85),
)
# 21-point hand: wrist 0, then 4 joints per finger (thumb 1-4 ... little 17-20).
HAND_EDGES: Tuple[Tuple[int, int], ...] = tuple(
    (0 if j == 0 else 1 + 4 * f + j - 1, 1 + 4 * f + j) for f in range(5) for j in range(4)
)


# COCO-WholeBody feet: ankle -> heel, ankle -> big toe, big toe -> small toe, per foot, in the colour of
# that ankle in BODY_COLORS_RGB (left ankle = OpenPose slot 13, right ankle = slot 10).
FOOT_EDGES: Tuple[Tuple[Tuple[int, int], ...], ...] = (
    ((15, 19), (15, 17), (17, 18)),
    ((16, 22), (16, 20), (20, 21)),
)
FOOT_COLORS_RGB: Tuple[Tuple[int, int, int], ...] = (BODY_COLORS_RGB[13], BODY_COLORS_RGB[10])


def _hand_colors_bgr() -> List[Tuple[int, int, int]]:
    colors = []
    for i in range(len(HAND_EDGES)):
        r, g, b = colorsys.hsv_to_rgb(i / len(HAND_EDGES), 1.0, 1.0)
        colors.append((int(b * 255), int(g * 255), int(r * 255)))
    return colors


HAND_COLORS_BGR = _hand_colors_bgr()


def _pt(p: np.ndarray) -> Tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def _draw_body(canvas: np.ndarray, body: np.ndarray, scores: np.ndarray, thr: float, width: int) -> None:
    limbs = np.zeros_like(canvas)
    for (a, b), rgb in zip(BODY_LIMBS, BODY_COLORS_RGB):
        if scores[a] >= thr and scores[b] >= thr:
            cv2.line(limbs, _pt(body[a]), _pt(body[b]), rgb[::-1], width, cv2.LINE_AA)
    mask = limbs.any(axis=-1)
    canvas[mask] = (canvas[mask] * 0.4 + limbs[mask] * 0.6).astype(np.uint8)
    for i, rgb in enumerate(BODY_COLORS_RGB):
        if scores[i] >= thr:
            cv2.circle(canvas, _pt(body[i]), width, rgb[::-1], -1, cv2.LINE_AA)


def _draw_hand(canvas: np.ndarray, hand: np.ndarray, scores: np.ndarray, thr: float, width: int) -> None:
    for (a, b), color in zip(HAND_EDGES, HAND_COLORS_BGR):
        if scores[a] >= thr and scores[b] >= thr:
            cv2.line(canvas, _pt(hand[a]), _pt(hand[b]), color, max(1, width // 2), cv2.LINE_AA)
    for p, s in zip(hand, scores):
        if s >= thr:
            cv2.circle(canvas, _pt(p), max(1, width // 2), (0, 0, 255), -1, cv2.LINE_AA)


def _draw_feet(canvas: np.ndarray, points: np.ndarray, scores: np.ndarray, thr: float, width: int) -> None:
    for edges, rgb in zip(FOOT_EDGES, FOOT_COLORS_RGB):
        for a, b in edges:
            if scores[a] >= thr and scores[b] >= thr:
                cv2.line(canvas, _pt(points[a]), _pt(points[b]), rgb[::-1], max(1, width // 2), cv2.LINE_AA)
        for i in {i for edge in edges for i in edge} - {15, 16}:
            if scores[i] >= thr:
                cv2.circle(canvas, _pt(points[i]), max(1, width // 2), rgb[::-1], -1, cv2.LINE_AA)


def check_parts(parts: Collection[str]) -> Tuple[str, ...]:
    """``parts`` in :data:`PARTS` order; UserError naming an unknown one."""
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise UserError(f"unknown part(s) to draw: {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    return tuple(p for p in PARTS if p in parts)


def _draw_points(out: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, threshold: float,
                 width: int) -> np.ndarray:
    """Dots for ``(N, K, 2)`` keypoints scoring at least ``threshold``, coloured by keypoint index."""
    k = keypoints.shape[1]
    hues = (np.arange(k) * 180 // max(k, 1)).astype(np.uint8)
    hsv = np.stack([hues, np.full(k, 255, np.uint8), np.full(k, 255, np.uint8)], -1)[None]
    colors = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0]
    for pts, s in zip(keypoints, scores):
        for i, (p, score) in enumerate(zip(pts, s)):
            if score >= threshold:
                cv2.circle(out, _pt(p), width, tuple(int(c) for c in colors[i]), -1, cv2.LINE_AA)
    return out


def draw_poses(
    image: np.ndarray,
    keypoints: np.ndarray,
    scores: np.ndarray,
    threshold: float = 0.3,
    canvas: str = "image",
    parts: Collection[str] = DEFAULT_PARTS,
    style: ControlNetStyle = ControlNetStyle(),  # noqa: B008 - frozen, shared safely
) -> np.ndarray:
    """Draw the chosen parts of every person: body (OpenPose-18 skeleton), feet, face, hands.

    A keypoint set other than COCO-WholeBody's 133 (body-only, MPII, custom) has no known skeleton
    here: its points are drawn as dots, one colour per keypoint index.

    Args:
        image: BGR uint8 ``(H, W, 3)``; it is not modified.
        keypoints: ``(N, 133, 2)`` image pixels; ``scores``: ``(N, 133)`` (or any ``(N, K, 2)``, ``(N, K)``).
        threshold: points below it are not drawn.
        canvas: ``"image"`` draws over the photo (anti-aliased, widths scaled with the image);
            ``"black"`` draws what ControlNet's DWPose annotator draws for these keypoints
            (:mod:`dwpose.inference.controlnet_draw`), at the photo's size.
        parts: any of :data:`PARTS`; default body, face and hands, as ControlNet's DWPose annotator.
        style: the black canvas's detect resolution and opt-in styles (default: the annotator's).

    Returns:
        A new BGR uint8 ``(H, W, 3)`` picture.
    """
    if canvas not in ("image", "black"):
        raise UserError(f"canvas must be 'image' or 'black', got {canvas!r}")
    parts = check_parts(parts)
    out = image.copy() if canvas == "image" else np.zeros_like(image)
    width = max(2, int(round(max(image.shape[:2]) / 200)))
    if keypoints.ndim == 3 and keypoints.shape[1] != NUM_KEYPOINTS:
        return _draw_points(out, keypoints, scores, threshold, width)
    if canvas == "black":
        size = (image.shape[1], image.shape[0])
        drawn = draw_controlnet(size, keypoints, scores, threshold, parts, style)
        return np.ascontiguousarray(drawn[..., ::-1])  # RGB map -> BGR picture
    body, body_scores = coco133_to_openpose18(keypoints, scores) if len(keypoints) else (keypoints, scores)
    for n in range(len(keypoints)):
        if "body" in parts:
            _draw_body(out, body[n], body_scores[n], threshold, width)
        if "feet" in parts:
            _draw_feet(out, keypoints[n], scores[n], threshold, width)
        if "hands" in parts:
            for part in (LEFT_HAND, RIGHT_HAND):
                _draw_hand(out, keypoints[n, part], scores[n, part], threshold, width)
        if "face" in parts:
            for p, s in zip(keypoints[n, FACE], scores[n, FACE]):
                if s >= threshold:
                    cv2.circle(out, _pt(p), max(1, width // 2), (255, 255, 255), -1, cv2.LINE_AA)
    return out


def id_color(track_id: int) -> Tuple[int, int, int]:
    """A BGR colour per track ID (golden-ratio hues: neighbouring IDs look different)."""
    r, g, b = colorsys.hsv_to_rgb((track_id * 0.618034) % 1.0, 0.85, 1.0)
    return int(b * 255), int(g * 255), int(r * 255)


def draw_track_ids(
    image: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, ids: np.ndarray, threshold: float = 0.3
) -> np.ndarray:
    """Write each person's track ID (``#3``) above its confident keypoints, in place; returns ``image``.

    Args:
        image: BGR uint8 ``(H, W, 3)``, drawn on.
        keypoints: ``(N, K, 2)`` pixels; ``scores``: ``(N, K)``; ``ids``: ``(N,)`` ints.
    """
    scale = max(0.5, max(image.shape[:2]) / 1000)
    thickness = max(1, int(round(scale * 2)))
    for pts, s, track_id in zip(keypoints, scores, ids):
        seen = pts[s >= threshold]
        if len(seen) == 0:
            continue
        x, y = float(seen[:, 0].min()), float(seen[:, 1].min())
        text = f"#{int(track_id)}"
        (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        x = int(np.clip(x, 0, max(image.shape[1] - w, 0)))
        y = int(np.clip(y - 4, h + base, image.shape[0] - base))
        cv2.rectangle(image, (x, y - h - base), (x + w, y + base), (0, 0, 0), -1)
        cv2.putText(
            image,
            text,
            (x, y),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            id_color(int(track_id)),
            thickness,
            cv2.LINE_AA,
        )
    return image
