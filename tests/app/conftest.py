"""Fixtures of the ``dwpose app`` tests: SimCC test models, the real detector, a running ``dwpose app``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.inference.fakes import simcc_onnx

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def app_models(tmp_path_factory) -> SimpleNamespace:
    """A folder with two SimCC ONNX pose models of different, known peaks (``a.onnx``, ``b.onnx``)."""
    folder = tmp_path_factory.mktemp("app_models")
    peaks_a = simcc_onnx(folder / "a.onnx")
    peaks_b = simcc_onnx(folder / "b.onnx", peaks=(peaks_a + 7) % 300)
    return SimpleNamespace(
        folder=folder, a=folder / "a.onnx", b=folder / "b.onnx", peaks_a=peaks_a, peaks_b=peaks_b
    )


@pytest.fixture(scope="session")
def detector(weights_dir) -> Path:
    """The real YOLOX-nano person detector of ../shared/weights."""
    return weights_dir / "yolox-nano_coco80.onnx"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_command(*args) -> list:
    return [sys.executable, "-m", "dwpose.cli", "app", *map(str, args)]


def wait_until_serving(proc: subprocess.Popen, url: str, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dwpose app exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"dwpose app did not serve {url} within {timeout} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def app_server(app_models, detector, tmp_path_factory) -> SimpleNamespace:
    """``dwpose app --models FOLDER --det yolox-nano`` on a free port of 127.0.0.1, as a user starts it;
    ``url``, ``log`` (its output) and ``models``. Stopped at the end of the session."""
    pytest.importorskip("gradio", reason="dwpose app needs Gradio (pip install -e '.[app]')")
    port = free_port()
    log = tmp_path_factory.mktemp("app_server") / "server.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "GRADIO_TEMP_DIR": str(log.parent / "gradio")}
    cmd = app_command(
        "--pose", app_models.a, "--models", app_models.folder, "--det", detector, "--port", port
    )
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(proc, url + "/", log)
        yield SimpleNamespace(url=url, log=log, models=app_models, detector=detector)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
