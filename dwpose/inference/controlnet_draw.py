"""The black canvas ControlNet's DWPose annotator draws (``controlnet_aux`` 0.0.10), and opt-in styles.

For the same keypoints, :func:`draw_controlnet` with the default :class:`ControlNetStyle` gives the
pixels ``controlnet_aux.DWposeDetector`` gives (its ``dwpose/util.py`` ``draw_bodypose``,
``draw_handpose``, ``draw_facepose``, as ``DWposeDetector.__call__`` prepares their input), then resizes
the map to the picture's size with the annotator's own final ``cv2.resize`` (bilinear):

- the map is drawn at the detect resolution: short side ``detect_resolution`` (512), both sides rounded
  to multiples of 64 (:func:`detect_size`); ``0`` draws at the picture's own size;
- coordinates go through the annotator's float32 arithmetic (divided by the map size, multiplied back,
  truncated with ``int``), so every primitive lands on the same pixel;
- body (OpenPose-18): a joint is drawn when its score is above the threshold, the neck when both
  shoulders are; limbs are filled ellipses of half-width 4 (``cv2.ellipse2Poly``, no anti-aliasing), limb
  by limb over all people, then the whole map is dimmed to 60%, then joints of radius 4;
- hands (all left hands, then all right hands): a point scoring below the threshold is dropped, as is one
  whose truncated pixel coordinate is 0 or negative; lines of width 2 in a hue per edge, points of
  radius 4 in ``(0, 0, 255)`` (blue in the RGB map);
- faces: white dots of radius 3, same dropping rule as hands.

Styles beyond the annotator (all off by default): feet (OpenPose BODY_25 foot colours, drawn like body
limbs), thicker body sticks (``stick_scale``: a factor, or ``"auto"`` for the SDXL rule
``1 if max_side < 500 else min(2 + max_side // 1000, 7)`` on the map's longer side), and distinct hand
colours (the right hand's points in the right wrist's lime green, (170, 255, 0)).
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from typing import Collection, List, Sequence, Tuple, Union

import cv2
import numpy as np

from dwpose.errors import UserError
from dwpose.keypoints import (
    COCO_L_SHOULDER,
    COCO_R_SHOULDER,
    FACE,
    LEFT_HAND,
    OPENPOSE18_FROM_COCO,
    RIGHT_HAND,
)

HAND_COLOR_STYLES: Tuple[str, ...] = ("annotator", "left-right")
EPS = 0.01  # the annotator's "is this point there" bound on truncated pixel coordinates
STICK_HALF_WIDTH = 4
JOINT_RADIUS = 4
HAND_LINE_WIDTH = 2
HAND_POINT_RADIUS = 4
FACE_POINT_RADIUS = 3
DIMMING = 0.6
# OpenPose-18 limbs (1-based, the annotator's limbSeq; the last two, ear-shoulder, it never draws).
LIMBS_1BASED: Tuple[Tuple[int, int], ...] = (
    (2, 3), (2, 6), (3, 4), (4, 5), (6, 7), (7, 8), (2, 9), (9, 10), (10, 11), (2, 12), (12, 13),
    (13, 14), (2, 1), (1, 15), (15, 17), (1, 16), (16, 18),
)  # fmt: skip
BODY_COLORS: Tuple[Tuple[int, int, int], ...] = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
    (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255),
    (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)  # fmt: skip (RGB)
HAND_EDGES: Tuple[Tuple[int, int], ...] = tuple(
    (0 if j == 0 else 4 * f + j, 4 * f + j + 1) for f in range(5) for j in range(4)
)
RIGHT_HAND_POINT_COLOR = BODY_COLORS[4]  # the right wrist's lime green ("left-right" hand colours)
# Feet in OpenPose BODY_25 order and colours: (ankle, point) limbs in COCO-WholeBody indices; a limb
# takes its second point's colour: left foot (big toe 17, small toe 18, heel 19) blue, right cyan.
FOOT_LIMBS: Tuple[Tuple[int, int], ...] = ((15, 17), (17, 18), (15, 19), (16, 20), (20, 21), (16, 22))
FOOT_COLORS = {17: (0, 0, 255), 18: (0, 0, 255), 19: (0, 0, 255), 20: (0, 255, 255), 21: (0, 255, 255),
               22: (0, 255, 255)}  # fmt: skip (RGB)
MAX_COORD = float(1 << 20)  # farther points are clamped (OpenCV takes int32 coordinates)


@dataclass(frozen=True)
class ControlNetStyle:
    """How the black canvas is drawn; the defaults are the annotator's.

    Attributes:
        detect_resolution: short side of the map the poses are drawn on (rounded to multiples of 64, as
            the annotator's ``resize_image``); 0 = the picture's own size.
        stick_scale: body (and feet) stick half-width factor, a whole number >= 1, or ``"auto"``.
        hand_colors: ``"annotator"`` (both hands alike) or ``"left-right"``.

    The feet are drawn when ``feet`` is among the parts drawn.
    """

    detect_resolution: int = 512
    stick_scale: Union[int, str] = 1
    hand_colors: str = "annotator"

    def __post_init__(self) -> None:
        check_detect_resolution(self.detect_resolution)
        check_stick_scale(self.stick_scale)
        if self.hand_colors not in HAND_COLOR_STYLES:
            choices = ", ".join(HAND_COLOR_STYLES)
            raise UserError(f"hand colours must be one of {choices}, got {self.hand_colors!r}")


MAX_DETECT_RESOLUTION = 8192  # a 8192-pixel short side is already a 200-megapixel canvas


def check_detect_resolution(value: int, name: str = "detect resolution") -> int:
    """``value`` if it is 0 or a whole number in [64, :data:`MAX_DETECT_RESOLUTION`]; else UserError
    (``name``: what the message calls it)."""
    if (isinstance(value, bool) or not isinstance(value, int)
            or not (value == 0 or 64 <= value <= MAX_DETECT_RESOLUTION)):
        raise UserError(f"{name} must be 0 (the picture's size) or a whole number from 64 to "
                         f"{MAX_DETECT_RESOLUTION}, got {value!r}")
    return value


def check_stick_scale(value: Union[int, str]) -> Union[int, str]:
    """``value`` if it is ``"auto"`` or a whole number from 1 to 64; UserError otherwise."""
    ok = value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 64)
    if not ok:
        raise UserError(f"stick scale must be 'auto' or a whole number from 1 to 64, got {value!r}")
    return value


def detect_size(width: int, height: int, resolution: int) -> Tuple[int, int]:
    """``(width, height)`` of the map: the annotator's ``resize_image`` rule (short side ``resolution``,
    each side rounded half-to-even to a multiple of 64); ``resolution`` 0 keeps the size."""
    if resolution == 0:
        return width, height
    k = float(resolution) / min(float(height), float(width))
    return int(np.round(float(width) * k / 64.0)) * 64, int(np.round(float(height) * k / 64.0)) * 64


def sdxl_stick_scale(width: int, height: int) -> int:
    """The SDXL ControlNet stick factor for a ``width`` x ``height`` map."""
    max_side = max(width, height)
    return 1 if max_side < 500 else min(2 + max_side // 1000, 7)


def _hand_edge_colors() -> List[Tuple[float, float, float]]:
    """Hue ``i / 20`` at full saturation and value, times 255, as floats (the annotator's colours)."""
    return [tuple(c * 255 for c in colorsys.hsv_to_rgb(i / float(len(HAND_EDGES)), 1.0, 1.0))
            for i in range(len(HAND_EDGES))]  # fmt: skip


HAND_EDGE_COLORS = _hand_edge_colors()


@dataclass
class _Prepared:
    """The annotator's inputs: float32 coordinates divided by the map size, hidden points marked."""

    body: np.ndarray  # (N, 18, 2)
    body_on: np.ndarray  # (N, 18) bool
    hands: np.ndarray  # (2N, 21, 2), left hands then right hands; hidden points -1
    faces: np.ndarray  # (N, 68, 2), hidden -1
    feet: np.ndarray  # (N, 23, 2) COCO indices 0-22 (only 15-22 used)
    feet_on: np.ndarray  # (N, 23) bool


def _prepare(keypoints: np.ndarray, scores: np.ndarray, size: Tuple[int, int], map_size: Tuple[int, int],
             threshold: float) -> _Prepared:
    """Keypoints in picture pixels -> map pixels (float32) -> divided by the map size, as the annotator."""
    (width, height), (map_w, map_h) = size, map_size
    scores = np.where(np.isfinite(keypoints).all(-1), scores, 0).astype(np.float32)
    kp = np.clip(np.nan_to_num(keypoints.astype(np.float32)), -MAX_COORD, MAX_COORD)
    kp = kp * np.array([map_w / width, map_h / height], dtype=np.float32)
    neck = np.mean(kp[:, [COCO_L_SHOULDER, COCO_R_SHOULDER]], axis=1)
    index = np.array(OPENPOSE18_FROM_COCO)
    body = kp[:, np.maximum(index, 0)].copy()
    body[:, 1] = neck
    body_scores = scores[:, np.maximum(index, 0)]
    body_on = body_scores > threshold
    body_on[:, 1] = (scores[:, COCO_L_SHOULDER] > threshold) & (scores[:, COCO_R_SHOULDER] > threshold)
    norm = kp.copy()
    norm[..., 0] /= float(map_w)
    norm[..., 1] /= float(map_h)
    body[..., 0] /= float(map_w)
    body[..., 1] /= float(map_h)
    feet, feet_on = norm.copy(), scores > threshold
    norm[scores < threshold] = -1
    hands = np.concatenate([norm[:, LEFT_HAND], norm[:, RIGHT_HAND]])
    return _Prepared(body, body_on, hands, norm[:, FACE], feet, feet_on)


def _ellipse(canvas: np.ndarray, a: np.ndarray, b: np.ndarray, half_width: int, color: Sequence[int]) -> None:
    """The annotator's limb: a filled ellipse between map-normalised points ``a`` and ``b``."""
    height, width = canvas.shape[:2]
    ys = np.array([a[0], b[0]], dtype=a.dtype) * float(width)
    xs = np.array([a[1], b[1]], dtype=a.dtype) * float(height)
    mx, my = np.mean(xs), np.mean(ys)
    length = ((xs[0] - xs[1]) ** 2 + (ys[0] - ys[1]) ** 2) ** 0.5
    angle = math.degrees(math.atan2(xs[0] - xs[1], ys[0] - ys[1]))
    polygon = cv2.ellipse2Poly((int(my), int(mx)), (int(length / 2), half_width), int(angle), 0, 360, 1)
    cv2.fillConvexPoly(canvas, polygon, color)


def _joint(canvas: np.ndarray, p: np.ndarray, color: Sequence[int]) -> None:
    height, width = canvas.shape[:2]
    cv2.circle(canvas, (int(p[0] * width), int(p[1] * height)), JOINT_RADIUS, color, thickness=-1)


def _draw_skeleton(
    canvas: np.ndarray, prep: _Prepared, body: bool, feet: bool, half_width: int
) -> np.ndarray:
    """Limbs (limb by limb over all people), the 60% dimming, then joints: ``draw_bodypose`` + feet."""
    people = range(len(prep.body))
    if body:
        for (a, b), color in zip(LIMBS_1BASED, BODY_COLORS):
            for n in people:
                if prep.body_on[n, a - 1] and prep.body_on[n, b - 1]:
                    _ellipse(canvas, prep.body[n, a - 1], prep.body[n, b - 1], half_width, color)
    if feet:
        for a, b in FOOT_LIMBS:
            for n in people:
                if prep.feet_on[n, a] and prep.feet_on[n, b]:
                    _ellipse(canvas, prep.feet[n, a], prep.feet[n, b], half_width, FOOT_COLORS[b])
    canvas = (canvas * DIMMING).astype(np.uint8)
    if body:
        for i, color in enumerate(BODY_COLORS):
            for n in people:
                if prep.body_on[n, i]:
                    _joint(canvas, prep.body[n, i], color)
    if feet:
        for i, color in FOOT_COLORS.items():
            for n in people:
                if prep.feet_on[n, i]:
                    _joint(canvas, prep.feet[n, i], color)
    return canvas


def _pixel(p: np.ndarray, width: int, height: int) -> Tuple[int, int]:
    x, y = p
    return int(x * width), int(y * height)


def _draw_hands(canvas: np.ndarray, hands: np.ndarray, hand_colors: str) -> None:
    """``draw_handpose``: per hand, its edges (width 2, a hue each), then its points (radius 4)."""
    height, width = canvas.shape[:2]
    for h, peaks in enumerate(hands):
        for (a, b), color in zip(HAND_EDGES, HAND_EDGE_COLORS):
            x1, y1 = _pixel(peaks[a], width, height)
            x2, y2 = _pixel(peaks[b], width, height)
            if x1 > EPS and y1 > EPS and x2 > EPS and y2 > EPS:
                cv2.line(canvas, (x1, y1), (x2, y2), color, thickness=HAND_LINE_WIDTH)
        right = h >= len(hands) // 2
        point_color = RIGHT_HAND_POINT_COLOR if right and hand_colors == "left-right" else (0, 0, 255)
        for p in peaks:
            x, y = _pixel(p, width, height)
            if x > EPS and y > EPS:
                cv2.circle(canvas, (x, y), HAND_POINT_RADIUS, point_color, thickness=-1)


def _draw_faces(canvas: np.ndarray, faces: np.ndarray) -> None:
    """``draw_facepose``: white dots of radius 3."""
    height, width = canvas.shape[:2]
    for landmarks in faces:
        for p in landmarks:
            x, y = _pixel(p, width, height)
            if x > EPS and y > EPS:
                cv2.circle(canvas, (x, y), FACE_POINT_RADIUS, (255, 255, 255), thickness=-1)


def draw_controlnet_map(
    size: Tuple[int, int],
    keypoints: np.ndarray,
    scores: np.ndarray,
    threshold: float = 0.3,
    parts: Collection[str] = ("body", "face", "hands"),
    style: ControlNetStyle = ControlNetStyle(),  # noqa: B008 - frozen, shared safely
) -> np.ndarray:
    """The RGB uint8 map at the detect resolution (what ``DWposeDetector`` returns before any resize).

    Args:
        size: ``(width, height)`` of the picture ``keypoints`` are in (pixels).
        keypoints: ``(N, 133, 2)`` COCO-WholeBody; ``scores``: ``(N, 133)``.
        threshold: the annotator's 0.3 by default (body: above it; hands, face: not below it).
        parts: any of ``body``, ``feet``, ``face``, ``hands`` (the annotator: all but the feet).
    """
    width, height = size
    threshold = float(threshold)  # a plain float compares in the scores' float32, as the annotator's 0.3
    map_w, map_h = detect_size(width, height, style.detect_resolution)
    prep = _prepare(np.asarray(keypoints).reshape(-1, 133, 2), np.asarray(scores).reshape(-1, 133),
                    size, (map_w, map_h), threshold)  # fmt: skip
    scale = sdxl_stick_scale(map_w, map_h) if style.stick_scale == "auto" else int(style.stick_scale)
    canvas = np.zeros((map_h, map_w, 3), np.uint8)
    canvas = _draw_skeleton(canvas, prep, "body" in parts, "feet" in parts,
                            STICK_HALF_WIDTH * scale)  # fmt: skip
    if "hands" in parts:
        _draw_hands(canvas, prep.hands, style.hand_colors)
    if "face" in parts:
        _draw_faces(canvas, prep.faces)
    return canvas


def draw_controlnet(
    size: Tuple[int, int],
    keypoints: np.ndarray,
    scores: np.ndarray,
    threshold: float = 0.3,
    parts: Collection[str] = ("body", "face", "hands"),
    style: ControlNetStyle = ControlNetStyle(),  # noqa: B008
) -> np.ndarray:
    """:func:`draw_controlnet_map`, resized to ``size`` as the annotator resizes its map (``cv2.resize``,
    bilinear); RGB uint8 ``(height, width, 3)``."""
    canvas = draw_controlnet_map(size, keypoints, scores, threshold, parts, style)
    if canvas.shape[1::-1] != tuple(size):
        canvas = cv2.resize(canvas, tuple(size), interpolation=cv2.INTER_LINEAR)
    return canvas
