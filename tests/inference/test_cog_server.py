"""The Cog predictor behind the REAL Cog HTTP server (``python -m cog.server.http``), no Docker.

One server per module (models load once), started with its own ``TMPDIR`` so that the files Cog and
the predictor make can be counted, and with ``COG_MAX_CONCURRENCY=64`` as documented.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator, List, Tuple

import cv2
import numpy as np
import pytest

from tests.inference.fakes import assert_cog_people

ALLOW_PRIVATE_ENV = "DWPOSE_COG_ALLOW_PRIVATE_URLS"  # dwpose.inference.cog_fetch.ALLOW_PRIVATE_ENV

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
SLOTS = 64
# Worker resident memory may grow by at most this much between prediction 20 and prediction 300
# (measured with this test: +1.2 MB, from 222.5 MB, on the 2-core machine; with RTMPose-t, +0.2 MB:
# docs/benchmarks.md, "Cog server concurrency").
RSS_GROWTH_LIMIT_MB = 16


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def _request(url: str, payload: dict, timeout: float = 120) -> Tuple[int, dict]:
    """``(HTTP status, JSON body)`` of a POST, also for 4xx / 5xx answers."""
    req = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def _predict(server: SimpleNamespace, inputs: dict) -> dict:
    status, body = _request(f"{server.base}/predictions", {"input": inputs})
    assert status == 200, (status, body)
    return body


def _data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _decode_data_url(url: str) -> bytes:
    assert url.startswith("data:"), url[:80]
    return base64.b64decode(url.split(",", 1)[1])


def _people(answer: dict) -> List[str]:
    npz_url, _ = answer["output"]
    return sorted(np.load(io.BytesIO(_decode_data_url(npz_url)), allow_pickle=True).files)


def _keypoints(answer: dict) -> dict:
    """``person_i`` -> its body, face and hand points in one ``(K, 2)`` array."""
    data = np.load(io.BytesIO(_decode_data_url(answer["output"][0])), allow_pickle=True)
    people = {name: data[name].item() for name in data.files}
    return {n: np.concatenate([p["body"], p["face"], p["hands"].reshape(-1, 2)]) for n, p in people.items()}


def _wait_ready(base: str, proc: subprocess.Popen, log: Path, limit: float = 90) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"cog server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            health = _get(f"{base}/health-check")
            if health.get("status") == "READY":
                return
            if health.get("status") in ("SETUP_FAILED", "DEFUNCT"):
                pytest.fail(f"cog setup failed: {json.dumps(health)[:3000]}")
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"cog server not ready after {limit} s:\n{log.read_text()[-3000:]}")


def _worker_pid(server_pid: int) -> int:
    """The coglet worker process (``python -c "... _run_worker()"``), a child of the server."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == server_pid and b"_run_worker" in cmdline:
            return int(entry.name)
    raise AssertionError(f"no coglet worker under server process {server_pid}")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def _tree(folder: Path) -> List[str]:
    """Every folder and file under ``folder``, relative."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _path_without(folder: str) -> str:
    """``PATH`` without ``folder`` (this interpreter's ``bin``): the README command must not need it."""
    kept = [p for p in os.environ.get("PATH", os.defpath).split(os.pathsep) if p and Path(p) != Path(folder)]
    return os.pathsep.join(kept)


@contextlib.contextmanager
def _served(root: Path, pose_model: Path, detector: Path, **env: str) -> Iterator[SimpleNamespace]:
    """The README's command (``python -m dwpose.inference.cog_server --host 127.0.0.1``) with its own
    TMPDIR, this interpreter's folder off PATH; stopped (its process group) on the way out."""
    port, log, tmpdir = _free_port(), root / "server.log", root / "tmp"
    tmpdir.mkdir(parents=True)
    inherited = {k: v for k, v in os.environ.items() if k != ALLOW_PRIVATE_ENV}  # the policy is the caller's
    env = dict(inherited, COG_PREDICT_TYPE_STUB="predict.py:Predictor", PORT=str(port),
               COG_MAX_CONCURRENCY=str(SLOTS), TMPDIR=str(tmpdir), DWPOSE_POSE_MODEL=str(pose_model),
               DWPOSE_DET_MODEL=str(detector), PATH=_path_without(os.path.dirname(sys.executable)),
               **env)  # fmt: skip
    command = [sys.executable, "-m", "dwpose.inference.cog_server", "--host", HOST]
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    base = f"http://{HOST}:{port}"
    try:
        _wait_ready(base, proc, log)
        yield SimpleNamespace(base=base, tmpdir=tmpdir, pid=proc.pid, log=log)
    finally:
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            if proc.poll() is None:
                os.killpg(proc.pid, sig)
                try:
                    proc.wait(timeout=wait)
                except subprocess.TimeoutExpired:
                    continue


@pytest.fixture(scope="module")
def cog_server(tmp_path_factory, tiny_model, weights_dir):
    """The server, allowed to fetch URLs on this machine (the tests' HTTP servers are on 127.0.0.1)."""
    pytest.importorskip("cog")
    root = tmp_path_factory.mktemp("cog_server")
    with _served(root, tiny_model.onnx, weights_dir / "rtmdet-nano_person_end2end.onnx",
                 **{ALLOW_PRIVATE_ENV: "1"}) as server:  # fmt: skip
        yield server


@pytest.fixture(scope="module")
def predict_module():
    pytest.importorskip("cog")
    import predict

    return predict


def test_real_cog_server_predicts_and_survives_bad_uploads(cog_server, weights_dir, photos):
    from dwpose.inference.detectors import load_onnx_detector

    photo = photos[-1]
    payload = {"image": _data_url(photo.read_bytes(), "image/jpeg"), "threshold": 0.3}
    first = _predict(cog_server, payload)
    assert first["status"] == "succeeded", first.get("error")
    npz_url, png_url = first["output"]
    data = np.load(io.BytesIO(_decode_data_url(npz_url)), allow_pickle=True)
    image = cv2.imread(str(photo))
    people = load_onnx_detector(weights_dir / "rtmdet-nano_person_end2end.onnx")(image)
    assert len(people) >= 3 and sorted(data.files) == sorted(f"person_{i}" for i in range(len(people)))
    assert_cog_people(data)
    picture = cv2.imdecode(np.frombuffer(_decode_data_url(png_url), np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape == image.shape

    bad = _predict(cog_server, {"image": _data_url(b"hello", "text/plain")})
    assert bad["status"] == "failed" and "cannot decode image: the file is empty" in bad["error"]
    assert str(cog_server.tmpdir) not in bad["error"]  # no server path in the message

    too_high = _predict(cog_server, {**payload, "threshold": 5})
    assert too_high["status"] == "failed"
    assert "threshold must be a number between 0 and 1 (such as 0.3), got 5" in too_high["error"]

    again = _predict(cog_server, payload)
    assert again["status"] == "succeeded" and len(again["output"]) == 2


def _atime_moves_on_read(folder: Path) -> bool:
    """Whether this file system records reads (relatime / strictatime), so atime can prove a non-read."""
    probe = folder / "atime-probe"
    probe.write_bytes(b"x")
    os.utime(probe, ns=(1_000_000_000, 2_000_000_000))  # atime before mtime: the next read must move it
    probe.read_bytes()
    return probe.stat().st_atime_ns != 1_000_000_000


def test_server_paths_file_urls_and_dot_dot_are_refused_alike(cog_server, predict_module, photos, tmp_path):
    planted = tmp_path / "planted.jpg"
    shutil.copyfile(photos[-1], planted)
    os.utime(planted, ns=(1_000_000_000, 2_000_000_000))
    link = cog_server.tmpdir / "tmpplanted.jpg"  # where Cog puts its downloads, and named like them
    link.symlink_to(planted)
    sent = [
        str(planted),
        f"file://{planted}",
        f"file://localhost{planted}",
        os.path.relpath(planted, REPO),  # ../../tmp/... from the server's working folder
        f"{planted.parent}/../{planted.parent.name}/planted.jpg",
        str(link),
        str(cog_server.tmpdir / "tmpnothing.jpg"),  # does not exist: same answer
        "/etc/passwd",
        "DATA:image/jpeg;base64,/9j/",  # Cog materialises only lower-case data: / http(s) URLs
    ]
    try:
        answers = [_predict(cog_server, {"image": image}) for image in sent]
    finally:
        link.unlink()
    errors = {a["error"] for a in answers}
    assert len(errors) == 1, errors  # one message whatever the path, so it reveals nothing
    assert predict_module.REFUSED_IMAGE in errors.pop()
    for image, answer in zip(sent, answers):
        assert answer["status"] == "failed" and answer.get("output") is None, image
        rest = json.dumps({k: v for k, v in answer.items() if k != "input"})
        assert "planted" not in rest and "person_" not in rest and "passwd" not in rest, rest
    if _atime_moves_on_read(tmp_path):
        assert planted.stat().st_atime_ns == 1_000_000_000, "the server read the planted file"
    # the same photo as an upload is read: the refusals above were not for want of people in it
    upload = _predict(cog_server, {"image": _data_url(planted.read_bytes(), "image/jpeg")})
    assert upload["status"] == "succeeded" and _people(upload)


def test_http_url_is_fetched_by_cog_and_taken(cog_server, photos, tmp_path):
    shutil.copyfile(photos[-1], tmp_path / "photo.jpg")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    with http.server.ThreadingHTTPServer((HOST, 0), handler) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            by_url = _predict(cog_server, {"image": f"http://{HOST}:{httpd.server_port}/photo.jpg"})
        finally:
            httpd.shutdown()
    assert by_url["status"] == "succeeded", by_url.get("error")
    by_upload = _keypoints(_predict(cog_server, {"image": _data_url(photos[-1].read_bytes(), "image/jpeg")}))
    assert sorted(_keypoints(by_url)) == sorted(by_upload)
    for name, points in _keypoints(by_url).items():
        np.testing.assert_allclose(points, by_upload[name], atol=1e-6)


@pytest.mark.parametrize(
    ("threshold", "shown"),
    [(True, "true"), (False, "false"), ("abc", '"abc"'), ("0.5", '"0.5"'), (None, "null"),
     ([0.3], "[0.3]"), ({"value": 0.3}, '{"value": 0.3}'), (-0.01, "-0.01"), (1.5, "1.5"), (5, "5")],
)  # fmt: skip
def test_threshold_must_be_a_number_between_0_and_1(cog_server, photos, threshold, shown):
    answer = _predict(
        cog_server, {"image": _data_url(photos[0].read_bytes(), "image/jpeg"), "threshold": threshold}
    )
    assert answer["status"] == "failed" and answer.get("output") is None
    assert f"threshold must be a number between 0 and 1 (such as 0.3), got {shown}" in answer["error"]


def test_threshold_edges_and_integers_are_taken(cog_server, photos):
    image = _data_url(photos[0].read_bytes(), "image/jpeg")
    people = {}
    for threshold in (0, 1, 0.0, 1.0, 0.5):
        answer = _predict(cog_server, {"image": image, "threshold": threshold})
        assert answer["status"] == "succeeded", (threshold, answer.get("error"))
        people[threshold] = _people(answer)
    assert len({tuple(p) for p in people.values()}) == 1 and people[0]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [({}, "image is required: send the photo as a data: URL"),
     ({"image": None}, "image is required: send the photo as a data: URL"),
     ({"image": ""}, "image is empty: send the photo as a data: URL"),
     ({"image": "   "}, "image is empty: send the photo as a data: URL")],
)  # fmt: skip
def test_missing_or_empty_image_is_named(cog_server, inputs, message):
    answer = _predict(cog_server, {**inputs, "threshold": 0.3})
    assert answer["status"] == "failed" and answer.get("output") is None
    assert message in answer["error"] and "NoneType" not in answer["error"]


def _leftovers(tmpdir: Path) -> List[str]:
    """What requests left in the server's TMPDIR: Cog's downloads, output folders and files, waiting up
    to 5 s for the last request's folder (it goes just after Cog has read its files)."""
    deadline = time.monotonic() + 5
    while True:
        entries = _tree(tmpdir)
        left = [f for f in entries if f.startswith("tmp") or (f.startswith("dwpose-cog-") and "/" in f)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def test_300_predictions_leave_no_files_and_bounded_memory(cog_server, photos):
    photo = cv2.imread(str(photos[0]))  # at half size: the same work per request, in less time
    image = _data_url(
        cv2.imencode(".jpg", cv2.resize(photo, None, fx=0.5, fy=0.5))[1].tobytes(), "image/jpeg"
    )
    for _ in range(20):  # warm-up: onnxruntime's arenas, the allocator and imports reach their size
        assert _predict(cog_server, {"image": image})["status"] == "succeeded"
    assert _leftovers(cog_server.tmpdir) == []
    # what stays: the output root and onnxruntime's one-per-process ".ses" telemetry file
    worker = _worker_pid(cog_server.pid)
    rss_before, files_before = _rss_mb(worker), _tree(cog_server.tmpdir)
    assert len([f for f in files_before if f.startswith("dwpose-cog-")]) == 1, files_before
    for _ in range(280):
        answer = _predict(cog_server, {"image": image})
        assert answer["status"] == "succeeded" and len(answer["output"]) == 2
    assert _leftovers(cog_server.tmpdir) == []  # uploads and output folders all gone
    assert _tree(cog_server.tmpdir) == files_before
    growth = _rss_mb(worker) - rss_before
    assert growth < RSS_GROWTH_LIMIT_MB, f"worker RSS grew {growth:.1f} MB over 280 predictions"


def test_32_concurrent_clients_all_get_their_own_prediction(cog_server, photos):
    uploads = [_data_url(p.read_bytes(), "image/jpeg") for p in photos]
    expected = [_keypoints(_predict(cog_server, {"image": u})) for u in uploads]
    shapes = [cv2.imread(str(p)).shape for p in photos]
    clients, start = 32, threading.Barrier(32)
    answers: List[Tuple[int, dict]] = [(0, {})] * clients

    def client(i: int) -> None:
        start.wait()
        answers[i] = _request(
            f"{cog_server.base}/predictions", {"input": {"image": uploads[i % len(uploads)]}}
        )

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert [status for status, _ in answers] == [200] * clients  # none refused with 409 "At capacity"
    for i, (_, body) in enumerate(answers):
        assert body["status"] == "succeeded", body.get("error")
        want, got = expected[i % len(uploads)], _keypoints(body)  # this photo's answer, not another's
        assert sorted(got) == sorted(want)
        for name in want:
            np.testing.assert_allclose(got[name], want[name], atol=1e-6)
        png = cv2.imdecode(np.frombuffer(_decode_data_url(body["output"][1]), np.uint8), cv2.IMREAD_COLOR)
        assert png.shape == shapes[i % len(uploads)]


@pytest.fixture(scope="module")
def clip_upload(shared_dir, tmp_path_factory) -> SimpleNamespace:
    """The real PoseTrack18 clip's frames at half size as an MP4 (``mp4``), and cut short as an AVI whose
    header declares 15 frames (``cut``): bytes to upload."""
    from tests.conftest import require_shared

    clip = require_shared(shared_dir / "data/video-mini/posetrack18_000001_mpiinew_test.mp4", "clip", "file")
    cap, frames = cv2.VideoCapture(str(clip)), []
    while len(frames) < 5:
        ok, frame = cap.read()
        assert ok
        frames.append(cv2.resize(frame, (640, 360), interpolation=cv2.INTER_AREA))
    cap.release()
    folder = tmp_path_factory.mktemp("clip_upload")
    files = {}
    for name, fourcc, frames_in in (("clip.mp4", "mp4v", frames), ("long.avi", "MJPG", frames * 3)):
        writer = cv2.VideoWriter(str(folder / name), cv2.VideoWriter_fourcc(*fourcc), 10, (640, 360))
        for frame in frames_in:
            writer.write(frame)
        writer.release()
        files[name] = (folder / name).read_bytes()
    long = files["long.avi"]
    return SimpleNamespace(mp4=files["clip.mp4"], cut=long[: len(long) * 6 // 10])


def _video_answer(answer: dict, tmp_path: Path) -> SimpleNamespace:
    """The three outputs of a video prediction: frames and fps of pose.mp4, the zip's files, tracks.json."""
    video_url, zip_url, tracks_url = answer["output"]
    video = tmp_path / "pose.mp4"
    video.write_bytes(_decode_data_url(video_url))
    cap = cv2.VideoCapture(str(video))
    frames, fps, shape = (
        int(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
        cap.get(cv2.CAP_PROP_FPS),
        cap.read()[1].shape,
    )
    cap.release()
    archive = zipfile.ZipFile(io.BytesIO(_decode_data_url(zip_url)))
    npz = {
        n: np.load(io.BytesIO(archive.read(n)), allow_pickle=True)
        for n in archive.namelist()
        if n.endswith(".npz")
    }
    docs = {n: json.loads(archive.read(n)) for n in archive.namelist() if n.endswith(".json")}
    tracks = json.loads(_decode_data_url(tracks_url))
    return SimpleNamespace(frames=frames, fps=fps, shape=shape, npz=npz, docs=docs, tracks=tracks)


def test_real_cog_server_serves_a_video_and_survives_bad_ones(
    cog_server, predict_module, clip_upload, photos, tmp_path
):
    video = _data_url(clip_upload.mp4, "video/mp4")
    inputs = {"video": video, "track": True, "smooth": True, "det_every": 2, "start": 1, "max_frames": 3}
    answer = _predict(cog_server, inputs)
    assert answer["status"] == "succeeded", answer.get("error")
    got = _video_answer(answer, tmp_path)
    assert (got.frames, got.fps, got.shape) == (3, 10.0, (360, 640, 3))
    names = [f"{i:06d}" for i in (1, 2, 3)]  # the video's own frame indices
    assert sorted(got.npz) == [f"{n}.npz" for n in names] and sorted(got.docs) == [f"{n}.json" for n in names]
    seen: dict = {}
    for n in names:
        ids = [p["person_id"][0] for p in got.docs[f"{n}.json"]["people"]]
        assert sorted(got.npz[f"{n}.npz"].files) == sorted(f"person_{k}" for k in ids)
        for k in ids:
            seen.setdefault(str(k), []).append(int(n))
    assert seen and {k: v["frames"] for k, v in got.tracks.items()} == seen  # IDs agree everywhere

    plain = _video_answer(_predict(cog_server, {"video": video, "max_frames": 2}), tmp_path)
    assert plain.frames == 2 and plain.tracks == {} and sorted(plain.npz) == ["000000.npz", "000001.npz"]
    assert all(n.startswith("person_") for d in plain.npz.values() for n in d.files)

    failures = [
        ({"video": _data_url(b"not a video", "video/mp4")}, "cannot open video: OpenCV could not read"),
        ({"video": _data_url(clip_upload.cut, "video/x-msvideo")},
         "video is truncated or corrupt: no frame could be read from frame "),
        ({"video": video, "start": 9}, "no frames to process: the video ends before start 9"),
        ({"video": video, "start": 3, "end": 2}, "end 2 must be after start 3"),
        ({"video": video, "track": "yes"}, 'track must be true or false, got "yes"'),
        ({"video": video, "stride": 0}, "stride must be a whole number >= 1, got 0"),
        ({"video": video, "det_every": 1.5}, "det_every must be a whole number >= 0, got 1.5"),
        ({"video": video, "image": video}, "give image or video, not both"),
        ({"video": "/etc/passwd"}, predict_module.REFUSED_VIDEO),
        ({"image": _data_url(photos[0].read_bytes(), "image/jpeg"), "track": True},
         "track: for a video only"),
    ]  # fmt: skip
    for inputs, message in failures:
        bad = _predict(cog_server, inputs)
        assert bad["status"] == "failed" and bad.get("output") is None, inputs.keys()
        assert message in bad["error"], bad["error"]
        assert str(cog_server.tmpdir) not in bad["error"] and "dwpose-cog-" not in bad["error"]
    again = _video_answer(_predict(cog_server, {"video": video, "track": True, "max_frames": 5}), tmp_path)
    assert again.frames == 5 and again.tracks  # the server is still up and serving videos
    assert _leftovers(cog_server.tmpdir) == []  # uploads and output folders of all of these are gone
