"""``dwpose predict`` end to end, in subprocesses: outputs of an image, a folder and a video; bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.inference.fakes import assert_cog_people, still_clip
from tests.inference.test_sources_draw import _png_header_only

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def predict(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m dwpose.cli predict ARGS`` in the repository root."""
    cmd = [sys.executable, "-m", "dwpose.cli", "predict", *map(str, args)]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)


def assert_one_error_line(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("dwpose: error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def yolox(weights_dir) -> Path:
    return weights_dir / "yolox-nano_coco80.onnx"


def test_image_gives_npz_json_and_overlay(tmp_path, peaks_onnx, yolox, photos):
    photo = photos[-1]  # 000000197388.jpg: five skiers
    proc = predict(photo, "--pose", peaks_onnx.path, "--det", yolox, "--out", tmp_path, "--threshold", "0.5")
    assert proc.returncode == 0, proc.stderr
    stem = photo.stem
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{stem}.json", f"{stem}.npz", f"{stem}.png"]
    data = np.load(tmp_path / f"{stem}.npz", allow_pickle=True)
    doc = json.loads((tmp_path / f"{stem}.json").read_text())
    assert len(data.files) == len(doc["people"]) >= 3
    assert_cog_people(data)
    assert doc["people"][0]["pose_keypoints_2d"][2] == pytest.approx(0.8)  # real scores, pixels
    picture, original = cv2.imread(str(tmp_path / f"{stem}.png")), cv2.imread(str(photo))
    assert picture.shape == original.shape
    assert 0.3 < np.all(picture == original, axis=-1).mean() < 1.0  # an overlay, not a black canvas


def test_black_canvas_option(tmp_path, peaks_onnx, yolox, photos):
    proc = predict(
        photos[0], "--pose", peaks_onnx.path, "--det", yolox, "--out", tmp_path, "--canvas", "black"
    )
    assert proc.returncode == 0, proc.stderr
    picture = cv2.imread(str(tmp_path / f"{photos[0].stem}.png"))
    assert (picture.max(axis=-1) == 0).mean() > 0.5


def test_folder_skips_a_corrupt_file_and_writes_coco_results(tmp_path, peaks_onnx, yolox, photos):
    folder = tmp_path / "in"
    folder.mkdir()
    for p in photos[:2]:
        shutil.copy(p, folder / p.name)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    out = tmp_path / "out"
    proc = predict(folder, "--pose", peaks_onnx.path, "--det", yolox, "--out", out)
    assert proc.returncode == 3, proc.stderr  # finished, some inputs skipped
    assert "skipped broken.jpg: cannot decode image" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "dwpose predict: 1 of 3 inputs skipped: broken.jpg"
    ids = json.loads((out / "image_ids.json").read_text())
    assert ids == {**{p.name: int(p.stem) for p in photos[:2]}, "broken.jpg": int(photos[1].stem) + 1}
    results = json.loads((out / "results_coco_wholebody.json").read_text())
    assert results and {r["image_id"] for r in results} <= {ids[p.name] for p in photos[:2]}
    assert all(len(r["keypoints"]) == 399 and r["category_id"] == 1 and 0 < r["score"] <= 1 for r in results)
    assert (out / f"{photos[0].stem}.npz").is_file() and not (out / "broken.npz").exists()


def test_folder_with_user_boxes(tmp_path, peaks_onnx, coco_mini, photos):
    proc = predict(
        coco_mini / "images",
        "--pose",
        peaks_onnx.path,
        "--boxes",
        coco_mini / "person_detections.json",
        "--out",
        tmp_path,
        "--det-threshold",
        "0.9",
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "results_coco_wholebody.json").read_text())
    dets = json.loads((coco_mini / "person_detections.json").read_text())
    assert len(results) == sum(d["score"] > 0.9 for d in dets)
    assert {r["image_id"] for r in results} <= {int(p.stem) for p in photos}


def test_video_gives_annotated_video_and_per_frame_files(tmp_path, peaks_onnx, yolox, photos):
    video = still_clip(tmp_path / "clip.mp4", photos[0], 5)
    out = tmp_path / "out"
    proc = predict(video, "--pose", peaks_onnx.path, "--det", yolox, "--out", out, "--batch-frames", "2")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (out / "clip").glob("*.npz")) == [f"{i:06d}.npz" for i in range(5)]
    assert len(list((out / "clip").glob("*.json"))) == 5
    cap = cv2.VideoCapture(str(out / "clip_pose.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 5 and cap.read()[1].shape == (212, 320, 3)
    cap.release()
    assert not list(out.glob(".*partial*"))


def _corrupt_image(tmp: Path) -> Path:
    (tmp / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return tmp / "bad.png"


def _huge_image(tmp: Path) -> Path:
    _png_header_only(tmp / "huge.png", 12000, 12000)
    return tmp / "huge.png"


def _empty_folder(tmp: Path) -> Path:
    (tmp / "empty").mkdir()
    return tmp / "empty"


def _bad_video(tmp: Path) -> Path:
    (tmp / "bad.mp4").write_text("this is not a video")
    return tmp / "bad.mp4"


@pytest.mark.parametrize(
    "make_input, fragments",
    [
        (_corrupt_image, ("cannot decode image", "bad.png")),
        (_huge_image, ("144 megapixels", "over the 100 megapixel limit")),
        (_empty_folder, ("no images in folder",)),
        (_bad_video, ("cannot open video", "bad.mp4")),
    ],
)
def test_bad_input_is_one_error_line(tmp_path, peaks_onnx, yolox, make_input, fragments):
    proc = predict(make_input(tmp_path), "--pose", peaks_onnx.path, "--det", yolox, "--out", tmp_path / "o")
    assert_one_error_line(proc, *fragments)


def test_bad_models_are_one_error_line(tmp_path, peaks_onnx, yolox, photos):
    missing = predict(photos[0], "--pose", tmp_path / "nope.onnx", "--det", yolox, "--out", tmp_path)
    assert_one_error_line(missing, "pose model", "nope.onnx", "does not exist")
    not_pose = predict(photos[0], "--pose", yolox, "--det", yolox, "--out", tmp_path)
    assert_one_error_line(not_pose, "is not a pose model")
    not_det = predict(photos[0], "--pose", peaks_onnx.path, "--det", peaks_onnx.path, "--out", tmp_path)
    assert_one_error_line(not_det, "unrecognised detector outputs")
    no_det = predict(photos[0], "--pose", peaks_onnx.path, "--out", tmp_path)
    assert_one_error_line(no_det, "--det DETECTOR", "--boxes")


NO_TORCH_SCRIPT = """
import sys
from dwpose.cli import main
rc = main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'mm')))
print('HEAVY=' + ','.join(heavy))
sys.exit(rc)
"""


def test_onnx_only_prediction_imports_neither_torch_nor_mm(tmp_path, peaks_onnx, yolox, photos):
    cmd = [
        sys.executable,
        "-c",
        NO_TORCH_SCRIPT,
        "predict",
        photos[1],
        "--pose",
        peaks_onnx.path,
        "--det",
        yolox,
        "--out",
        tmp_path,
    ]
    proc = subprocess.run(list(map(str, cmd)), cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY=\n" in proc.stdout, proc.stdout
    assert (tmp_path / f"{photos[1].stem}.npz").is_file()


def test_parts_option_draws_only_those_parts(tmp_path, peaks_onnx, yolox, photos):
    args = (photos[3], "--pose", peaks_onnx.path, "--det", yolox, "--out", tmp_path, "--canvas", "black")
    proc = predict(*args, "--parts", "feet")
    assert proc.returncode == 0, proc.stderr
    drawn = np.any(cv2.imread(str(tmp_path / f"{photos[3].stem}.png")) > 0, axis=-1)
    feet_only = json.loads((tmp_path / f"{photos[3].stem}.json").read_text())["people"]
    assert feet_only and all(p["foot_keypoints_2d"] and not p["pose_keypoints_2d"] for p in feet_only)
    with_body = predict(*args[:-4], "--out", tmp_path / "body", "--parts", "body,feet")  # for the ankles
    assert with_body.returncode == 0, with_body.stderr
    people = json.loads((tmp_path / "body" / f"{photos[3].stem}.json").read_text())["people"]
    near_feet = np.zeros_like(drawn)
    for person in people:  # the box of its feet and ankles (OpenPose-18 slots 10, 13): lines stay inside
        ankles = np.reshape(person["pose_keypoints_2d"], (-1, 3))[[10, 13]]
        points = np.concatenate([np.reshape(person["foot_keypoints_2d"], (-1, 3)), ankles])
        points = points[points[:, 2] > 0.3, :2]
        if len(points):
            (x1, y1), (x2, y2) = points.min(0).astype(int) - 6, points.max(0).astype(int) + 6
            near_feet[max(0, y1) : y2 + 1, max(0, x1) : x2 + 1] = True
    assert drawn.any() and not (drawn & ~near_feet).any()
    bad = predict(*args, "--parts", "body,tail")
    assert bad.returncode == 2 and "unknown part(s) to draw: tail" in bad.stderr
