"""Crop geometry: box -> center/scale, aspect ratio, warp matrices and their inverse."""

from __future__ import annotations

import numpy as np
import pytest

from dwpose.inference.geometry import (
    apply_affine,
    bbox_xyxy_to_center_scale,
    crop_to_image,
    fix_aspect_ratio,
    get_warp_matrix,
    warp_crops,
)


def test_center_scale_golden():
    centers, scales = bbox_xyxy_to_center_scale(np.array([[10, 20, 110, 220], [0, 0, 4, 2]]), padding=1.25)
    np.testing.assert_allclose(centers, [[60, 120], [2, 1]])
    np.testing.assert_allclose(scales, [[125, 250], [5, 2.5]])
    assert centers.dtype == np.float32 and scales.shape == (2, 2)


def test_center_scale_ignores_score_column_and_empty():
    c, s = bbox_xyxy_to_center_scale(np.array([[0, 0, 10, 10, 0.9]]), padding=1.0)
    np.testing.assert_allclose(s, [[10, 10]])
    c, s = bbox_xyxy_to_center_scale(np.zeros((0, 5)))
    assert c.shape == (0, 2) and s.shape == (0, 2)


@pytest.mark.parametrize(
    "scale, expected",
    [
        ((100, 100), (100, 400 / 3)),  # too wide for 3:4 -> grow the height
        ((30, 100), (75, 100)),  # too tall -> grow the width
        ((75, 100), (75, 100)),
    ],
)
def test_fix_aspect_ratio_grows_never_shrinks(scale, expected):
    fixed = fix_aspect_ratio(np.array([scale], np.float32), 192 / 256)
    np.testing.assert_allclose(fixed[0], expected, rtol=1e-6)
    assert np.all(fixed[0] >= np.array(scale) - 1e-4)


@pytest.mark.parametrize("center, scale", [((100.0, 50.0), (75.0, 100.0)), ((-3.5, 400.25), (300.0, 400.0))])
def test_warp_matrix_matches_mmpose(center, scale):
    """mmpose's own get_warp_matrix (rot=0): its float32 three-point construction is off the exact matrix
    by ~1e-5 px, hence the tolerance."""
    mmpose_bbox = pytest.importorskip("mmpose.structures.bbox")
    for inverse in (False, True):
        ours = get_warp_matrix(center, scale, (192, 256), inverse=inverse)
        theirs = mmpose_bbox.get_warp_matrix(
            np.array(center, np.float32), np.array(scale, np.float32), 0.0, (192, 256), inv=inverse
        )
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("padding", [1.0, 1.25])
def test_center_scale_and_aspect_match_mmpose(padding):
    """mmpose's bbox_xyxy2cs, then TopdownAffine's aspect-ratio fix, on random boxes."""
    mmpose_bbox = pytest.importorskip("mmpose.structures.bbox")
    topdown = pytest.importorskip("mmpose.datasets.transforms.topdown_transforms")
    rng = np.random.default_rng(0)
    xy = rng.uniform(-50, 600, (20, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(1, 400, (20, 2))], axis=1).astype(np.float32)
    centers, scales = bbox_xyxy_to_center_scale(boxes, padding)
    ref_centers, ref_scales = mmpose_bbox.bbox_xyxy2cs(boxes, padding)
    np.testing.assert_allclose(centers, ref_centers, rtol=1e-6)
    np.testing.assert_allclose(scales, ref_scales, rtol=1e-6)
    fixed = topdown.TopdownAffine._fix_aspect_ratio(ref_scales, aspect_ratio=192 / 256)
    np.testing.assert_allclose(fix_aspect_ratio(scales, 192 / 256), fixed, rtol=1e-6)


def test_warp_and_inverse_compose_to_identity():
    fwd = get_warp_matrix((320, 200), (150, 200), (192, 256))
    inv = get_warp_matrix((320, 200), (150, 200), (192, 256), inverse=True)
    pts = np.random.default_rng(0).uniform(0, 640, (10, 2))
    np.testing.assert_allclose(apply_affine(apply_affine(pts, fwd), inv), pts, atol=1e-3)
    # the box center goes to the crop center, the crop's left edge is center - scale/2
    np.testing.assert_allclose(apply_affine(np.array([[320, 200]]), fwd), [[96, 128]], atol=1e-4)
    np.testing.assert_allclose(apply_affine(np.array([[0, 0]]), inv), [[320 - 75, 200 - 100]], atol=1e-4)


def test_warp_crops_puts_marked_pixels_where_the_matrix_says():
    image = np.zeros((400, 600, 3), np.uint8)
    image[198:203, 298:303] = (255, 0, 0)  # blue blob at (300, 200), BGR kept
    image[148:153, 258:263] = (0, 0, 255)  # red blob at (260, 150)
    center, scale = np.array([[300.0, 200.0]]), np.array([[150.0, 200.0]])
    crop = warp_crops(image, center, scale, (192, 256))[0]
    assert crop.shape == (256, 192, 3)
    assert crop[128, 96, 0] > 200 and crop[128, 96, 2] == 0
    u, v = apply_affine(np.array([[260.0, 150.0]]), get_warp_matrix(center[0], scale[0], (192, 256)))[0]
    assert crop[int(round(v)), int(round(u)), 2] > 200


def test_crop_to_image_per_crop():
    centers = np.array([[100.0, 100.0], [400.0, 300.0]])
    scales = np.array([[75.0, 100.0], [150.0, 200.0]])
    crop_pts = np.array([[[96.0, 128.0], [0.0, 0.0]]] * 2, np.float32)
    out = crop_to_image(crop_pts, centers, scales, (192, 256))
    np.testing.assert_allclose(out[0], [[100, 100], [62.5, 50]], atol=1e-4)
    np.testing.assert_allclose(out[1], [[400, 300], [325, 200]], atol=1e-4)
