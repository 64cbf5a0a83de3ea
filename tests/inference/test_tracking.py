"""The person tracker on trajectories of real COCO-WholeBody people: stable IDs, occlusion, crossing."""

from __future__ import annotations

from typing import Dict, List

import numpy as np
import pytest

from dwpose.inference.tracking import PoseTracker, TrackerConfig, box_iou, keypoint_box
from dwpose.inference.trajectories import load_wholebody_people, moving_person, person_size, smooth_path

SEEN, UNSEEN = 0.9, 0.05


@pytest.fixture(scope="module")
def people(coco_mini) -> list:
    """Real annotated people with enough labelled keypoints (most of the 14)."""
    found = load_wholebody_people(coco_mini / "coco_wholebody_mini.json", min_visible=12)
    assert len(found) >= 8
    return found


def scene(people: list, paths: Dict[int, np.ndarray]) -> Dict[int, np.ndarray]:
    """``{person index: (T, 133, 2)}`` for the chosen people along their paths."""
    return {p: moving_person(people[p][0], path, people[p][1]) for p, path in paths.items()}


def run(tracker: PoseTracker, people, tracks: Dict[int, np.ndarray], present=None, noise=0.01, seed=0):
    """Feed the frames (shuffled person order, noise ``noise`` x person size); returns
    ``[{person index: id}, ...]`` per frame. ``present(p, t)`` says whether person p is in frame t."""
    rng = np.random.default_rng(seed)
    frames = len(next(iter(tracks.values())))
    out: List[Dict[int, int]] = []
    for t in range(frames):
        who = [p for p in tracks if present is None or present(p, t)]
        rng.shuffle(who)
        kpts = np.stack(
            [tracks[p][t] + rng.normal(0, noise * person_size(*people[p]), (133, 2)) for p in who]
        )
        scores = np.stack([np.where(people[p][1], SEEN, UNSEEN) for p in who])
        ids = tracker.update(t, kpts.reshape(-1, 133, 2), scores.reshape(-1, 133))
        out.append(dict(zip(who, ids.tolist())))
    return out


def test_ids_are_stable_for_several_people_with_noise_and_shuffling(people):
    paths = {
        p: smooth_path(60, (150 + 220 * i, 250 + 40 * (i % 2)), ((-1) ** i * 2.0, 0.5), sway=15, phase=i)
        for i, p in enumerate(range(5))
    }
    frames = run(PoseTracker(), people, scene(people, paths), noise=0.02)
    first = frames[0]
    assert len(set(first.values())) == 5
    assert all(f == first for f in frames)


def test_a_person_hidden_within_the_patience_keeps_the_id(people):
    paths = {0: smooth_path(40, (200, 300), (3.0, 0.0)), 1: smooth_path(40, (900, 300), (-1.0, 0.0))}
    hidden = range(12, 20)  # 8 frames away, patience 10
    frames = run(
        PoseTracker(TrackerConfig(patience=10)),
        people,
        scene(people, paths),
        present=lambda p, t: not (p == 0 and t in hidden),
    )
    assert {f[0] for f in frames if 0 in f} == {frames[0][0]}
    assert {f[1] for f in frames} == {frames[0][1]}


def test_a_person_hidden_longer_than_the_patience_gets_a_new_id(people):
    paths = {0: smooth_path(40, (200, 300), (1.0, 0.0)), 1: smooth_path(40, (900, 300), (-1.0, 0.0))}
    hidden = range(10, 25)  # 15 frames, patience 10
    tracker = PoseTracker(TrackerConfig(patience=10))
    frames = run(tracker, people, scene(people, paths), present=lambda p, t: not (p == 0 and t in hidden))
    before, after = frames[0][0], frames[-1][0]
    assert after != before and after not in (frames[0][1],)
    assert {f[1] for f in frames} == {frames[0][1]}
    summary = tracker.summary()
    assert summary[str(before)]["last_frame"] == 9 and summary[str(after)]["first_frame"] == 25
    assert summary[str(before)]["num_frames"] == 10 and summary[str(frames[0][1])]["num_frames"] == 40


def test_two_crossing_people_do_not_swap(people):
    """Two people pass each other fast (16 px = 4% of their size a frame), a third of a body apart vertically:
    their boxes overlap (IoU > 0.2) around the crossing."""
    a, b = 0, 1
    size = max(person_size(*people[a]), person_size(*people[b]))
    paths = {
        a: smooth_path(50, (0, 300), (16.0, 0.0)),
        b: smooth_path(50, (800, 300 + 0.3 * size), (-16.0, 0.0)),
    }
    tracks = scene(people, paths)
    mid = 25
    box_a = keypoint_box(tracks[a][mid], people[a][1].astype(float), 0.5)
    box_b = keypoint_box(tracks[b][mid], people[b][1].astype(float), 0.5)
    assert box_iou(box_a, box_b) > 0.2  # a real overlap at the crossing
    for seed in range(3):
        frames = run(PoseTracker(), people, tracks, noise=0.01, seed=seed)
        assert all(f == frames[0] for f in frames), seed


def test_iou_fallback_when_few_keypoints_are_visible(people):
    """Only 4 keypoints seen (under min_keypoints): the given person boxes carry the identity."""
    kpts = people[0][0]
    tracker = PoseTracker(TrackerConfig(min_keypoints=8))
    scores = np.full(133, UNSEEN)
    scores[:4] = SEEN
    seen_ids = []
    for t in range(20):
        boxes = np.array([[100 + 3 * t, 100, 200 + 3 * t, 300], [400 - 3 * t, 120, 500 - 3 * t, 330]], float)
        moved = np.stack([kpts + [3 * t, 0], kpts + [300 - 3 * t, 20]])  # same pose: OKS could not tell
        order = [1, 0] if t % 2 else [0, 1]
        ids = tracker.update(t, moved[order], np.stack([scores, scores]), boxes[order])
        seen_ids.append(dict(zip(order, ids.tolist())))
    assert all(f == seen_ids[0] for f in seen_ids) and len(set(seen_ids[0].values())) == 2
