"""Videos as they come: variable frame rate, nobody in the picture, a person who leaves and comes back, a
file cut short, a file with no frames, a phone video stored sideways. The videos are made here (OpenCV,
from the real PoseTrack18 clip where people matter; MP4 boxes edited by tests/inference/mp4_edit.py)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from dwpose.inference.pipeline import PoseResult
from dwpose.inference.predict_io import PredictOptions, predict_video
from dwpose.inference.smoothing import TrackSmoother
from dwpose.inference.sources import VideoFrames, open_video, truncation_slack, video_rotation
from dwpose.inference.tracking import TrackerConfig
from dwpose.inference.video import VideoOptions, VideoPoseEstimator
from tests.inference.mp4_edit import frame_durations, set_frame_durations, set_rotation
from tests.inference.test_cli import assert_one_error_line, predict
from tests.inference.test_video_track import FRAME, ScriptedPipeline, walkers  # noqa: F401 (fixture)

SIZE = (320, 180)  # frames of the real clip at a quarter of their size: the detector still finds people


def write_video(path: Path, frames, fps: float = 10.0, fourcc: str = "mp4v") -> Path:
    h, w = frames[0].shape[:2] if len(frames) else (48, 64)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def plain_frames(n: int, size=(64, 48)) -> list:
    return [np.full((size[1], size[0], 3), 10 * i, np.uint8) for i in range(n)]


def noise_frames(n: int, size=(160, 120)) -> list:
    """Frames that compress badly: the file is mostly frame data, so cutting it in half cuts frames."""
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (size[1], size[0], 3), np.uint8) for _ in range(n)]


@pytest.fixture(scope="module")
def clip_frames(shared_dir) -> list:
    """The real clip's frames (5), at :data:`SIZE`."""
    from tests.conftest import require_shared

    clip = require_shared(shared_dir / "data/video-mini/posetrack18_000001_mpiinew_test.mp4", "clip", "file")
    cap, frames = cv2.VideoCapture(str(clip)), []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(frame, SIZE, interpolation=cv2.INTER_AREA))
    cap.release()
    assert len(frames) == 5
    return frames


@pytest.fixture(scope="module")
def detector(weights_dir) -> Path:
    return weights_dir / "rtmdet-nano_person_end2end.onnx"


def read_all(path: Path, **kw):
    cap = open_video(path)
    reader = VideoFrames(cap, cap.get(cv2.CAP_PROP_FPS), **kw)
    frames = list(reader)
    cap.release()
    return reader, frames


# ---- variable frame rate -------------------------------------------------------------------------------


def test_variable_frame_rate_times_come_from_the_container(tmp_path):
    path = write_video(tmp_path / "vfr.mp4", plain_frames(10))
    durations = [512] * 4 + [2048] * 2 + [1024] * 4  # 10240 units per second (OpenCV's mp4v at 10 fps)
    assert sum(frame_durations(path)) == sum(durations)
    set_frame_durations(path, durations)
    _, frames = read_all(path)
    want = np.concatenate([[0], np.cumsum(durations)[:-1]]) / 10240
    np.testing.assert_allclose([t for _, _, t in frames], want, atol=1e-6)
    _, strided = read_all(path, start=1, stride=3)  # skipped frames are grabbed: times still right
    assert [i for i, _, _ in strided] == [1, 4, 7]
    np.testing.assert_allclose([t for _, _, t in strided], want[[1, 4, 7]], atol=1e-6)


class NoTimestamps:
    """A capture that gives frames but no timestamps (POS_MSEC 0), as some webcams and raw streams do."""

    def __init__(self, n: int) -> None:
        self.left = n

    def get(self, prop):
        return {cv2.CAP_PROP_FRAME_COUNT: -1.0, cv2.CAP_PROP_POS_MSEC: 0.0}.get(prop, 0.0)

    def read(self):
        self.left -= 1
        return (True, FRAME) if self.left >= 0 else (False, None)

    grab = read


def test_without_timestamps_time_is_frames_over_fps():
    reader = VideoFrames(NoTimestamps(6), 25.0, start=1, stride=2)
    times = [(i, t) for i, _, t in reader]
    assert times == [(1, pytest.approx(1 / 25)), (3, pytest.approx(3 / 25)), (5, pytest.approx(5 / 25))]
    assert reader.stopped_at is None  # no declared length: running out is the end, not a truncation


class StillPerson:
    """One person standing still except for a step of ``step`` pixels at frame 3."""

    detector = object()

    def __init__(self, step: float) -> None:
        rng = np.random.default_rng(0)
        self.pose = rng.uniform(100, 300, (133, 2)).astype(np.float32)
        self.step, self.t = step, 0

    def predict_batch(self, images, boxes=None):
        k = self.pose + (self.step if self.t >= 3 else 0.0)
        box = np.array([[k[:, 0].min(), k[:, 1].min(), k[:, 0].max(), k[:, 1].max()]], np.float32)
        return [
            PoseResult(box, np.ones(1, np.float32), k[None], np.full((1, 133), 0.9, np.float32), (640, 480))
        ]


