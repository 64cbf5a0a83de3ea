"""One upload through the page's service: the files ``dwpose predict`` writes, the table, bad uploads."""

from __future__ import annotations

import json
import os
import shutil
import time
import zipfile

import cv2
import numpy as np
import pytest

from dwpose.app.service import (
    IMAGE_HEADERS,
    VIDEO_HEADERS,
    Settings,
    TrackTable,
    WorkArea,
    analyse,
    part_means,
    user_message,
)
from dwpose.inference.detectors import load_detector
from dwpose.inference.pipeline import PoseResult, TopDownPipeline
from dwpose.inference.pose_models import load_pose_model
from dwpose.inference.predict_io import PredictOptions, predict_image, predict_video
from dwpose.inference.video import FramePoses, VideoOptions
from tests.inference.test_sources_draw import _png_header_only

PEAK_SCORE = 0.8  # the test models' SimCC maxima are 0.9 (x) and 0.8 (y); a keypoint scores the smaller


@pytest.fixture(scope="module")
def pipeline(app_models, detector) -> TopDownPipeline:
    return TopDownPipeline(load_pose_model([app_models.a]), load_detector([detector]))


@pytest.fixture()
def photo(tmp_path, photos):
    """The 4-person photo, copied where an upload would be."""
    upload = tmp_path / "upload" / "people.jpg"
    upload.parent.mkdir()
    shutil.copy(photos[3], upload)
    return upload


def test_a_picture_gets_exactly_the_files_dwpose_predict_writes(pipeline, photo, tmp_path):
    result = analyse(pipeline, photo, tmp_path / "app", Settings())
    reference = predict_image(pipeline, photo, PredictOptions(tmp_path / "predict"))

    assert [p.name for p in result.downloads] == ["people.npz", "people.json", "people.png"]
    for made in result.downloads:
        assert made.read_bytes() == (tmp_path / "predict" / made.name).read_bytes(), made.name
    assert result.kind == "image" and result.picture == result.downloads[2]
    assert result.summary == f"{len(reference)} person(s) in people.jpg" and len(reference) >= 2
    assert result.headers == IMAGE_HEADERS
    for i, row in enumerate(result.rows):
        box = reference.boxes[i]
        assert row[:3] == [
            i,
            ", ".join(str(round(float(v))) for v in box),
            round(float(reference.box_scores[i]), 3),
        ]
        assert row[3:] == [PEAK_SCORE] * 5


def test_canvas_changes_only_the_drawing_and_parts_every_output(pipeline, photo, tmp_path):
    everything = ("body", "feet", "face", "hands")
    plain = analyse(pipeline, photo, tmp_path / "none", Settings(parts=()))
    over = analyse(pipeline, photo, tmp_path / "over", Settings(parts=everything))
    black = analyse(pipeline, photo, tmp_path / "black", Settings(canvas="black", parts=everything))
    feet = analyse(pipeline, photo, tmp_path / "feet", Settings(canvas="black", parts=("feet",)))
    photo_pixels = cv2.imread(str(photo))
    assert np.array_equal(cv2.imread(str(plain.picture)), photo_pixels)  # nothing drawn
    drawing = cv2.imread(str(feet.picture))
    assert drawing.any() and np.mean(drawing == 0) > 0.95  # a few feet on black
    for i in (0, 1):  # npz, json: the canvas changes nothing
        assert over.downloads[i].read_bytes() == black.downloads[i].read_bytes()
    people = json.loads(feet.downloads[1].read_text())["people"]
    assert people and all(p["foot_keypoints_2d"] and not p["pose_keypoints_2d"] for p in people)
    assert all(not p["face_keypoints_2d"] for p in json.loads(plain.downloads[1].read_text())["people"])


def _truncated_jpeg(path, photos):
    path.write_bytes(photos[0].read_bytes()[:5000])


@pytest.mark.parametrize(
    "name, make, fragments",
    [
        (
            "notes.jpg",
            lambda p, _: p.write_text("not a picture"),
            ("cannot decode image notes.jpg", "not an image"),
        ),
        ("cut.jpg", _truncated_jpeg, ("cannot decode image cut.jpg", "corrupt")),
        (
            "huge.png",
            lambda p, _: _png_header_only(p, 12000, 12000),
            ("huge.png is 12000x12000", "100 megapixel"),
        ),
        (
            "empty.mp4",
            lambda p, _: p.write_bytes(b""),
            ("video empty.mp4 is empty (0 bytes)",),
        ),
        ("notes.txt", lambda p, _: p.write_text("hello"), ("cannot decode image notes.txt",)),
    ],
)
def test_bad_uploads_give_one_readable_line_naming_the_file(
    pipeline, tmp_path, photos, name, make, fragments
):
    upload = tmp_path / "gradio-cache-1234" / name
    upload.parent.mkdir()
    make(upload, photos)
    with pytest.raises((ValueError, FileNotFoundError)) as info:
        analyse(pipeline, upload, tmp_path / "out", Settings())
    message = user_message(info.value)
    assert message is not None and "gradio-cache-1234" not in message, message
    for fragment in fragments:
        assert fragment in message


