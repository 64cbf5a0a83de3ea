"""Geometry and drawing of the synthetic stick person behind ``dwpose demo-data``.

A :class:`Figure` holds the 133 COCO-WholeBody keypoints of one front-facing person together with what
is needed to draw it (head ellipse, line widths, colours). Figures are sampled in a canonical frame
(pelvis at the origin, y down, standing height about 1.0) and then mapped to pixels with
:meth:`Figure.transformed`. Sides follow COCO: the person faces the camera, so their *left* side is
on the image *right* (``side = +1`` multiplies x by +1 for left limbs, -1 for right limbs), which keeps
the data consistent with COCO-WholeBody flip indices.

Only numpy and cv2 are used. Every random draw comes from the ``np.random.Generator`` passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Sequence

import cv2
import numpy as np

_SHIFT = 4  # cv2 fractional bits: keypoints are drawn with 1/16 pixel precision
_ONE = 1 << _SHIFT
LEFT, RIGHT = 1.0, -1.0

# Per-finger colours (BGR), the same on both hands: thumb, index, middle, ring, little.
FINGER_COLORS = ((0, 225, 235), (40, 200, 40), (235, 235, 235), (215, 70, 215), (0, 130, 255))
SKIN_TONES = ((190, 215, 245), (150, 185, 225), (110, 150, 200), (75, 110, 160), (50, 75, 115))


@dataclass(frozen=True)
class Style:
    """Colours (BGR) and relative line widths of one figure."""

    left: tuple[int, int, int]
    right: tuple[int, int, int]
    torso: tuple[int, int, int]
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    arm_width: float
    leg_width: float


@dataclass(frozen=True)
class Figure:
    """One person: keypoints (x, y) per part plus head geometry, in canonical units or pixels.

    ``body`` (17, 2), ``foot`` (6, 2), ``face`` (68, 2), ``lhand`` / ``rhand`` (21, 2), ``ears`` (2, 2)
    (left, right), ``head`` (5,) = centre x, centre y, half width, half height, angle in radians;
    ``size`` is the length of one canonical unit (1.0 before :meth:`transformed`).
    """

    body: np.ndarray
    foot: np.ndarray
    face: np.ndarray
    lhand: np.ndarray
    rhand: np.ndarray
    ears: np.ndarray
    head: np.ndarray
    size: float
    style: Style

    def keypoints(self) -> np.ndarray:
        """Return the (133, 2) COCO-WholeBody keypoints: body, foot, face, left hand, right hand."""
        return np.concatenate([self.body, self.foot, self.face, self.lhand, self.rhand])

    def extent(self) -> np.ndarray:
        """Return ``[x0, y0, x1, y1]`` covering every keypoint and the whole head."""
        pts = self.keypoints()
        r = 1.15 * max(self.head[2], self.head[3])
        c = self.head[:2]
        return np.array([*np.minimum(pts.min(0), c - r), *np.maximum(pts.max(0), c + r)])

    def transformed(self, scale: float, angle: float, offset: Sequence[float]) -> Figure:
        """Return the figure rotated by ``angle`` (radians), scaled, then shifted by ``offset``."""
        rot = _rot(angle) * scale
        off = np.asarray(offset, dtype=np.float64)
        move = lambda p: p @ rot.T + off
        c = move(self.head[None, :2])[0]
        head = np.array([c[0], c[1], self.head[2] * scale, self.head[3] * scale, self.head[4] + angle])
        return replace(
            self,
            body=move(self.body),
            foot=move(self.foot),
            face=move(self.face),
            lhand=move(self.lhand),
            rhand=move(self.rhand),
            ears=move(self.ears),
            head=head,
            size=self.size * scale,
        )


def _rot(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def _limb_dir(angle: float, side: float) -> np.ndarray:
    """Unit vector ``angle`` radians away from straight down, rotated outwards for ``side``."""
    return np.array([side * np.sin(angle), np.cos(angle)])


def sample_style(rng: np.random.Generator) -> Style:
    """Sample colours: left limbs blue-dominant, right limbs red-dominant, neutral torso."""
    strong, mid, weak = rng.integers(190, 256), rng.integers(40, 150), rng.integers(0, 50)
    tone = np.array(SKIN_TONES[rng.integers(len(SKIN_TONES))]) + rng.integers(-12, 13, 3)
    torso = rng.integers(60, 150, 3)
    torso[1] += rng.integers(30, 90)  # greenish or grey, never strongly blue or red
    return Style(
        left=(int(strong), int(mid), int(weak)),
        right=(int(weak), int(mid), int(strong)),
        torso=tuple(int(v) for v in torso),
        skin=tuple(int(v) for v in np.clip(tone, 0, 255)),
        hair=tuple(int(v) for v in rng.integers(15, 70, 3)),
        arm_width=float(rng.uniform(0.030, 0.040)),
        leg_width=float(rng.uniform(0.040, 0.052)),
    )


def face_landmarks_local(rng: np.random.Generator) -> np.ndarray:
    """The 68 iBUG landmarks in the head frame (x, y in [-1, 1], y down, image-left first).

    Jaw 0-16 along the head outline, brows 17-21 / 22-26, nose bridge 27-30 and base 31-35,
    eyes 36-41 / 42-47 (outer corner, two upper, inner corner, two lower), mouth 48-59 outer
    and 60-67 inner, numbered as in iBUG-68 so the COCO-WholeBody face flip pairs hold.
    """
    t = np.deg2rad(190.0 - np.arange(17) * 200.0 / 16)
    jaw = np.stack([np.cos(t), np.sin(t)], 1)
    bx, by = np.linspace(0.78, 0.16, 5), -0.30 - 0.07 * np.sin(np.linspace(0.3, 2.6, 5))
    by = by + rng.uniform(-0.04, 0.04)
    brows = np.concatenate([np.stack([-bx, by], 1), np.stack([bx, by], 1)[::-1]])
    nose = np.array([[0, -0.24], [0, -0.10], [0, 0.04], [0, 0.18]])
    nose_base = np.array([[-0.2, 0.22], [-0.1, 0.26], [0, 0.28], [0.1, 0.26], [0.2, 0.22]])
    ex, ey, ew, eh = rng.uniform(0.34, 0.42), rng.uniform(-0.12, -0.04), 0.2, rng.uniform(0.06, 0.1)
    ring = np.array([[-1, 0], [-1 / 3, -1], [1 / 3, -1], [1, 0], [1 / 3, 1], [-1 / 3, 1]]) * [ew, eh]
    right_eye = ring + [-ex, ey]  # 36-41 start at the outer corner ...
    left_eye = ring + [ex, ey]  # ... 42-47 at the inner corner: the same ring, mirrored pairs hold
    mw, up, low, gap = rng.uniform(0.26, 0.38), 0.1, rng.uniform(0.1, 0.15), rng.uniform(0.01, 0.08)
    k = np.array([-1, -2 / 3, -1 / 3, 0, 1 / 3, 2 / 3, 1, 2 / 3, 1 / 3, 0, -1 / 3, -2 / 3])
    vy = np.array([0, -0.8 * up, -up, -0.8 * up, -up, -0.8 * up, 0, 0.8 * low, low, low, low, 0.8 * low])
    outer = np.stack([k * mw, vy], 1)
    ki = np.array([-0.8, -1 / 3, 0, 1 / 3, 0.8, 1 / 3, 0, -1 / 3])
    inner = np.stack([ki * mw, np.array([0, -1, -1, -1, 0, 1, 1, 1]) * gap], 1)
    mouth = np.concatenate([outer, inner]) + [0, rng.uniform(0.5, 0.56)]
    features = np.concatenate([brows, nose, nose_base, right_eye, left_eye, mouth])
    features[:, 0] += rng.uniform(-0.1, 0.1)  # a little yaw
    return np.concatenate([jaw, features])


def hand_points(
    wrist: np.ndarray, direction: np.ndarray, side: float, length: float, rng: np.random.Generator
) -> np.ndarray:
    """Return the 21 hand keypoints: wrist, then 4 joints each for thumb, index, middle, ring, little.

    The palm faces the camera, so the thumb is on the outer side when the arm hangs down.
    """
    d = direction / np.linalg.norm(direction)
    m = side * np.array([d[1], -d[0]])  # towards the thumb
    spread = rng.uniform(0.6, 1.6)
    # (base along d, base along m, spread angle towards m, segment lengths), all in hand lengths
    fingers = (
        (0.12, 0.26, 0.85, (0.17, 0.14, 0.12)),
        (0.44, 0.22, 0.18, (0.22, 0.14, 0.11)),
        (0.46, 0.07, 0.0, (0.24, 0.15, 0.12)),
        (0.44, -0.09, -0.18, (0.22, 0.14, 0.11)),
        (0.40, -0.23, -0.38, (0.17, 0.11, 0.09)),
    )
    pts = [wrist]
    for along, across, ang, segs in fingers:
        p = wrist + length * (along * d + across * m)
        pts.append(p)
        a = ang * spread + rng.normal(0, 0.08)
        fd = np.cos(a) * d + np.sin(a) * m
        curl = rng.uniform(0.0, 0.6) if rng.random() < 0.5 else 0.0
        for j, seg in enumerate(segs):
            bend = -np.sign(ang) * curl * 0.5 * (j + 1)  # curl towards the palm centre
            step = np.cos(bend) * fd + np.sin(bend) * m
            p = p + length * seg * (1.0 - 0.5 * curl) * step
            pts.append(p)
    return np.array(pts)


def foot_points(ankle: np.ndarray, shin_angle: float, side: float, rng: np.random.Generator) -> np.ndarray:
    """Return (3, 2): big toe, small toe, heel. Toes point outwards and down, big toe medial."""
    toe_angle = shin_angle + rng.uniform(0.9, 1.35)
    length = rng.uniform(0.07, 0.085)
    big = ankle + 0.95 * length * _limb_dir(toe_angle - 0.4, side)
    small = ankle + 0.85 * length * _limb_dir(toe_angle + 0.15, side)
    heel = ankle + 0.032 * _limb_dir(shin_angle - 0.6, side)
    return np.stack([big, small, heel])


def _sample_arm(rng: np.random.Generator, shoulder: np.ndarray, side: float) -> tuple[np.ndarray, ...]:
    """Return elbow, wrist and the 21 hand points of one arm."""
    lo, hi = ((0.1, 0.9), (0.9, 2.6), (-0.45, 0.1))[rng.choice(3, p=[0.6, 0.25, 0.15])]
    abduct = rng.uniform(lo, hi)  # 0 = hanging down, pi/2 = horizontal, < 0 = across the body
    bend = rng.uniform(-0.4, 0.4) if rng.random() < 0.4 else rng.uniform(-2.3, 2.3)
    elbow = shoulder + rng.uniform(0.16, 0.18) * _limb_dir(abduct, side)
    wrist = elbow + rng.uniform(0.14, 0.16) * _limb_dir(abduct + bend, side)
    hand_dir = _limb_dir(abduct + bend + rng.uniform(-0.5, 0.5), side)
    return elbow, wrist, hand_points(wrist, hand_dir, side, rng.uniform(0.13, 0.15), rng)


def _sample_leg(rng: np.random.Generator, hip: np.ndarray, side: float) -> tuple[np.ndarray, ...]:
    """Return knee, ankle and the 3 foot points (big toe, small toe, heel) of one leg."""
    if rng.random() < 0.12:  # wide stance, knees out
        thigh, shin = rng.uniform(0.4, 0.9), rng.uniform(-0.3, 0.1)
    else:
        thigh = rng.uniform(-0.08, 0.35)
        shin = thigh + rng.uniform(-0.3, 0.35)
    knee = hip + rng.uniform(0.23, 0.25) * _limb_dir(thigh, side)
    ankle = knee + rng.uniform(0.22, 0.24) * _limb_dir(shin, side)
    return knee, ankle, foot_points(ankle, shin, side, rng)


def sample_figure(rng: np.random.Generator) -> Figure:
    """Sample one front-facing person in canonical units (pelvis at origin, height about 1)."""
    lean = float(np.clip(rng.normal(0, 0.08), -0.25, 0.25))
    up, across = _rot(lean) @ [0, -1], _rot(lean) @ [1, 0]
    neck = up * rng.uniform(0.30, 0.34)
    sw, hw = rng.uniform(0.10, 0.13), rng.uniform(0.065, 0.085)
    # a large (cartoon) head and hands: their keypoints stay resolvable at the demo's 128x96 input
    a = rng.uniform(0.085, 0.095)
    b = a * rng.uniform(1.2, 1.32)
    tilt = lean + rng.uniform(-0.25, 0.25)
    center = neck + up * (0.025 + b)
    head_rot = _rot(tilt) * [a, b]
    to_image = lambda p: np.asarray(p) @ head_rot.T + center
    face = to_image(face_landmarks_local(rng))
    ears = to_image([[1.04, -0.05], [-1.04, -0.05]])
    body = np.zeros((17, 2))
    body[0], body[1], body[2] = face[30], face[42:48].mean(0), face[36:42].mean(0)
    body[3], body[4] = ears
    foot, hands = np.zeros((6, 2)), {}
    joints = ((LEFT, (5, 7, 9, 11, 13, 15), 0), (RIGHT, (6, 8, 10, 12, 14, 16), 3))
    for side, (sh, el, wr, hp, kn, an), f0 in joints:
        body[sh] = neck + across * side * sw
        body[hp] = [side * hw, 0.0]
        body[el], body[wr], hands[side] = _sample_arm(rng, body[sh], side)
        body[kn], body[an], foot[f0 : f0 + 3] = _sample_leg(rng, body[hp], side)
    head = np.array([center[0], center[1], a, b, tilt])
    return Figure(body, foot, face, hands[LEFT], hands[RIGHT], ears, head, 1.0, sample_style(rng))


# ----------------------------------------------------------------------------------------- drawing


def _ip(p: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(p, dtype=np.float64) * _ONE).astype(np.int32)


def _pt(p: np.ndarray) -> tuple[int, int]:
    q = _ip(p)
    return int(q[0]), int(q[1])


def _shade(color: Sequence[int], f: float, toward: int = 0) -> tuple[int, int, int]:
    return tuple(int(round(c + (toward - c) * f)) for c in color)


def _polyline(
    img: np.ndarray, pts: np.ndarray, color: Sequence[int], width: float, closed: bool = False
) -> None:
    thickness = max(1, int(round(width)))
    cv2.polylines(img, [_ip(pts).reshape(-1, 1, 2)], closed, tuple(color), thickness, cv2.LINE_AA, _SHIFT)


def _fill(img: np.ndarray, pts: np.ndarray, color: Sequence[int]) -> None:
    cv2.fillPoly(img, [_ip(pts).reshape(-1, 1, 2)], tuple(color), cv2.LINE_AA, _SHIFT)


def _dot(img: np.ndarray, p: np.ndarray, radius: float, color: Sequence[int]) -> None:
    cv2.circle(img, _pt(p), max(_ONE // 2, int(round(radius * _ONE))), tuple(color), -1, cv2.LINE_AA, _SHIFT)


def _draw_legs(img: np.ndarray, fig: Figure) -> None:
    st, w = fig.style, fig.style.leg_width * fig.size
    for color, (hp, kn, an), f0 in ((st.left, (11, 13, 15), 0), (st.right, (12, 14, 16), 3)):
        leg = _shade(color, 0.3)
        _polyline(img, fig.body[[hp, kn, an]], leg, w)
        big, small, heel = fig.foot[f0 : f0 + 3]
        _fill(img, np.stack([fig.body[an], heel, big, small]), _shade(color, 0.5))
        _dot(img, big, 0.22 * w, _shade(color, 0.5, 255))
        _dot(img, small, 0.16 * w, _shade(color, 0.5, 255))
        _dot(img, fig.body[kn], 0.45 * w, _shade(color, 0.3, 255))


def _draw_torso(img: np.ndarray, fig: Figure) -> None:
    b, st = fig.body, fig.style
    pts = np.stack([b[5], b[6], b[12], b[11]])
    center = pts.mean(0)
    pts = center + 1.12 * (pts - center)
    _fill(img, pts, st.torso)
    _polyline(img, pts, _shade(st.torso, 0.5), 0.006 * fig.size, closed=True)
    for color, hip in ((st.left, b[11]), (st.right, b[12])):
        _dot(img, hip, 0.3 * st.leg_width * fig.size, _shade(color, 0.3, 255))
    _polyline(img, np.stack([(b[5] + b[6]) / 2, fig.head[:2]]), st.skin, 0.035 * fig.size)


def _ellipse_pts(fig: Figure, t_deg: np.ndarray, grow: float = 1.0) -> np.ndarray:
    cx, cy, a, b, ang = fig.head
    local = np.stack([np.cos(np.deg2rad(t_deg)) * a, np.sin(np.deg2rad(t_deg)) * b], 1) * grow
    return local @ _rot(ang).T + [cx, cy]


def _draw_head(img: np.ndarray, fig: Figure) -> None:
    st, f, a = fig.style, fig.face, fig.head[2]
    ear_axes, ear_angle = _pt([0.17 * a, 0.3 * fig.head[3]]), float(np.rad2deg(fig.head[4]))
    for ear in fig.ears:
        cv2.ellipse(img, _pt(ear), ear_axes, ear_angle, 0, 360, _shade(st.skin, 0.2), -1, cv2.LINE_AA, _SHIFT)
    _fill(img, _ellipse_pts(fig, np.linspace(0, 360, 48, endpoint=False)), st.skin)
    _fill(img, _ellipse_pts(fig, np.linspace(205, 335, 16), grow=1.06), st.hair)
    line = max(1.0, 0.07 * a)
    dark = _shade(st.skin, 0.55)
    _polyline(img, f[0:17], dark, line)
    _polyline(img, f[17:22], st.hair, 1.5 * line)
    _polyline(img, f[22:27], st.hair, 1.5 * line)
    _polyline(img, f[27:31], dark, line)
    _polyline(img, f[31:36], dark, line)
    for eye in (f[36:42], f[42:48]):
        _fill(img, eye, (235, 235, 235))
        _polyline(img, eye, (40, 30, 30), line, closed=True)
        _dot(img, eye.mean(0), 0.09 * a, (30, 20, 20))
    _fill(img, f[48:60], (70, 70, 175))
    _fill(img, f[60:68], (40, 25, 60))
    _polyline(img, f[48:60], (40, 40, 120), line, closed=True)


def _draw_hand(img: np.ndarray, hand: np.ndarray, size: float, skin: Sequence[int]) -> None:
    _fill(img, hand[[0, 1, 5, 9, 13, 17]], _shade(skin, 0.15))
    width = max(1.0, 0.005 * size)
    for k, color in enumerate(FINGER_COLORS):
        finger = hand[[0, 1 + 4 * k, 2 + 4 * k, 3 + 4 * k, 4 + 4 * k]]
        _polyline(img, finger, color, width)
        for p in finger[1:]:
            _dot(img, p, 0.4 * width + 0.3, _shade(color, 0.45))


def _draw_arms(img: np.ndarray, fig: Figure) -> None:
    st, w = fig.style, fig.style.arm_width * fig.size
    for color, (sh, el, wr), hand in ((st.left, (5, 7, 9), fig.lhand), (st.right, (6, 8, 10), fig.rhand)):
        _dot(img, fig.body[sh], 0.6 * w, _shade(color, 0.35, 255))
        _polyline(img, fig.body[[sh, el, wr]], color, w)
        _dot(img, fig.body[el], 0.45 * w, _shade(color, 0.35, 255))
        _draw_hand(img, hand, fig.size, st.skin)
        _dot(img, fig.body[wr], 0.5 * w, color)


def draw_figure(img: np.ndarray, fig: Figure) -> None:
    """Draw ``fig`` (pixel units) onto the BGR uint8 image ``img`` in place, back to front."""
    _draw_legs(img, fig)
    _draw_torso(img, fig)
    _draw_head(img, fig)
    _draw_arms(img, fig)


def render_background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Return an (H, W, 3) uint8 background: smooth gradient, blotches, noise, a few distractor shapes."""
    base = rng.uniform(60, 200) + rng.uniform(-30, 30, 3)
    delta = rng.uniform(-60, 60, 3)
    ang = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (np.cos(ang) * xx / width + np.sin(ang) * yy / height)[..., None]
    blotch = cv2.resize(
        rng.normal(0, 18, (4, 3, 3)).astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC
    )
    img = base + delta * ramp + blotch + rng.normal(0, 4, (height, width, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(2, 6))):
        _draw_distractor(img, rng)
    return img


