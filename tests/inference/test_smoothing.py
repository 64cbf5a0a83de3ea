"""The One-Euro filter on a real (annotated) pose moving along a smooth path, with noise, steps and gaps."""

from __future__ import annotations

import numpy as np
import pytest

from dwpose.inference.smoothing import OneEuroFilter, TrackSmoother
from dwpose.inference.trajectories import (
    jitter,
    load_wholebody_people,
    mean_error,
    moving_person,
    person_size,
    smooth_path,
)

FPS = 30.0


@pytest.fixture(scope="module")
def person(coco_mini):
    """The first real annotated person: ``(133, 2)`` keypoints, ``(133,)`` labelled flags, size."""
    kpts, visible = load_wholebody_people(coco_mini / "coco_wholebody_mini.json")[0]
    return kpts, visible, person_size(kpts, visible)


def filtered(f: OneEuroFilter, frames: np.ndarray, valid: np.ndarray, scale: float) -> np.ndarray:
    return np.stack(
        [f(t / FPS, frames[t], valid[t] if valid.ndim == 2 else valid, scale) for t in range(len(frames))]
    )


def test_noise_jitter_halves_and_error_falls(person):
    kpts, visible, size = person
    clean = moving_person(kpts, smooth_path(150, (400, 300), (2.0, 0.5), sway=0.1 * size), visible)
    noisy = clean + np.random.default_rng(0).normal(0, 0.01 * size, clean.shape)  # 1% of the person's size
    out = filtered(OneEuroFilter(), noisy, visible, size)
    assert jitter(out, visible) <= 0.5 * jitter(noisy, visible)
    assert mean_error(out, clean, visible) < mean_error(noisy, clean, visible)


def test_still_pose_is_returned_unchanged_after_convergence(person):
    kpts, visible, size = person
    frames = np.concatenate([np.repeat(kpts[None] + 40.0, 10, 0), np.repeat(kpts[None], 90, 0)])
    out = filtered(OneEuroFilter(), frames, visible, size)
    np.testing.assert_allclose(out[-1][visible], kpts[visible], atol=1e-3)
    constant = filtered(OneEuroFilter(), np.repeat(kpts[None], 5, 0), visible, size)
    np.testing.assert_array_equal(constant[:, visible], np.repeat(kpts[None], 5, 0)[:, visible])


@pytest.mark.parametrize("step, frames_to_5_percent", [(0.3, 1), (0.05, 4)])
def test_a_step_is_followed_within_the_documented_frames(person, step, frames_to_5_percent):
    """docs/video.md: at 30 fps a jump of 30% of the person's size is within 5% of it after 1 frame, a
    jump of 5% after 4 frames (defaults, any person size)."""
    kpts, visible, size = person
    jump = np.array([step * size, 0.0])
    frames = np.concatenate([np.repeat(kpts[None], 30, 0), np.repeat(kpts[None] + jump, 30, 0)])
    out = filtered(OneEuroFilter(), frames, visible, size)
    err = np.abs(out[30:, visible, 0] - frames[30:, visible, 0]).max(axis=1) / (step * size)
    assert err[frames_to_5_percent] <= 0.05  # frame 0 is the jump itself
    assert err[frames_to_5_percent - 1] > 0.05  # not earlier: the filter does smooth


def test_low_confidence_keypoints_do_not_drag(person):
    kpts, visible, size = person
    frames = np.repeat(kpts[None], 40, 0).copy()
    valid = np.repeat(visible[None], 40, 0).copy()
    frames[20:25] += 300.0  # a wrong place, with a low score
    valid[20:25] = False
    out = filtered(OneEuroFilter(), frames, valid, size)
    np.testing.assert_array_equal(out[20:25], frames[20:25])  # passed through raw
    np.testing.assert_allclose(out[25:][:, visible], frames[25:][:, visible], atol=1e-9)  # no pull


def test_track_smoother_keeps_people_apart_and_reads_time_from_fps(person):
    kpts, visible, size = person
    scores = np.where(visible, 0.9, 0.0)
    rng = np.random.default_rng(1)
    smoother = TrackSmoother(fps=FPS)
    for t in range(30):
        pair = np.stack([kpts, kpts + 500.0]) + rng.normal(0, 0.01 * size, (2, 133, 2))
        out = smoother.smooth(t, np.array([7, 3]), pair, np.stack([scores, scores]))
    assert np.abs(out[0][visible] - kpts[visible]).mean() < 0.01 * size
    assert np.abs(out[1][visible] - kpts[visible] - 500.0).mean() < 0.01 * size
    with pytest.raises(ValueError, match="min_cutoff > 0"):
        OneEuroFilter(min_cutoff=0.0)
