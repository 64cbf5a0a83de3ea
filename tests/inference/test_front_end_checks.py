"""What ``dwpose predict`` and the page refuse before they work, and what a failure leaves behind:
option values (finite, in range, user-facing names), ``--boxes`` (finite values; boxes far outside the
picture fitted, boxes off it skipped), inputs that are FIFOs / devices / sockets, ``--out`` (writable
before any model loads, no empty folder after a failure), a result set written all or none (errors,
Ctrl-C), and a video cut short by as little as two frames of five."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from dwpose.inference import predict_io
from dwpose.inference.boxes import load_boxes
from dwpose.inference.pipeline import PoseResult, clean_boxes
from dwpose.inference.predict_io import PredictOptions, write_results
from dwpose.inference.sources import VideoFrames, open_video
from tests.inference.test_cli import REPO, assert_one_error_line, predict
from tests.inference.test_video_robustness import noise_frames, write_video

ERROR = "dwpose predict: error: "


def _parse(monkeypatch, capsys, *argv: str) -> str:
    """``dwpose predict ARGV`` parsed in this process; returns stderr, which must hold one error line."""
    from dwpose.cli import main

    monkeypatch.setattr(sys, "argv", ["dwpose"])
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", *argv])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert exit_info.value.code == 2 and len(errors) == 1, err
    assert "Traceback" not in err and "invalid" not in errors[0] and "_int" not in errors[0], err
    return errors[0]


BASE = ("photo.jpg", "--pose", "m.onnx", "--det", "d.onnx", "--out", "out")


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--smooth-beta", "nan", "must be a finite number >= 0, got 'nan'"),
        ("--smooth-beta", "inf", "must be a finite number >= 0, got 'inf'"),
        ("--smooth-beta", "-1", "must be a finite number >= 0"),
        ("--smooth-min-cutoff", "inf", "must be a finite number > 0, got 'inf'"),
        ("--smooth-min-cutoff", "nan", "must be a finite number > 0"),
        ("--smooth-min-cutoff", "0", "must be a finite number > 0"),
        ("--threshold", "nan", "must be a number between 0 and 1, got 'nan'"),
        ("--det-threshold", "-inf", "must be a number between 0 and 1"),
        ("--track-oks", "inf", "must be a number between 0 and 1"),
        ("--track-iou", "NaN", "must be a number between 0 and 1"),
        ("--track-patience", "x", "must be a whole number >= 0, got 'x'"),
        ("--batch-frames", "abc", "must be a whole number >= 1, got 'abc'"),
        ("--max-frames", "1e3", "must be a whole number >= 1, got '1e3'"),
        ("--det-every", "0", "must be a whole number >= 1, got '0'"),
        ("--start", "-1", "must be a whole number >= 0"),
        ("--end", str(2**40), "must be a whole number >= 1"),
        ("--stride", "1.5", "must be a whole number >= 1"),
        ("--parts", ",", "give at least one part"),
        ("--parts", "", "give at least one part"),
        ("--parts", " , ", "give at least one part"),
        ("--parts", "body,,face", "empty part name"),
    ],
)
def test_option_values_are_checked_when_parsed(monkeypatch, capsys, option, value, says):
    line = _parse(monkeypatch, capsys, *BASE, f"{option}={value}")
    assert line.startswith(ERROR) and f"argument {option}: " in line and says in line, line


def test_app_port_and_counts_use_the_same_checks(monkeypatch, capsys):
    from dwpose.cli import main

    for option, value, says in (("--port", "abc", "must be a whole number between 1 and 65535, got 'abc'"),
                                ("--port", "0", "between 1 and 65535"),
                                ("--det-threshold", "nan", "between 0 and 1"),
                                ("--max-frames", "x", "whole number >= 1")):  # fmt: skip
        monkeypatch.setattr(sys, "argv", ["dwpose"])
        with pytest.raises(SystemExit):
            main(["app", "--pose", "m.onnx", "--det", "d.onnx", f"{option}={value}"])
        err = capsys.readouterr().err
        (line,) = [ln for ln in err.splitlines() if "error:" in ln]
        assert f"argument {option}: " in line and says in line and "_port" not in line, line


def test_cog_counts_are_bounded_too():
    pytest.importorskip("cog")
    from dwpose.inference.cog_io import check_count

    assert check_count("start", 2**31 - 1, 0) == 2**31 - 1
    for value in (2**31, 1e300):
        with pytest.raises(ValueError, match="start must be a whole number up to 2147483647"):
            check_count("start", value, 0)


def test_the_parsers_themselves():
    from dwpose.inference.options import check_device, parse_count, parse_number

    assert parse_count(" 7 ", 1) == 7 and parse_number("0.25", 0, 1) == 0.25 and parse_number("1", 0, 1) == 1
    for text in ("nan", "inf", "-inf", "1e999", "", "x", True):
        with pytest.raises(ValueError):
            parse_number(text, 0.0)
    assert check_device("cuda:1") == "cuda:1" and check_device("cpu") == "cpu"
    for device in ("cuda:abc", "cuda:", "cuda:-1", "cuda:1:2", "gpu", "CPU", ""):
        with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'"):
            check_device(device)


@pytest.mark.slow
def test_bad_device_is_one_error_line(tmp_path, peaks_onnx, photos):
    proc = predict(photos[0], "--pose", peaks_onnx.path, "--boxes", tmp_path / "b.json", "--out",
                   tmp_path / "o", "--device", "cuda:abc")  # fmt: skip
    assert_one_error_line(proc, "device must be 'cpu' or 'cuda'", "'cuda:abc'")
    assert not (tmp_path / "o").exists()


def test_app_settings_from_an_api_client_are_checked(tmp_path, photos):
    from dwpose.app.service import Settings, analyse

    class NoPipeline:  # the settings are refused before anything runs
        detector = None

    for settings, says in ((Settings(threshold=math.nan), "threshold must be a number between 0 and 1"),
                           (Settings(threshold=math.inf), "threshold must be"),
                           (Settings(threshold="abc"), "threshold must be"),
                           (Settings(threshold=True), "threshold must be"),
                           (Settings(canvas="white"), "canvas must be one of image, black"),
                           (Settings(parts=("tail",)), "unknown part"),
                           (Settings(max_frames=0), "max_frames must be")):  # fmt: skip
        with pytest.raises(ValueError, match=says):
            analyse(NoPipeline(), photos[0], tmp_path / "out", settings)
    assert not (tmp_path / "out").exists()


# ---- --boxes ---------------------------------------------------------------------------------------


def test_boxes_must_hold_finite_numbers(tmp_path):
    cases = {
        "nan.json": ("[[NaN, 0, 10, 10]]", "box #0 [nan, 0, 10, 10] holds a value that is not a finite"),
        "inf.json": ('{"a.jpg": [[0, 0, 10, 10], [0, 0, Infinity, 10]]}', "[a.jpg]: box #1"),
        "huge.json": ("[[0, 0, 1e999, 10, 0.9]]", "not a finite number"),
        "coco.json": ('[{"image_id": 1, "bbox": [1e308, 0, 1e308, 9]}]', "not a finite number"),  # x + w
        "text.json": ('[["a", 0, 1, 1]]', "boxes must be [[x1, y1, x2, y2(, score)], ...] of numbers"),
        "dicts.json": ('{"a.jpg": [{"x": 1}]}', "of numbers"),
        "cocobad.json": ('[{"image_id": "x", "bbox": [0, 0, 1, 1]}]', "entry #0: bbox must be [x, y, w, h]"),
    }
    for name, (text, says) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(ValueError) as info:
            load_boxes(tmp_path / name)
        assert says in str(info.value), (name, str(info.value))


def test_boxes_are_fitted_to_the_picture():
    from dwpose.inference.boxes import fit_boxes

    boxes = np.array([[-1e30, -1e30, 1e30, 1e30, 1], [0, 0, 1e308, 1e308, 0.9], [10, 20, 60, 90, 0.5],
                      [-5, -5, 5, 5, 1], [700, 0, 800, 100, 1], [0, 0, 0.5, 100, 1],
                      [50, 50, 40, 60, 1]])  # fmt: skip
    fitted, dropped = fit_boxes(boxes, 640, 480)
    np.testing.assert_array_equal(
        fitted, np.float32([[-640, -480, 1280, 960, 1], [0, 0, 1280, 960, 0.9], [10, 20, 60, 90, 0.5],
                            [-5, -5, 5, 5, 1]])  # fmt: skip
    )  # a sane box is unchanged, even reaching outside; off the picture, thinner than a pixel, inverted: out
    assert dropped == 3 and fitted.dtype == np.float32
    overflowing = [[0, 0, np.inf, 10], [0, 0, np.nan, 10], [0, 0, 3e38, 10], [-3e38, 0, 3e38, 1]]
    assert len(clean_boxes(np.array(overflowing, np.float32))) == 1  # width inf: dropped


@pytest.mark.slow
def test_extreme_boxes_give_the_poses_of_the_fitted_box(tmp_path, peaks_onnx, photos):
    photo = photos[0]
    h, w = cv2.imread(str(photo)).shape[:2]
    runs = {"extreme": [[-1e30, -1e30, 1e30, 1e30]], "fitted": [[-w, -h, 2 * w, 2 * h]],
            "huge": [[0, 0, 1e308, 1e308, 0.9]], "huge_fitted": [[0, 0, 2 * w, 2 * h, 0.9]]}  # fmt: skip
    people = {}
    for name, boxes in runs.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(boxes))
        out = tmp_path / name
        proc = predict(photo, "--pose", peaks_onnx.path, "--boxes", tmp_path / f"{name}.json", "--out", out)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        assert sorted(p.name for p in out.iterdir()) == [f"{photo.stem}.{e}" for e in ("json", "npz", "png")]
        people[name] = json.loads((out / f"{photo.stem}.json").read_text())["people"]
    assert len(people["extreme"]) == len(people["huge"]) == 1
    assert people["extreme"] == people["fitted"] and people["huge"] == people["huge_fitted"]
    off = tmp_path / "off.json"
    off.write_text(json.dumps([[5000, 5000, 6000, 6000], [10, 10, 100, 100]]))
    proc = predict(photo, "--pose", peaks_onnx.path, "--boxes", off, "--out", tmp_path / "x")
    assert proc.returncode == 0 and "1 person(s)" in proc.stdout, proc.stderr
    assert proc.stderr.strip() == (f"dwpose: note: {photo.name}: 1 box(es) of --boxes skipped: they do not "
                                   f"overlap the {w}x{h} picture by a pixel")  # fmt: skip


@pytest.mark.slow
def test_non_finite_boxes_are_one_error_line_and_no_output(tmp_path, peaks_onnx, photos):
    boxes = tmp_path / "nan.json"
    boxes.write_text("[[NaN, 0, 10, 10]]")
    proc = predict(photos[0], "--pose", peaks_onnx.path, "--boxes", boxes, "--out", tmp_path / "o")
    assert_one_error_line(proc, "not a finite number")
    assert not (tmp_path / "o").exists()


# ---- a result set: all of it or none -----------------------------------------------------------------


def _result(n: int = 2) -> PoseResult:
    rng = np.random.default_rng(0)
    return PoseResult(np.float32([[0, 0, 50, 80]] * n), np.ones(n, np.float32),
                      rng.uniform(0, 60, (n, 133, 2)).astype(np.float32), np.full((n, 133), 0.9, np.float32),
                      (64, 96))  # fmt: skip


@pytest.mark.parametrize("failure", [KeyboardInterrupt, MemoryError, ValueError])
def test_a_failure_while_the_picture_is_made_leaves_none_of_the_set(tmp_path, monkeypatch, failure):
    def broken(*args, **kwargs):
        raise failure("interrupted while drawing")

    monkeypatch.setattr(predict_io, "draw_poses", broken)
    with pytest.raises(failure):
        write_results(tmp_path, "item", np.zeros((96, 64, 3), np.uint8), _result(), PredictOptions(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_a_failure_between_the_renames_leaves_none_of_the_set(tmp_path, monkeypatch):
    real_replace, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 3:  # npz and json are in place, the picture's rename is interrupted
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        write_results(tmp_path, "item", np.zeros((96, 64, 3), np.uint8), _result(), PredictOptions(tmp_path))
    assert len(calls) == 3 and list(tmp_path.iterdir()) == []
    monkeypatch.setattr(os, "replace", real_replace)
    write_results(tmp_path, "item", np.zeros((96, 64, 3), np.uint8), _result(), PredictOptions(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["item.json", "item.npz", "item.png"]


@pytest.mark.slow
def test_ctrl_c_during_a_folder_leaves_whole_sets_only(tmp_path, peaks_onnx, weights_dir, photos):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    count = 1000  # on an idle host 200 tiny-model pictures could all be done before the signal landed
    for i in range(count):
        (folder / f"p{i:04d}.jpg").symlink_to(photos[i % len(photos)])
    cmd = [sys.executable, "-m", "dwpose.cli", "predict", str(folder), "--pose", str(peaks_onnx.path),
           "--det", str(weights_dir / "yolox-nano_coco80.onnx"), "--out", str(out)]  # fmt: skip
    # SIGINT at its default in the child: an earlier test may leave it ignored in this process, and a
    # child started with SIGINT ignored never gets Python's KeyboardInterrupt handler
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not list(out.glob("*.png")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    time.sleep(0.05)  # somewhere inside the next image
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "dwpose: interrupted", err
    stems = {}
    for path in out.iterdir():
        assert not path.name.startswith("."), path.name  # no temporary file left
        stems.setdefault(path.stem, set()).add(path.suffix)
    assert 0 < len(stems) < count and all(s == {".npz", ".json", ".png"} for s in stems.values()), stems


# ---- inputs that are not files, --out ----------------------------------------------------------------


def _special_inputs(folder: Path) -> dict:
    made = {}
    for name in ("clip.mp4", "photo.jpg", "noext"):
        os.mkfifo(folder / name)
        made[name] = (folder / name, "is a FIFO, not a file")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "sock.png"))
    made["sock.png"] = (folder / "sock.png", "is a socket, not a file")
    made["/dev/zero"] = (Path("/dev/zero"), "is a character device, not a file")
    (folder / "link.mp4").symlink_to(folder / "clip.mp4")
    made["link.mp4"] = (folder / "link.mp4", "is a FIFO, not a file")
    return made


@pytest.mark.slow
def test_fifos_devices_and_sockets_are_refused_whatever_their_name(tmp_path, peaks_onnx, photos):
    det = tmp_path / "never-read.onnx"
    for name, (path, says) in _special_inputs(tmp_path).items():
        proc = predict(path, "--pose", peaks_onnx.path, "--det", det, "--out", tmp_path / "o", timeout=30)
        assert_one_error_line(proc, f"input {path} {says}")
        assert not (tmp_path / "o").exists(), name
    fifo = tmp_path / "clip.mp4"
    proc = predict(photos[0], "--pose", peaks_onnx.path, "--boxes", fifo, "--out", tmp_path / "o", timeout=30)
    assert_one_error_line(proc, f"boxes file {fifo} is a FIFO, not a file")
    model = tmp_path / "model.onnx"
    os.mkfifo(model)
    proc = predict(photos[0], "--pose", model, "--det", model, "--out", tmp_path / "o", timeout=30)
    assert_one_error_line(proc, f"pose model {model} is a FIFO, not a file")
    assert not (tmp_path / "o").exists()


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder this user cannot create files in (root passes permission checks: a kernel folder)."""
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir(mode=0o500)
        return folder
    for folder in (Path("/sys/kernel"), Path("/proc/1")):
        try:
            os.close(os.open(folder / ".dwpose-probe", os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
        except OSError:
            return folder
        os.unlink(folder / ".dwpose-probe")
    pytest.skip("no folder here that root cannot write into")


@pytest.mark.slow
def test_out_is_checked_before_any_model_loads(tmp_path, photos):
    missing = tmp_path / "missing.onnx"  # would be named first if the models loaded first
    locked = _unwritable_folder(tmp_path)
    proc = predict(photos[0], "--pose", missing, "--det", missing, "--out", locked)
    assert_one_error_line(proc, f"--out {locked} is not writable")
    proc = predict(photos[0], "--pose", missing, "--det", missing, "--out", locked / "sub")
    assert_one_error_line(proc, f"--out {locked / 'sub'} cannot be made")
    (tmp_path / "file").write_text("x")
    proc = predict(photos[0], "--pose", missing, "--det", missing, "--out", tmp_path / "file" / "sub")
    assert_one_error_line(proc, "a part of the path is a file, not a folder")


@pytest.mark.slow
def test_a_failed_run_leaves_no_empty_out_it_made(tmp_path, peaks_onnx, weights_dir):
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8 not really a jpeg")
    det = weights_dir / "yolox-nano_coco80.onnx"
    proc = predict(corrupt, "--pose", peaks_onnx.path, "--det", det, "--out", tmp_path / "new" / "deeper")
    assert_one_error_line(proc, f"cannot decode image {corrupt}")
    assert not (tmp_path / "new").exists()
    kept = tmp_path / "kept"  # a folder that was there before stays
    kept.mkdir()
    proc = predict(corrupt, "--pose", peaks_onnx.path, "--det", det, "--out", kept / "sub")
    assert proc.returncode == 2 and kept.is_dir() and list(kept.iterdir()) == []


# ---- a video cut short by two frames of five -----------------------------------------------------------


def test_stated_frame_counts_are_exact_and_any_shortfall_counts(tmp_path):
    from dwpose.inference.sources import frame_count_is_exact

    whole = write_video(tmp_path / "whole.avi", noise_frames(5), fourcc="MJPG")
    data = whole.read_bytes()
    cut = tmp_path / "cut.noext"  # the container is told from its bytes, not its name
    cut.write_bytes(data[: len(data) // 2])
    assert frame_count_is_exact(cut) and frame_count_is_exact(whole)
    assert frame_count_is_exact(write_video(tmp_path / "a.mp4", noise_frames(2)))
    assert not frame_count_is_exact(write_video(tmp_path / "a.mkv", noise_frames(2), fourcc="MJPG"))
    cap = open_video(cut)
    reader = VideoFrames(cap, 10.0, exact_count=True)
    frames = list(reader)
    cap.release()
    assert reader.declared == 5 and len(frames) == 3 and reader.stopped_at == 3


@pytest.mark.slow
def test_predict_reports_a_five_frame_video_of_which_three_decode(tmp_path, peaks_onnx, weights_dir):
    whole = write_video(tmp_path / "whole.avi", noise_frames(5), fourcc="MJPG")
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 2])
    out = tmp_path / "out"
    det = weights_dir / "rtmdet-nano_person_end2end.onnx"
    proc = predict(cut, "--pose", peaks_onnx.path, "--det", det, "--out", out)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 3 and len(lines) == 1, proc.stderr
    assert lines[0] == (f"dwpose: error: video {cut} is truncated or corrupt: no frame could be read from "
                        f"frame 3 on, of the 5 its header declares; the 3 frame(s) before it are written to "
                        f"{out}")  # fmt: skip
    assert sorted(p.name for p in (out / "cut").glob("*.npz")) == [f"{i:06d}.npz" for i in range(3)]
    proc = predict(whole, "--pose", peaks_onnx.path, "--det", det, "--out", tmp_path / "whole_out")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
