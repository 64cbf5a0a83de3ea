"""The Cog predictor behind the REAL Cog HTTP server (``python -m cog.server.http``), no Docker."""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.inference.fakes import assert_cog_people

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def _post(url: str, payload: dict, timeout: float = 60) -> dict:
    req = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def _data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _decode_data_url(url: str) -> bytes:
    assert url.startswith("data:"), url[:80]
    return base64.b64decode(url.split(",", 1)[1])


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


@pytest.fixture()
def cog_server(tmp_path, tiny_model, weights_dir):
    pytest.importorskip("cog")
    port, log = _free_port(), tmp_path / "server.log"
    env = dict(os.environ, COG_PREDICT_TYPE_STUB="predict.py:Predictor", PORT=str(port),
               DWPOSE_POSE_MODEL=str(tiny_model.onnx),
               DWPOSE_DET_MODEL=str(weights_dir / "rtmdet-nano_person_end2end.onnx"),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cog.server.http", "--host", HOST], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    base = f"http://{HOST}:{port}"
    try:
        _wait_ready(base, proc, log)
        yield base
    finally:
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            if proc.poll() is None:
                os.killpg(proc.pid, sig)
                try:
                    proc.wait(timeout=wait)
                except subprocess.TimeoutExpired:
                    continue


def test_real_cog_server_predicts_and_survives_bad_uploads(cog_server, weights_dir, photos):
    from dwpose.inference.detectors import load_onnx_detector

    photo = photos[-1]
    payload = {"input": {"image": _data_url(photo.read_bytes(), "image/jpeg"), "threshold": 0.3}}
    first = _post(f"{cog_server}/predictions", payload)
    assert first["status"] == "succeeded", first.get("error")
    npz_url, png_url = first["output"]
    data = np.load(io.BytesIO(_decode_data_url(npz_url)), allow_pickle=True)
    image = cv2.imread(str(photo))
    people = load_onnx_detector(weights_dir / "rtmdet-nano_person_end2end.onnx")(image)
    assert len(people) >= 3 and sorted(data.files) == sorted(f"person_{i}" for i in range(len(people)))
    assert_cog_people(data)
    picture = cv2.imdecode(np.frombuffer(_decode_data_url(png_url), np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape == image.shape

    bad = _post(f"{cog_server}/predictions", {"input": {"image": _data_url(b"hello", "text/plain")}})
    assert bad["status"] == "failed" and "cannot decode image" in bad["error"]

    too_high = _post(f"{cog_server}/predictions", {"input": {**payload["input"], "threshold": 5}})
    assert too_high["status"] == "failed" and "threshold must be between 0 and 1" in too_high["error"]

    again = _post(f"{cog_server}/predictions", payload)
    assert again["status"] == "succeeded" and len(again["output"]) == 2
