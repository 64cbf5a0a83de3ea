"""The real Cog server (tests/inference/test_cog_server.py's) on what it fetches and how it is started:
input URLs (public addresses only unless allowed, one message for every failed download, no file left
in TMPDIR), the README's command, and a video cut short by two frames of five."""

from __future__ import annotations

import http.server
import shutil
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import List, Tuple

import pytest

from tests.inference.test_cog_server import (  # noqa: F401 (cog_server: the module's server fixture)
    HOST,
    REPO,
    _data_url,
    _free_port,
    _leftovers,
    _predict,
    _served,
    cog_server,
)

pytestmark = pytest.mark.slow


def _local_files(folder: Path) -> Tuple[http.server.ThreadingHTTPServer, List[str]]:
    """An HTTP server on 127.0.0.1 for ``folder``, started, and the list of paths it was asked for."""
    asked: List[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def do_GET(self) -> None:  # noqa: N802
            asked.append(self.path)
            super().do_GET()

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer((HOST, 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, asked


def _download_failures(server: SimpleNamespace, urls: dict) -> dict:
    """``{why: error}`` of one request per URL (a dict ``{input: url}`` or a plain image URL)."""
    answers = {}
    for why, url in urls.items():
        answer = _predict(server, url if isinstance(url, dict) else {"image": url})
        assert answer["status"] == "failed" and answer.get("output") is None, (why, answer)
        answers[why] = answer["error"]
    return answers


def test_failed_downloads_all_say_the_same_and_leave_nothing(cog_server, photos, tmp_path):  # noqa: F811
    from dwpose.inference.cog_fetch import DOWNLOAD_FAILED

    shutil.copyfile(photos[-1], tmp_path / "photo.jpg")
    httpd, asked = _local_files(tmp_path)
    base, closed = f"http://{HOST}:{httpd.server_port}", _free_port()
    try:
        errors = _download_failures(cog_server, {
            "404": f"{base}/missing.jpg",
            "refused": f"http://{HOST}:{closed}/photo.jpg",
            "TLS": base.replace("http://", "https://") + "/photo.jpg",
            "video 404": {"video": f"{base}/missing.mp4"},
            "image fetched, video not": {"image": f"{base}/photo.jpg", "video": f"{base}/missing.mp4"},
        })  # fmt: skip
    finally:
        httpd.shutdown()
    assert len(set(errors.values())) == 1, errors  # nothing tells refused, timed out or TLS apart
    assert DOWNLOAD_FAILED in errors["404"] and str(cog_server.tmpdir) not in errors["404"]
    assert "/photo.jpg" in asked  # the last request's image was downloaded: its file goes too
    deadline = time.monotonic() + 20  # downloads of a failed request go within ~10 s
    while _leftovers(cog_server.tmpdir) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _leftovers(cog_server.tmpdir) == []


def test_a_server_started_as_documented_refuses_private_urls(tmp_path, tiny_model, weights_dir, photos):
    from dwpose.inference.cog_fetch import DOWNLOAD_FAILED

    shutil.copyfile(photos[-1], tmp_path / "photo.jpg")
    httpd, asked = _local_files(tmp_path)
    port = httpd.server_port
    try:
        with _served(tmp_path / "server", tiny_model.onnx,
                     weights_dir / "rtmdet-nano_person_end2end.onnx") as server:  # fmt: skip
            errors = _download_failures(server, {
                "loopback": f"http://{HOST}:{port}/photo.jpg",
                "localhost": f"http://localhost:{port}/photo.jpg",
                "IPv6 loopback": f"http://[::1]:{port}/photo.jpg",
                "mapped": f"http://[::ffff:127.0.0.1]:{port}/photo.jpg",
                "link-local": "http://169.254.169.254/latest/meta-data/",
                "private": "http://10.0.0.1/photo.jpg",
                "video": {"video": f"http://{HOST}:{port}/photo.jpg"},
            })  # fmt: skip
            upload = _predict(server, {"image": _data_url(photos[-1].read_bytes(), "image/jpeg")})
            left = _leftovers(server.tmpdir)
    finally:
        httpd.shutdown()
    assert asked == [], asked  # refused before any connection
    assert len(set(errors.values())) == 1 and DOWNLOAD_FAILED in errors["loopback"], errors
    assert left == [] and upload["status"] == "succeeded", upload.get("error")


def test_a_five_frame_video_of_which_three_decode_is_reported(cog_server, tmp_path):  # noqa: F811
    from tests.inference.test_video_robustness import noise_frames, write_video

    whole = write_video(tmp_path / "whole.avi", noise_frames(5), fourcc="MJPG").read_bytes()
    cut = _predict(cog_server, {"video": _data_url(whole[: len(whole) // 2], "video/x-msvideo")})
    assert cut["status"] == "failed" and cut.get("output") is None
    assert cut["error"].endswith(
        "video is truncated or corrupt: no frame could be read from frame 3 on, of the 5 its header "
        "declares; 3 frame(s) could be read before it, none returned"
    ), cut["error"]
    assert _predict(cog_server, {"video": _data_url(whole, "video/x-msvideo")})["status"] == "succeeded"


def test_readme_starts_the_server_with_the_command_tested_here():
    readme = (REPO / "README.md").read_text()
    assert "python -m dwpose.inference.cog_server --host 127.0.0.1" in readme
    assert "-m cog.server.http" not in readme  # its worker needs the interpreter's bin on PATH