def smoothed_after_step(times) -> float:
    """How far (pixels) the smoothed pose is behind a 20 px step at frame 3, given the frame times."""
    pipe = StillPerson(20.0)
    est = VideoPoseEstimator(pipe, VideoOptions(smooth=True, det_every=1), fps=30.0)
    for t in range(4):
        pipe.t = t
        (poses,) = est.process([(t, FRAME, times[t])] if times is not None else [(t, FRAME)])
    return float(np.abs(poses.result.keypoints[0] - (pipe.pose + 20.0)).mean())


def test_smoothing_uses_the_container_times():
    nominal = smoothed_after_step(None)  # 1/30 s between frames
    same = smoothed_after_step([0, 1 / 30, 2 / 30, 3 / 30])
    long_gap = smoothed_after_step([0, 1 / 30, 2 / 30, 1.0])  # the phone dropped to 1 fps for a moment
    assert same == pytest.approx(nominal, abs=1e-4)
    assert nominal > 1.0 and long_gap < 0.25 * nominal  # a long gap lets the filter catch up


def test_predict_video_smooths_on_the_container_times(tmp_path, monkeypatch):
    path = write_video(tmp_path / "vfr.mp4", plain_frames(10))
    durations = [512] * 4 + [2048] * 2 + [1024] * 4
    set_frame_durations(path, durations)
    seen = []
    smooth = TrackSmoother.smooth

    def spy(self, frame, ids, keypoints, scores, time=None):
        seen.append(time)
        return smooth(self, frame, ids, keypoints, scores, time)

    monkeypatch.setattr(TrackSmoother, "smooth", spy)
    opts = PredictOptions(tmp_path / "out", video=VideoOptions(smooth=True, det_every=2))
    assert predict_video(StillPerson(0.0), path, opts) == 10
    want = np.concatenate([[0], np.cumsum(durations)[:-1]]) / 10240
    np.testing.assert_allclose(seen, want, atol=1e-6)


# ---- nobody, leaving and re-entering -------------------------------------------------------------------


