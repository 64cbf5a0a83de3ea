"""One option assembly and one output packaging for the three front ends (``dwpose predict``, the Cog
predictor, ``dwpose app``): equivalent inputs give equal :class:`VideoOptions`, each front end words its
refusals in its own names, and every front end writes the bytes of :func:`result_files`."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import pathlib
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from dwpose.app import service
from dwpose.errors import UserError
from dwpose.inference import cli
from dwpose.inference.draw import draw_poses
from dwpose.inference.options import FrontEnd
from dwpose.inference.pipeline import PoseResult
from dwpose.inference.predict_io import PredictOptions, result_files, write_results
from dwpose.inference.tracking import TrackerConfig
from dwpose.inference.video import VideoOptions, VideoPoseEstimator
from tests.inference.test_video_robustness import noise_frames, write_video


class Captured(Exception):
    """Raised by a stand-in for the work after option assembly: carries what the front end built."""


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> pathlib.Path:
    return write_video(tmp_path_factory.mktemp("clip") / "clip.avi", noise_frames(3), fourcc="MJPG")


def _cli_options(monkeypatch, clip: pathlib.Path, out: pathlib.Path, *flags: str) -> VideoOptions:
    """The VideoOptions ``dwpose predict CLIP FLAGS`` hands to its predicting step."""
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args([str(clip), "--pose", "m.onnx", "--det", "d.onnx", "--out", str(out), *flags])

    def capture(args, kind, source, video, boxes):
        raise Captured(video)

    monkeypatch.setattr(cli, "_predict", capture)
    with pytest.raises(Captured) as got:
        cli.run(args)
    return got.value.args[0]


def _cog_options(monkeypatch, **inputs) -> VideoOptions:
    """The VideoOptions the Cog predictor's ``predict(video=..., **inputs)`` hands to its video run."""
    pytest.importorskip("cog")
    import predict

    monkeypatch.setattr(predict, "uploaded_video", pathlib.Path)
    predictor = predict.Predictor.__new__(predict.Predictor)
    predictor.inference = ThreadPoolExecutor(max_workers=1)

    def capture(clip, threshold, video, drawing):
        raise Captured(video)

    predictor._run_video = capture
    with pytest.raises(Captured) as got:
        asyncio.run(predictor.predict(video="upload.mp4", **inputs))
    predictor.inference.shutdown()
    return got.value.args[0]


def _app_options(monkeypatch, clip: pathlib.Path, out: pathlib.Path, settings) -> VideoOptions:
    """The VideoOptions ``dwpose app`` hands to predict_video for an uploaded video."""

    def capture(pipeline, upload, opts, on_frame=None):
        raise Captured(opts.video)

    monkeypatch.setattr(service, "predict_video", capture)
    with pytest.raises(Captured) as got:
        service.analyse(None, clip, out, settings)
    return got.value.args[0]


def test_the_three_front_ends_build_equal_options(monkeypatch, clip, tmp_path):
    tracker = TrackerConfig(keypoint_threshold=0.4)
    expected = VideoOptions(track=True, smooth=True, tracker=tracker, max_frames=7)
    from_cli = _cli_options(monkeypatch, clip, tmp_path / "cli", "--track", "--smooth", "--threshold", "0.4",
                            "--max-frames", "7")  # fmt: skip
    from_cog = _cog_options(monkeypatch, track=True, smooth=True, threshold=0.4, max_frames=7)
    settings = service.Settings(threshold=0.4, track=True, smooth=True, max_frames=7)
    from_app = _app_options(monkeypatch, clip, tmp_path / "app", settings)
    assert from_cli == from_cog == from_app == expected


def test_cli_and_cog_agree_on_the_frame_range_and_the_detector_schedule(monkeypatch, clip, tmp_path):
    ranged = VideoOptions(det_every=3, start=2, end=40, stride=2)
    flags = ("--det-every", "3", "--start", "2", "--end", "40", "--stride", "2")
    assert _cli_options(monkeypatch, clip, tmp_path / "a", *flags) == ranged
    assert _cog_options(monkeypatch, det_every=3, start=2, end=40, stride=2) == ranged
    # JSON 0 is "not set" (automatic schedule, to the end, every frame), as the defaults of the CLI
    plain = _cog_options(monkeypatch, det_every=0, end=0, max_frames=0)
    assert plain == _cli_options(monkeypatch, clip, tmp_path / "b") == VideoOptions()
    assert plain.detect_every == 1 and VideoOptions(track=True).detect_every == 5


