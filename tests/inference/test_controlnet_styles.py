"""The black canvas's opt-in styles (feet, stick scale, left/right hand colours) and their options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dwpose.inference.controlnet_draw import (
    ControlNetStyle,
    detect_size,
    draw_controlnet_map,
    sdxl_stick_scale,
)
from dwpose.keypoints import FEET, LEFT_HAND, RIGHT_HAND

REPO = Path(__file__).resolve().parents[2]


def _person():
    """One upright person in a 400 x 600 picture, every point confident."""
    kps = np.zeros((1, 133, 2), np.float32)
    body = {0: (200, 80), 1: (190, 70), 2: (210, 70), 3: (180, 75), 4: (220, 75), 5: (160, 140),
            6: (240, 140), 7: (140, 220), 8: (260, 220), 9: (130, 300), 10: (270, 300), 11: (175, 320),
            12: (225, 320), 13: (170, 430), 14: (230, 430), 15: (165, 540), 16: (235, 540)}  # fmt: skip
    for i, p in body.items():
        kps[0, i] = p
    kps[0, FEET] = [(150, 560), (140, 555), (170, 560), (250, 560), (260, 555), (232, 560)]
    kps[0, LEFT_HAND] = np.array([130, 300]) + np.random.default_rng(0).uniform(-15, 15, (21, 2))
    kps[0, RIGHT_HAND] = np.array([270, 300]) + np.random.default_rng(1).uniform(-15, 15, (21, 2))
    return kps, np.ones((1, 133), np.float32)


def _has(canvas, rgb):
    return np.all(canvas == rgb, axis=-1)


def test_sdxl_rule():
    assert [sdxl_stick_scale(w, 10) for w in (499, 500, 999, 1000, 2999, 3000, 9000)] == [1, 2, 2, 3, 4, 5, 7]
    assert sdxl_stick_scale(300, 768) == 2 and detect_size(400, 600, 512) == (512, 768)


def test_feet_in_body25_colours_only_when_asked():
    kps, scores = _person()
    plain = draw_controlnet_map((400, 600), kps, scores)
    feet = draw_controlnet_map((400, 600), kps, scores, parts=("body", "feet", "face", "hands"))
    for rgb in ((0, 0, 255), (0, 255, 255)):  # left foot blue, right foot cyan (full joints)
        near_feet = _has(feet, rgb)[int(0.9 * feet.shape[0]) :]
        assert near_feet.sum() > 30 and not _has(plain, rgb)[int(0.9 * plain.shape[0]) :].any()
    hidden = scores.copy()
    hidden[0, FEET] = 0.1
    assert np.array_equal(draw_controlnet_map((400, 600), kps, hidden, parts=("body", "feet")),
                          draw_controlnet_map((400, 600), kps, hidden, parts=("body",)))  # fmt: skip


def test_stick_scale_thickens_the_body_only():
    kps, scores = _person()
    body = ("body",)
    one = draw_controlnet_map((400, 600), kps, scores, parts=body).any(-1).sum()
    auto = draw_controlnet_map((400, 600), kps, scores, parts=body, style=ControlNetStyle(stick_scale="auto"))
    two = draw_controlnet_map((400, 600), kps, scores, parts=body, style=ControlNetStyle(stick_scale=2))
    assert np.array_equal(auto, two) and auto.any(-1).sum() > 1.6 * one  # 768 px long side: factor 2
    hands = ("hands",)
    assert np.array_equal(draw_controlnet_map((400, 600), kps, scores, parts=hands),
                          draw_controlnet_map((400, 600), kps, scores, parts=hands,
                                              style=ControlNetStyle(stick_scale=3)))  # fmt: skip


def test_left_right_hand_colours():
    kps, scores = _person()
    style = ControlNetStyle(hand_colors="left-right")
    alike = draw_controlnet_map((400, 600), kps, scores, parts=("hands",))
    apart = draw_controlnet_map((400, 600), kps, scores, parts=("hands",), style=style)
    half = apart.shape[1] // 2
    assert _has(alike, (0, 0, 255))[:, half:].sum() > 100 and not _has(apart, (0, 0, 255))[:, half:].any()
    assert _has(apart, (170, 255, 0))[:, half:].sum() > 100 and not _has(apart, (170, 255, 0))[:, :half].any()
    assert np.array_equal(alike[:, :half], apart[:, :half])  # the left hand as the annotator draws it


@pytest.mark.parametrize(
    "args, fragment",
    [(["--detect-resolution", "32"], "--detect-resolution: must be 0"),
     (["--detect-resolution", "x"], "--detect-resolution: must be 0"),
     (["--stick-scale", "0"], "--stick-scale: must be 'auto'"),
     (["--hand-colors", "pink"], "--hand-colors: invalid choice")],
)  # fmt: skip
def test_bad_style_options_give_one_error_line(tmp_path, args, fragment):
    cmd = [sys.executable, "-m", "dwpose.cli", "predict", "x.jpg", "--pose", "m.onnx", "--out", str(tmp_path)]
    proc = subprocess.run([*cmd, *args], cwd=REPO, capture_output=True, text=True, timeout=60)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and fragment in lines[-1] and "Traceback" not in proc.stderr
