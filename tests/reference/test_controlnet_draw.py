"""``--canvas black`` against ControlNet's DWPose annotator (controlnet_aux 0.0.10): identical pixels.

Keypoints: the COCO-WholeBody ground truth of the shared mini set (14 people in 4 photos), with scores
drawn per point from the visibility flags (some visible points fall below the 0.3 threshold, some sit
exactly on it), and edge cases made from them. The reference is the installed annotator's own code
with its networks replaced by these keypoints (tests/reference/controlnet_aux_ref.py).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from dwpose.inference.controlnet_draw import ControlNetStyle, detect_size, draw_controlnet_map
from dwpose.inference.draw import draw_poses
from dwpose.keypoints import FACE, LEFT_HAND
from tests.reference import controlnet_aux_ref as ref


def assert_same_as_annotator(annotator, monkeypatch, photo, kps, scores, resolution):
    """Our map == the annotator's map, and our picture == that map resized to the photo's size."""
    height, width = photo.shape[:2]
    theirs = ref.run_annotator(annotator, photo[..., ::-1].copy(), kps, scores, resolution, monkeypatch)
    style = ControlNetStyle(detect_resolution=resolution)
    ours = draw_controlnet_map((width, height), kps, scores, 0.3, style=style)
    assert theirs.shape[1::-1] == detect_size(width, height, resolution)
    differ = np.any(ours != theirs, axis=-1)
    assert not differ.any(), f"{differ.sum()} of {differ.size} pixels differ from the annotator's"
    picture = draw_poses(photo, kps, scores, 0.3, "black", style=style)[..., ::-1]
    assert np.array_equal(picture, cv2.resize(theirs, (width, height), interpolation=cv2.INTER_LINEAR))
    return theirs


@pytest.mark.parametrize("resolution", [512, 0])
def test_ground_truth_people_are_drawn_as_the_annotator_draws_them(
    annotator, people, monkeypatch, resolution
):
    for name, (photo, kps, scores) in people.items():
        theirs = assert_same_as_annotator(annotator, monkeypatch, photo, kps, scores, resolution)
        colours = np.unique(theirs.reshape(-1, 3), axis=0)
        assert len(colours) > 20, name  # limbs (dimmed), joints, hand edges and points, face dots
        assert np.all(theirs[..., 2][np.all(theirs == [0, 0, 255], axis=-1)] == 255)


def test_jittered_subpixel_keypoints(annotator, people, monkeypatch):
    photo, kps, scores = people["000000197388.jpg"]
    jitter = np.random.default_rng(1).uniform(-0.5, 0.5, kps.shape).astype(np.float32)
    for resolution in (512, 0, 768):
        assert_same_as_annotator(annotator, monkeypatch, photo, kps + jitter, scores, resolution)


def _edge_cases(photo, kps, scores):
    height, width = photo.shape[:2]
    off = kps.copy()
    off[0] -= np.float32(width / 3)  # left part of the first person off the image
    off[-1] += np.float32([width / 2, height / 3])  # right / bottom part of the last one off it
    one_shoulder = scores.copy()
    one_shoulder[:, 5] = 0.1  # no left shoulder: no neck, no neck limbs
    edge = kps.copy()
    edge[0, LEFT_HAND] = 0.0  # hand and face points on the image border (dropped by the annotator)
    edge[0, FACE.start : FACE.start + 10, 1] = 0.0
    doubled = np.concatenate([kps, kps + 3.0])  # overlapping people: the drawing order decides
    return {
        "off the image": (off, scores),
        "one shoulder missing": (kps, one_shoulder),
        "points on the border": (edge, scores),
        "no person": (kps[:0], scores[:0]),
        "one person": (kps[:1], scores[:1]),
        "several overlapping people": (doubled, np.concatenate([scores, scores[::-1]])),
        "everything hidden": (kps, scores * 0),
    }


@pytest.mark.parametrize("resolution", [512, 0])
def test_edge_cases(annotator, people, monkeypatch, resolution):
    photo, kps, scores = people["000000197388.jpg"]
    assert len(kps) >= 3
    for case, (k, s) in _edge_cases(photo, kps, scores).items():
        theirs = assert_same_as_annotator(annotator, monkeypatch, photo, k, s, resolution)
        empty = case in ("no person", "everything hidden")
        assert theirs.any() != empty, case


def test_one_shoulder_missing_drops_the_neck(people):
    photo, kps, scores = people["000000197388.jpg"]
    size = photo.shape[1::-1]
    one = scores[:1].copy()
    one[0, 5:7] = 0.9
    with_neck = draw_controlnet_map(size, kps[:1], one, parts=("body",))
    one[0, 5] = 0.1
    without = draw_controlnet_map(size, kps[:1], one, parts=("body",))
    assert (with_neck.any(-1) & ~without.any(-1)).sum() > 50


def test_detect_size_is_the_annotators_rule(annotator):
    rng = np.random.default_rng(2)
    for width, height in [(640, 425), (500, 333), (333, 500), (1920, 1080), (64, 64), (100, 3000)]:
        for resolution in (512, 768, 64, 1000):
            blank = np.zeros((height, width, 3), np.uint8)
            h, w = annotator.util.resize_image(blank, resolution).shape[:2]
            assert detect_size(width, height, resolution) == (w, h), (width, height, resolution)
    assert detect_size(641, 427, 0) == (641, 427)
    assert rng is not None


def test_the_annotators_own_final_resize(annotator, people, monkeypatch):
    """A 1536 x 1024 photo: drawn at 768 x 512, and the annotator itself resizes its map back to
    1536 x 1024 (``image_resolution`` 1024), so our picture must equal its output as it returns it."""
    photo, kps, scores = people["000000000785.jpg"]
    scale = np.float32(1024 / photo.shape[0])
    big = cv2.resize(photo, (1536, 1024))
    theirs = ref.run_annotator(annotator, big[..., ::-1].copy(), kps * scale, scores, 512, monkeypatch, 1024)
    assert theirs.shape == (1024, 1536, 3) and theirs.any()
    assert np.array_equal(draw_poses(big, kps * scale, scores, 0.3, "black")[..., ::-1], theirs)