@pytest.mark.slow
def test_a_clip_with_no_person(tmp_path, peaks_onnx, detector):
    video = write_video(tmp_path / "empty_room.mp4", plain_frames(6, (320, 240)))
    out = tmp_path / "out"
    proc = predict(video, "--pose", peaks_onnx.path, "--det", detector, "--out", out, "--track", "--smooth")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "empty_room" / "tracks.json").read_text()) == {}
    for i in range(6):
        assert np.load(out / "empty_room" / f"{i:06d}.npz", allow_pickle=True).files == []
        assert json.loads((out / "empty_room" / f"{i:06d}.json").read_text())["people"] == []
    cap = cv2.VideoCapture(str(out / "empty_room_pose.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    cap.release()


@pytest.mark.parametrize(("away", "same_id"), [(range(10, 16), True), (range(10, 24), False)])
def test_a_person_who_leaves_and_comes_back(walkers, away, same_id):  # noqa: F811
    """Person 0 walks out of the picture for 6 frames (within the patience of 10: the ID is kept) or for
    14 (a new ID); they come back where their walk takes them. Detector every 5th frame."""
    two = {p: walkers[p] for p in (0, 1)}
    pipe = ScriptedPipeline(two, lambda p, t: p != 0 or t not in away)
    est = VideoPoseEstimator(
        pipe, VideoOptions(track=True, det_every=5, tracker=TrackerConfig(patience=10)), 30.0
    )
    ids = {}
    for t in range(30):
        pipe.t = t
        (poses,) = est.process([(t, FRAME)])
        ids[t] = poses.ids.tolist()
    assert ids[9] == [0, 1] and ids[away[0]] == [1]
    back = ids[29]
    assert back == ([0, 1] if same_id else [1, 2])
    summary = est.tracks_summary()
    assert summary["0"]["last_frame"] == (29 if same_id else 9)
    assert summary["1"]["num_frames"] == 30


# ---- files cut short, files with no frames -------------------------------------------------------------


def test_truncated_file_stops_where_it_breaks(tmp_path):
    whole = write_video(tmp_path / "whole.avi", noise_frames(20), fourcc="MJPG")
    data = whole.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    reader, frames = read_all(cut)
    assert reader.declared == 20 and reader.stopped_at == len(frames) and 3 <= len(frames) <= 15
    for kw in ({}, {"end": 12}, {"max_frames": 4}, {"stride": 7}):  # the whole file: no complaint
        assert read_all(whole, **kw)[0].stopped_at is None, kw
    assert read_all(cut, end=2)[0].stopped_at is None  # the damage is after the frames asked for
    assert truncation_slack(20) == 2 and truncation_slack(1000) == 10


@pytest.mark.slow
def test_truncated_video_keeps_the_frames_before_and_says_so(tmp_path, peaks_onnx, detector, clip_frames):
    whole = write_video(tmp_path / "whole.avi", clip_frames * 3, fourcc="MJPG")
    data = whole.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) * 6 // 10])
    out = tmp_path / "out"
    proc = predict(
        cut, "--pose", peaks_onnx.path, "--det", detector, "--out", out, "--track", "--batch-frames", "4"
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 3 and len(lines) == 1, proc.stderr
    kept = sorted(p.name for p in (out / "cut").glob("*.npz"))
    assert 4 <= len(kept) < 15 and kept == [f"{i:06d}.npz" for i in range(len(kept))]
    assert lines[0] == (
        f"dwpose: error: video {cut} is truncated or corrupt: no frame could be read from frame "
        f"{len(kept)} on, of the 15 its header declares; the {len(kept)} frame(s) before it are written "
        f"to {out}"
    )
    cap = cv2.VideoCapture(str(out / "cut_pose.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == len(kept)
    cap.release()
    tracks = json.loads((out / "cut" / "tracks.json").read_text())
    assert tracks and max(v["last_frame"] for v in tracks.values()) == len(kept) - 1
    assert not [p for p in out.rglob("*") if "partial" in p.name or p.name.startswith(".")]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: write_video(d / "none.avi", [], fourcc="MJPG"), "video {} has no frames"),
        (lambda d: write_video(d / "none.mp4", []), "cannot open video {}: OpenCV could not read a frame"),
        (lambda d: (d / "zero.mp4").write_bytes(b"") or d / "zero.mp4", "video {} is empty (0 bytes)"),
    ],
)
def test_files_without_frames_are_named(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(ValueError) as err:
        open_video(path)
    assert str(err.value).startswith(message.format(path)), str(err.value)


@pytest.mark.slow
def test_zero_frame_video_is_one_error_line(tmp_path, peaks_onnx, detector):
    video = write_video(tmp_path / "none.avi", [], fourcc="MJPG")
    proc = predict(video, "--pose", peaks_onnx.path, "--det", detector, "--out", tmp_path / "o")
    assert_one_error_line(proc, f"video {video} has no frames")
    assert not (tmp_path / "o" / "none_pose.mp4").exists()


# ---- phone video stored sideways -----------------------------------------------------------------------


def test_rotation_metadata_turns_frames_upright(tmp_path):
    upright = np.zeros((48, 64, 3), np.uint8)
    upright[:10, :20] = 255  # a mark at the top left
    stored = cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE)  # as a phone held sideways stores it
    path = write_video(tmp_path / "phone.mp4", [stored] * 3)
    set_rotation(path, 90)
    cap = open_video(path)
    assert video_rotation(cap) == 90
    ok, frame = cap.read()
    cap.release()
    assert ok and frame.shape == upright.shape
    assert np.abs(frame.astype(int) - upright).mean() < 8  # mp4v artefacts only


@pytest.mark.slow
def test_rotated_phone_video_gives_upright_outputs(tmp_path, peaks_onnx, detector, clip_frames):
    """A phone video stored sideways with its rotation in the metadata (lossless PNG frames in .mov, as
    an iPhone's container) gives exactly the poses of the same video stored upright."""
    flat = write_video(tmp_path / "flat.mov", clip_frames, fourcc="png ")
    sideways = [cv2.rotate(f, cv2.ROTATE_90_COUNTERCLOCKWISE) for f in clip_frames]
    phone = write_video(tmp_path / "phone.mov", sideways, fourcc="png ")
    set_rotation(phone, 90)
    for video in (flat, phone):
        proc = predict(video, "--pose", peaks_onnx.path, "--det", detector, "--out", tmp_path / "out")
        assert proc.returncode == 0, proc.stderr
    cap = cv2.VideoCapture(str(tmp_path / "out" / "phone_pose.mp4"))
    assert cap.read()[1].shape == (SIZE[1], SIZE[0], 3)  # upright, as the phone shows it
    cap.release()
    for i in range(5):
        a = np.load(tmp_path / "out" / "flat" / f"{i:06d}.npz", allow_pickle=True)
        b = np.load(tmp_path / "out" / "phone" / f"{i:06d}.npz", allow_pickle=True)
        assert len(a.files) >= 2 and sorted(a.files) == sorted(b.files)
        for name in a.files:
            for part, points in a[name].item().items():
                np.testing.assert_allclose(points, b[name].item()[part], atol=1e-5)
