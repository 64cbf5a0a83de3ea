"""How the Cog predictor fetches http(s) inputs (dwpose/inference/cog_fetch.py), through Cog's own
``cog.types.Path.validate(url).convert()`` as Cog 0.23.1's worker calls them, against HTTP servers on
127.0.0.1 only: loopback / private / link-local refused by default, one message for every failure,
no file left in TMPDIR."""

from __future__ import annotations

import http.server
import io
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator, List

import pytest

pytest.importorskip("cog")
import cog.types  # noqa: E402

from dwpose.inference import cog_fetch  # noqa: E402

PHOTO = b"\xff\xd8\xff\xe0 not decoded here" * 100


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: List[str] = []
    redirect_to = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).seen.append(self.path)
        if self.path == "/photo.jpg":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PHOTO)))
            self.end_headers()
            self.wfile.write(PHOTO)
        elif self.path == "/redirect.jpg":
            self.send_response(302)
            self.send_header("Location", type(self).redirect_to)
            self.end_headers()
        elif self.path == "/silent.jpg":
            time.sleep(3)
        else:
            self.send_error(404)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a server with /photo.jpg, /redirect.jpg, /silent.jpg (404 else)."""
    _Handler.seen = []
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler) as httpd:
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{httpd.server_port}"
        finally:
            httpd.shutdown()


@pytest.fixture()
def cog_tmp(tmp_path, monkeypatch) -> Path:
    """A private TMPDIR, where Cog's (and our) downloads go; the policy from the environment."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.delenv(cog_fetch.ALLOW_PRIVATE_ENV, raising=False)
    monkeypatch.setattr(cog_fetch, "_unclaimed", {})  # this test's downloads only
    cog_fetch.install()
    return folder


def _fetch(url: str) -> Path:
    """What Cog's worker does for a ``cog.Path`` input given as ``url``."""
    return Path(cog.types.Path.validate(url).convert())


@pytest.mark.parametrize(
    ("address", "public"),
    [("127.0.0.1", False), ("127.8.9.10", False), ("10.1.2.3", False), ("172.16.0.1", False),
     ("192.168.1.1", False), ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False),
     ("224.0.0.1", False), ("::1", False), ("::ffff:127.0.0.1", False), ("fe80::1", False),
     ("fd00::1", False),
     ("8.8.8.8", True), ("151.101.1.1", True), ("2001:4860:4860::8888", True), ("::ffff:8.8.8.8", True)],
)  # fmt: skip
def test_which_addresses_are_public(address, public):
    assert cog_fetch.is_public(address) is public


def test_loopback_is_refused_by_default_and_never_contacted(cog_tmp, server):
    for url in (f"{server}/photo.jpg", server.replace("127.0.0.1", "localhost") + "/photo.jpg",
                "http://[::1]:9/photo.jpg", "http://169.254.169.254/latest/meta-data/",
                "http://10.0.0.1:9/photo.jpg"):  # fmt: skip
        with pytest.raises(cog_fetch.DownloadFailed) as info:
            _fetch(url)
        assert str(info.value) == cog_fetch.DOWNLOAD_FAILED
    assert _Handler.seen == [] and list(cog_tmp.iterdir()) == []


def test_the_switch_allows_private_addresses(cog_tmp, server, monkeypatch):
    monkeypatch.setenv(cog_fetch.ALLOW_PRIVATE_ENV, "1")
    path = _fetch(f"{server}/photo.jpg")
    assert path.read_bytes() == PHOTO and path.parent == cog_tmp and path.name.startswith("tmp")
    assert path.name.endswith("photo.jpg")  # Cog's naming, which the predictor's upload check expects
    _Handler.redirect_to = f"{server}/photo.jpg"
    assert _fetch(f"{server}/redirect.jpg").read_bytes() == PHOTO
    assert _Handler.seen == ["/photo.jpg", "/redirect.jpg", "/photo.jpg"]


def test_every_failure_gives_the_same_message_and_leaves_no_file(cog_tmp, server, monkeypatch):
    monkeypatch.setenv(cog_fetch.ALLOW_PRIVATE_ENV, "1")
    monkeypatch.setattr(cog_fetch, "TIMEOUT_S", 0.5)
    monkeypatch.setattr(cog_fetch, "MAX_DOWNLOAD_BYTES", len(PHOTO) - 1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # nothing listens there once the socket is closed
    failing = {
        "refused": f"http://127.0.0.1:{closed}/photo.jpg",
        "404": f"{server}/missing.jpg",
        "timed out": f"{server}/silent.jpg",
        "TLS": server.replace("http://", "https://") + "/photo.jpg",
        "too large": f"{server}/photo.jpg",
    }
    for why, url in failing.items():
        with pytest.raises(cog_fetch.DownloadFailed) as info:
            _fetch(url)
        assert str(info.value) == cog_fetch.DOWNLOAD_FAILED, why
        assert list(cog_tmp.iterdir()) == [], why


def test_a_redirect_is_checked_like_the_first_address(cog_tmp, server, monkeypatch):
    monkeypatch.setattr(cog_fetch, "is_public", lambda address: address == "127.0.0.1")  # .1 "public"
    _Handler.redirect_to = server.replace("127.0.0.1", "127.0.0.2") + "/photo.jpg"
    with pytest.raises(cog_fetch.DownloadFailed):
        _fetch(f"{server}/redirect.jpg")
    assert _Handler.seen == ["/redirect.jpg"] and list(cog_tmp.iterdir()) == []
    assert _fetch(f"{server}/photo.jpg").read_bytes() == PHOTO  # the first address itself is taken


def test_data_urls_are_written_as_cog_writes_them(cog_tmp):
    path = _fetch("data:image/jpeg;base64,/9j/4AAQ")
    assert path.read_bytes() == b"\xff\xd8\xff\xe0\x00\x10" and path.parent == cog_tmp


def test_downloads_no_prediction_claimed_are_swept(cog_tmp, server, monkeypatch):
    monkeypatch.setenv(cog_fetch.ALLOW_PRIVATE_ENV, "1")
    claimed, orphan = _fetch(f"{server}/photo.jpg"), _fetch(f"{server}/photo.jpg")
    cog_fetch.claim(cog.types.Path(claimed), None, "text")
    assert cog_fetch.sweep_unclaimed(max_age=60) == []  # too young
    assert cog_fetch.sweep_unclaimed(max_age=0) == [str(orphan)]
    assert claimed.exists() and not orphan.exists()


def test_install_needs_the_cog_it_was_written_for(monkeypatch):
    monkeypatch.delattr(cog.types.URLPath, "convert")
    with pytest.raises(RuntimeError, match="needs cog==0.23.1"):
        cog_fetch.install()


def test_copy_stops_at_the_limit():
    class Response:
        def __init__(self) -> None:
            self.body = io.BytesIO(b"x" * 100)

        def getheader(self, name):
            return None  # no Content-Length: counted while reading

        def read(self, n):
            return self.body.read(min(n, 7))

    out = io.BytesIO()
    with pytest.raises(ValueError, match="too large"):
        cog_fetch._copy(Response(), out, 50)
    assert len(out.getvalue()) <= 50