def _draw_distractor(img: np.ndarray, rng: np.random.Generator) -> None:
    h, w = img.shape[:2]
    color = tuple(int(v) for v in rng.integers(0, 256, 3))
    c = rng.uniform([0, 0], [w, h])
    r = rng.uniform(0.03, 0.15) * min(w, h)
    kind = rng.integers(3)
    if kind == 0:
        _dot(img, c, r, color)
    elif kind == 1:
        corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * r * rng.uniform(0.5, 1.5, 2)
        _fill(img, corners @ _rot(rng.uniform(0, np.pi)).T + c, color)
    else:
        _polyline(img, np.stack([c, c + rng.normal(0, 2 * r, 2)]), color, rng.uniform(1, 4))


def draw_occluder(img: np.ndarray, rng: np.random.Generator, box: Sequence[float]) -> Optional[np.ndarray]:
    """Draw a textured rectangle over part of ``box`` (xyxy) and return it as ``[x0, y0, x1, y1]``."""
    h, w = img.shape[:2]
    ow, oh = rng.uniform(0.15, 0.4) * w, rng.uniform(0.1, 0.3) * h
    cx, cy = rng.uniform(box[0], box[2]), rng.uniform(box[1], box[3])
    x0, y0 = int(np.clip(cx - ow / 2, 0, w - 1)), int(np.clip(cy - oh / 2, 0, h - 1))
    x1, y1 = int(np.clip(cx + ow / 2, x0 + 1, w)), int(np.clip(cy + oh / 2, y0 + 1, h))
    color = rng.integers(0, 256, 3)
    period = int(rng.integers(3, 9))
    stripes = (np.arange(x1 - x0)[None, :] + np.arange(y1 - y0)[:, None]) // period % 2
    img[y0:y1, x0:x1] = np.clip(color + 25 * stripes[..., None], 0, 255).astype(np.uint8)
    return np.array([x0, y0, x1, y1], dtype=np.float64)