@pytest.mark.parametrize(
    ("values", "front", "is_video", "message"),
    [
        ({"track": True, "stride": 2}, FrontEnd(not_a_video="for videos only"), False,
         "--track, --stride: for videos only"),
        ({"start": 3, "end": 2}, FrontEnd(), True, "--end 2 must be after --start 3"),
        ({"start": 3, "end": 2}, FrontEnd(dashes=False), True, "end 2 must be after start 3"),
        ({"det_every": None}, FrontEnd(dashes=False, json_counts=True), True,
         "det_every must be a whole number >= 0, got null"),
        ({"stride": 0.5}, FrontEnd(), True, "--stride must be a whole number >= 1, got 0.5"),
        ({"track_oks": 2.0}, FrontEnd(), True, "--track-oks must be a number between 0 and 1"),
        ({"smooth": "yes"}, FrontEnd(dashes=False), True, 'smooth must be true or false, got "yes"'),
    ],
)  # fmt: skip
def test_refusals_are_user_errors_in_the_front_ends_own_names(values, front, is_video, message):
    with pytest.raises(UserError) as err:
        VideoOptions.from_mapping(values, front, is_video)
    assert str(err.value).startswith(message), str(err.value)


def test_cli_counts_may_be_unset_but_json_counts_must_be_numbers():
    assert VideoOptions.from_mapping({"det_every": None, "end": None, "max_frames": None}) == VideoOptions()
    assert "redetect_lost" not in VideoOptions.__dataclass_fields__  # a benchmark knob, not an option
    assert VideoPoseEstimator(None, VideoOptions(), 30.0, redetect_lost=False).redetect_lost is False


def _result(n: int = 2, k: int = 133) -> PoseResult:
    rng = np.random.default_rng(1)
    return PoseResult(np.float32([[4, 6, 60, 90]] * n), np.ones(n, np.float32),
                      rng.uniform(5, 60, (n, k, 2)).astype(np.float32),
                      rng.uniform(0.0, 1.0, (n, k)).astype(np.float32), (64, 96))  # fmt: skip


def test_result_files_are_the_npz_json_and_png_of_the_poses(tmp_path):
    image = np.full((96, 64, 3), 80, np.uint8)
    result, opts = _result(), PredictOptions(tmp_path, threshold=0.3)
    files = result_files(tmp_path, "a", image, result, opts, ids=np.array([7, 3]))
    assert list(files) == [tmp_path / "a.npz", tmp_path / "a.json", tmp_path / "a.png"]
    npz = np.load(io.BytesIO(files[tmp_path / "a.npz"]), allow_pickle=True)
    assert sorted(npz.files) == ["person_3", "person_7"]
    face = npz["person_7"].item()["face"]  # face = keypoints 23..90, divided by (width, height)
    kept = result.scores[0, 23:91] >= 0.3
    np.testing.assert_allclose(face[kept], result.keypoints[0, 23:91][kept] / [64, 96], rtol=1e-6)
    assert (face[~kept] == -1).all()
    people = json.loads(files[tmp_path / "a.json"])["people"]
    assert [p["person_id"] for p in people] == [[7], [3]]
    png = cv2.imdecode(np.frombuffer(files[tmp_path / "a.png"], np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(png, draw_poses(image, result.keypoints, result.scores, 0.3))
    assert list(result_files(tmp_path, "a", image, result, opts, openpose=False, picture=False)) == [
        tmp_path / "a.npz"
    ]
    other = result_files(tmp_path, "b", image, _result(k=17), opts, picture=False)
    assert list(other) == [tmp_path / "b.npz"]  # another keypoint set: plain arrays, no OpenPose JSON
    assert np.load(io.BytesIO(other[tmp_path / "b.npz"]))["keypoints"].shape == (2, 17, 2)


def test_cog_and_cli_write_the_same_bytes_for_one_photo(tmp_path, photos, monkeypatch):
    pytest.importorskip("cog")
    import predict
    from dwpose.inference.cog_io import OutputFolders
    from dwpose.inference.controlnet_draw import ControlNetStyle

    photo = photos[0]
    image = cv2.imread(str(photo))
    height, width = image.shape[:2]
    rng = np.random.default_rng(2)
    result = PoseResult(np.float32([[0, 0, width, height]]), np.ones(1, np.float32),
                        rng.uniform(0, min(width, height), (1, 133, 2)).astype(np.float32),
                        rng.uniform(0, 1, (1, 133)).astype(np.float32), (width, height))  # fmt: skip
    predictor = predict.Predictor.__new__(predict.Predictor)
    predictor.pipeline = lambda picture: result
    predictor.outputs = OutputFolders()
    npz, png = predictor._run(photo, 0.3, ("black", ControlNetStyle(detect_resolution=0)))
    write_results(tmp_path, "cli", image, result, PredictOptions(tmp_path, canvas="black",
                                                                 style=ControlNetStyle(detect_resolution=0)))
    assert pathlib.Path(npz).read_bytes() == (tmp_path / "cli.npz").read_bytes()
    assert pathlib.Path(png).read_bytes() == (tmp_path / "cli.png").read_bytes()