def test_a_bug_is_not_taken_for_a_user_mistake():
    assert user_message(KeyError("boxes")) is None


@pytest.fixture()
def clip(tmp_path, photos):
    frame = cv2.resize(cv2.imread(str(photos[3])), (320, 212))
    path = tmp_path / "upload" / "clip.mp4"
    path.parent.mkdir(exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 212))
    for _ in range(6):
        writer.write(frame)
    writer.release()
    return path


def test_a_video_gets_predicts_files_zipped_a_webm_preview_and_one_row_per_track(pipeline, clip, tmp_path):
    reported = []
    result = analyse(
        pipeline, clip, tmp_path / "app", Settings(track=True), lambda f, what: reported.append(f)
    )
    opts = PredictOptions(tmp_path / "predict", video=VideoOptions(track=True))
    predict_video(pipeline, clip, opts)

    assert result.kind == "video" and result.headers == VIDEO_HEADERS
    assert [p.name for p in result.downloads] == ["clip_npz.zip", "clip_json.zip", "clip_pose.mp4"]
    with zipfile.ZipFile(result.downloads[0]) as zf:
        assert sorted(zf.namelist()) == [f"{i:06d}.npz" for i in range(6)] + ["tracks.json"]
        assert zf.read("000003.npz") == (tmp_path / "predict" / "clip" / "000003.npz").read_bytes()
    with zipfile.ZipFile(result.downloads[1]) as zf:
        assert sorted(zf.namelist()) == [f"{i:06d}.json" for i in range(6)] + ["tracks.json"]
        assert zf.read("000005.json") == (tmp_path / "predict" / "clip" / "000005.json").read_bytes()
    cap = cv2.VideoCapture(str(result.picture))
    frames = [cap.read()[1] for _ in range(6)]
    cap.release()
    assert result.picture.suffix == ".webm" and all(
        f is not None and f.shape == (212, 320, 3) for f in frames
    )
    seen = {}  # track ID -> frames it is in, from predict's own per-frame JSON
    for f in sorted((tmp_path / "predict" / "clip").glob("0*.json")):
        for person in json.loads(f.read_text())["people"]:
            seen[person["person_id"][0]] = seen.get(person["person_id"][0], 0) + 1
    assert [row[:2] for row in result.rows] == sorted([k, n] for k, n in seen.items()) and len(seen) >= 2
    assert reported == pytest.approx([(i + 1) / 6 for i in range(6)])
    assert result.summary.startswith(f"6 frame(s) of clip.mp4, {len(result.rows)} person ID(s) (track IDs)")


def test_a_long_video_stops_at_max_frames_and_says_so(pipeline, clip, tmp_path):
    result = analyse(pipeline, clip, tmp_path / "app", Settings(max_frames=4, track=False))
    assert "stopped after 4 frames" in result.summary and "tracking off" in result.summary
    assert all(row[1] == 4 for row in result.rows)


def test_track_table_means_per_id():
    table = TrackTable()
    scores = np.zeros((2, 133), np.float32)
    scores[0, :17] = 1.0  # person 7: body only
    scores[1, 91:112] = 0.5  # person 3: left hand only
    boxes = np.array([[0, 0, 10, 20], [5, 5, 15, 25]], np.float32)
    result = PoseResult(boxes, np.ones(2), np.zeros((2, 133, 2)), scores, (100, 100))
    table(FramePoses(0, result, np.array([7, 3])), 2)
    table(
        FramePoses(
            1,
            PoseResult(boxes[:1] + 1, np.ones(1), np.zeros((1, 133, 2)), scores[:1] * 0, (100, 100)),
            np.array([7]),
        ),
        2,
    )
    assert table.rows() == [
        [3, 1, "5, 5, 15, 25", 0.0, 0.0, 0.0, 0.5, 0.0],
        [7, 2, "1, 1, 11, 21", 0.5, 0.0, 0.0, 0.0, 0.0],
    ]
    assert part_means(np.arange(133, dtype=np.float32)) == [8.0, 19.5, 56.5, 101.0, 122.0]


def test_work_area_gives_fresh_folders_and_drops_old_ones(tmp_path):
    work = WorkArea(tmp_path / "work", max_age_s=60)
    old = work.new()
    (old / "x.png").write_bytes(b"x")
    past = time.time() - 120
    os.utime(old, (past, past))
    fresh = work.new()
    assert fresh.is_dir() and not any(fresh.iterdir()) and not old.exists()
    work.close()
    assert not (tmp_path / "work").exists()
