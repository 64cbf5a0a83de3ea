"""Video with tracking: the detector schedule (a scripted scene), and ``dwpose predict --track --smooth``
end to end on the real PoseTrack18 clip with the real detector and a random-init RTMPose-t."""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from dwpose.inference.draw import draw_track_ids, id_color
from dwpose.inference.pipeline import PoseResult
from dwpose.inference.tracking import BOX_EXPANSION, box_iou, keypoint_box
from dwpose.inference.trajectories import load_wholebody_people, moving_person, smooth_path
from dwpose.inference.video import VideoOptions, VideoPoseEstimator
from dwpose.inference.writers import cog_npz_bytes, openpose_json
from tests.inference.test_cli import assert_one_error_line, predict

FRAME = np.zeros((720, 1280, 3), np.uint8)


class ScriptedPipeline:
    """Stands in for TopDownPipeline on a known scene: the "detector" returns the true boxes of the people
    present at ``self.t``; a box gets the pose of the person it overlaps most (nothing if none)."""

    detector = object()

    def __init__(self, tracks: dict, present) -> None:
        self.tracks, self.present, self.t, self.detections = tracks, present, 0, []
        self.visible = {p: np.ones(133, bool) for p in tracks}

    def true_box(self, p):
        return keypoint_box(self.tracks[p][self.t], np.ones(133), 0.5, BOX_EXPANSION)

    def predict_batch(self, images, boxes=None):
        who = [p for p in self.tracks if self.present(p, self.t)]
        if boxes is None:
            self.detections.append(self.t)
            boxes = [np.array([self.true_box(p) for p in who]).reshape(-1, 4)]
        kpts, scores = [], []
        for box in boxes[0]:
            overlap = [(box_iou(box, self.true_box(p)), p) for p in who]
            best = max(overlap, default=(0.0, None))
            kpts.append(self.tracks[best[1]][self.t] if best[0] > 0.1 else np.zeros((133, 2)))
            scores.append(np.full(133, 0.9 if best[0] > 0.1 else 0.0))
        b = np.asarray(boxes[0], np.float32).reshape(-1, 4)
        k = np.asarray(kpts, np.float32).reshape(-1, 133, 2)
        return [
            PoseResult(
                b,
                np.ones(len(b), np.float32),
                k,
                np.asarray(scores, np.float32).reshape(-1, 133),
                (1280, 720),
            )
        ]


@pytest.fixture(scope="module")
def walkers(coco_mini) -> dict:
    people = load_wholebody_people(coco_mini / "coco_wholebody_mini.json", min_visible=12)
    paths = [((200, 300), (4.0, 0.0)), ((900, 350), (-3.0, 0.5)), ((600, 300), (0.0, 1.0))]
    return {
        p: moving_person(people[p][0], smooth_path(30, s, v), people[p][1]) for p, (s, v) in enumerate(paths)
    }


def run_scene(tracks: dict, present, det_every: int = 5):
    pipe = ScriptedPipeline(tracks, present)
    est = VideoPoseEstimator(pipe, VideoOptions(track=True, det_every=det_every), fps=30.0)
    frames = []
    for t in range(30):
        pipe.t = t
        frames += est.process([(t, FRAME)])
    return pipe, est, frames


def test_detector_runs_every_n_frames_and_ids_hold(walkers):
    two = {p: walkers[p] for p in (0, 1)}
    pipe, est, frames = run_scene(two, lambda p, t: True)
    assert pipe.detections == [0, 5, 10, 15, 20, 25] and est.detector_calls == 6
    assert [f.detected for f in frames[:6]] == [True, False, False, False, False, True]
    assert all(list(f.ids) == [0, 1] for f in frames)
    for f in frames:  # each derived box still holds its person's pose
        assert np.allclose(f.result.keypoints[0], two[0][f.index], atol=1e-3)


def test_newcomer_is_found_at_the_next_detection_and_a_lost_track_forces_one(walkers):
    present = lambda p, t: (p != 2 or t >= 7) and (p != 1 or t < 13)  # noqa: E731
    pipe, est, frames = run_scene(walkers, present)
    assert pipe.detections == [0, 5, 10, 13, 18, 23, 28]  # 13: person 1 left, its derived box went empty
    first_seen = min(f.index for f in frames if 2 in f.ids)
    assert first_seen == 10
    summary = est.tracks_summary()
    assert summary["1"]["last_frame"] == 12 and summary["2"]["first_frame"] == 10
    assert summary["0"]["num_frames"] == 30 and summary["0"]["frames"] == list(range(30))


@pytest.fixture(scope="module")
def clip(shared_dir) -> Path:
    from tests.conftest import require_shared

    return require_shared(shared_dir / "data/video-mini/posetrack18_000001_mpiinew_test.mp4", "clip", "file")


def _video_info(path: Path):
    cap = cv2.VideoCapture(str(path))
    info = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), cap.get(cv2.CAP_PROP_FPS), cap.read()[1].shape
    cap.release()
    return info


