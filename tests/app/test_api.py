"""The page's API (what the buttons call), through gradio_client: 20 users at once, the webcam endpoint,
and the model switch."""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.inference.fakes import still_clip

pytestmark = pytest.mark.slow
SETTINGS = ("a.onnx", 0.3, "image", ["body", "face", "hands"], True, False)


@pytest.fixture(scope="module")
def client_cls():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    pytest.importorskip("gradio_client")
    from gradio_client import Client, handle_file

    return Client, handle_file


def _people(downloads: list) -> int:
    (found,) = [f for f in downloads if f.endswith(".json")]
    return len(json.loads(Path(found).read_text())["people"])


def test_twenty_concurrent_uploads_all_answered(app_server, client_cls, photos, tmp_path):
    Client, handle_file = client_cls
    uploads = []
    for i in range(20):  # distinct names, so each answer can be matched to its request
        uploads.append(tmp_path / f"user{i:02d}{photos[i % len(photos)].suffix}")
        shutil.copy(photos[i % len(photos)], uploads[-1])
    expected = {}
    warm = Client(app_server.url, verbose=False)
    for photo in photos:
        status, _, _, _, downloads = warm.predict(handle_file(str(photo)), *SETTINGS, api_name="/predict")
        expected[photo.read_bytes()] = _people(downloads)

    def one_user(upload: Path):
        client = Client(app_server.url, verbose=False)
        return upload, client.predict(handle_file(str(upload)), *SETTINGS, api_name="/predict")

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(one_user, uploads))

    assert len(answers) == 20
    for upload, (status, overlay, _, table, downloads) in answers:
        n = expected[upload.read_bytes()]
        assert status == f"{n} person(s) in {upload.name}"
        assert Path(overlay["value"]).name == f"{upload.stem}.png"
        assert len(table["data"]) == n and _people(downloads) == n


def test_webcam_snapshot_endpoint_and_model_switch(app_server, client_cls, photos):
    Client, handle_file = client_cls
    client = Client(app_server.url, verbose=False)
    info, status = client.predict("b.onnx", api_name="/model")
    assert info.startswith("**Model:** b.onnx on cpu: pose model onnxruntime") and "b.onnx is ready" in status
    settings = ("b.onnx", *SETTINGS[1:])
    upload = client.predict(handle_file(str(photos[0])), *settings, api_name="/predict")
    snapshot = client.predict(handle_file(str(photos[0])), *settings, api_name="/predict_webcam")
    print(upload[0], snapshot[0])
    n = _people(upload[4])
    assert n >= 1 and _people(snapshot[4]) == n and len(snapshot[3]["data"]) == n
    assert snapshot[0].startswith(f"{n} person(s) in ")


def test_a_video_upload_gets_a_playable_webm_and_zipped_frames(app_server, client_cls, photos, tmp_path):
    Client, handle_file = client_cls
    clip = still_clip(tmp_path / "clip.mp4", photos[3], 4)
    client = Client(app_server.url, verbose=False)
    status, overlay, video, table, downloads = client.predict(
        handle_file(str(clip)), *SETTINGS, api_name="/predict"
    )
    assert status.startswith("4 frame(s) of clip.mp4, ") and "(track IDs)" in status
    assert overlay["visible"] is False and video["visible"] is True
    assert Path(video["value"]).suffix == ".webm"
    assert [Path(f).name for f in downloads] == ["clip_npz.zip", "clip_json.zip", "clip_pose.mp4"]
    assert len(table["data"]) >= 1 and table["headers"][:2] == ["ID", "frames"]