@pytest.mark.slow
def test_track_smooth_end_to_end_on_the_real_clip(tmp_path, tiny_model, weights_dir, clip):
    det = weights_dir / "rtmdet-nano_person_end2end.onnx"
    out = tmp_path / "out"
    proc = predict(
        clip,
        "--pose",
        tiny_model.onnx,
        "--det",
        det,
        "--out",
        out,
        "--track",
        "--smooth",
        "--det-every",
        "5",
        "--max-frames",
        "20",
    )
    assert proc.returncode == 0, proc.stderr
    stem = clip.stem
    source_frames, fps, shape = _video_info(clip)
    frames, out_fps, out_shape = _video_info(out / f"{stem}_pose.mp4")
    assert (frames, out_fps, out_shape) == (min(source_frames, 20), fps, shape)
    tracks = json.loads((out / stem / "tracks.json").read_text())
    seen: dict = {}
    for i in range(frames):
        npz = np.load(out / stem / f"{i:06d}.npz", allow_pickle=True)
        doc = json.loads((out / stem / f"{i:06d}.json").read_text())
        ids = [p["person_id"][0] for p in doc["people"]]
        assert sorted(npz.files) == sorted(f"person_{k}" for k in ids) and ids == sorted(ids)
        for k in ids:
            seen.setdefault(str(k), []).append(i)
    assert seen and {k: v["frames"] for k, v in tracks.items()} == seen
    assert all(
        v["first_frame"] == v["frames"][0] and v["num_frames"] == len(v["frames"]) for v in tracks.values()
    )


@pytest.mark.slow
def test_frame_range_names_files_by_video_frame(tmp_path, tiny_model, weights_dir, clip):
    det = weights_dir / "rtmdet-nano_person_end2end.onnx"
    out = tmp_path / "out"
    proc = predict(
        clip, "--pose", tiny_model.onnx, "--det", det, "--out", out, "--start", "1", "--stride", "2"
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (out / clip.stem).iterdir()) == [
        "000001.json",
        "000001.npz",
        "000003.json",
        "000003.npz",
    ]
    frames, out_fps, _ = _video_info(out / f"{clip.stem}_pose.mp4")
    assert frames == 2 and out_fps == pytest.approx(_video_info(clip)[1] / 2)


@pytest.mark.slow
def test_video_options_misused_are_one_error_line(tmp_path, peaks_onnx, weights_dir, photos, clip):
    det = weights_dir / "rtmdet-nano_person_end2end.onnx"
    on_image = predict(photos[0], "--pose", peaks_onnx.path, "--det", det, "--out", tmp_path, "--track")
    assert_one_error_line(on_image, "--track", "for videos and webcams only")
    backwards = predict(
        clip, "--pose", peaks_onnx.path, "--det", det, "--out", tmp_path, "--start", "3", "--end", "2"
    )
    assert_one_error_line(backwards, "--end 2 must be after --start 3")
    beyond = predict(clip, "--pose", peaks_onnx.path, "--det", det, "--out", tmp_path, "--start", "100")
    assert_one_error_line(beyond, "the video ends before --start 100")


def test_track_ids_name_the_npz_entries_and_the_json_people():
    kpts = np.random.default_rng(0).uniform(10, 90, (2, 133, 2)).astype(np.float32)
    scores = np.full((2, 133), 0.9, np.float32)
    data = np.load(io.BytesIO(cog_npz_bytes(kpts, scores, (100, 100), 0.3, ids=[7, 2])), allow_pickle=True)
    assert sorted(data.files) == ["person_2", "person_7"]
    np.testing.assert_allclose(data["person_7"].item()["face"][0], kpts[0, 23] / 100, rtol=1e-6)
    assert [p["person_id"] for p in openpose_json(kpts, scores, [7, 2])["people"]] == [[7], [2]]
    assert "person_id" not in openpose_json(kpts, scores)["people"][0]
    with pytest.raises(ValueError, match="one distinct id per person"):
        cog_npz_bytes(kpts, scores, (100, 100), 0.3, ids=[1, 1])


def test_id_labels_are_drawn_above_each_person():
    image = np.zeros((200, 300, 3), np.uint8)
    kpts = np.zeros((2, 133, 2), np.float32)
    kpts[0, :, 0], kpts[0, :, 1] = np.linspace(20, 80, 133), np.linspace(60, 180, 133)
    kpts[1, :, 0], kpts[1, :, 1] = np.linspace(180, 280, 133), np.linspace(60, 180, 133)
    scores = np.full((2, 133), 0.9, np.float32)
    draw_track_ids(image, kpts, scores, np.array([4, 12]))
    ys, xs = np.nonzero(image.any(axis=-1))
    assert ys.max() < 60 and ys.min() > 30  # just above the people
    left, right = xs[xs < 150], xs[xs >= 150]
    assert left.min() >= 20 and right.min() >= 180  # one label over each
    assert id_color(4) != id_color(12)
