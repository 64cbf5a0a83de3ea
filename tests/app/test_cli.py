"""``dwpose app`` on the command line: defaults, and every user mistake as one ``error:`` line, exit 2."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys

import pytest

from dwpose.app.cli import add_arguments, check_gradio, check_port_free
from tests.app.conftest import REPO, app_command, free_port, wait_until_serving
from tests.inference.test_cli import assert_one_error_line


def test_serves_this_machine_only_unless_asked():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--pose", "m.onnx", "--det", "d.onnx"])
    assert (args.host, args.port, args.share, args.max_frames) == ("127.0.0.1", 7860, False, 300)


def test_port_in_use_is_a_user_mistake():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ValueError, match=f"cannot serve on 127.0.0.1:{port} .*pick another with --port"):
            check_port_free("127.0.0.1", port)
    check_port_free("127.0.0.1", port)  # free again


def test_missing_gradio_is_named_with_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "gradio", None)
    with pytest.raises(ValueError, match=r"dwpose app needs Gradio: pip install -e '\.\[app\]'"):
        check_gradio()


def _app(*args) -> subprocess.CompletedProcess:
    return subprocess.run(app_command(*args), cwd=REPO, capture_output=True, text=True, timeout=120)


def _one_error_line(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert_one_error_line(proc, *fragments)
    assert proc.stdout == ""  # nothing was served


@pytest.mark.slow
def test_user_mistakes_are_one_error_line(app_models, detector, tmp_path):
    port = free_port()
    empty = tmp_path / "empty"
    empty.mkdir()
    _one_error_line(_app("--det", detector, "--port", port), "give a pose model with --pose MODEL")
    _one_error_line(
        _app("--pose", tmp_path / "missing.onnx", "--det", detector, "--port", port),
        "pose model",
        "missing.onnx does not exist",
    )
    _one_error_line(_app("--pose", app_models.a, "--det", tmp_path / "det.onnx", "--port", port), "det.onnx")
    _one_error_line(_app("--pose", detector, "--det", detector, "--port", port), "is not a pose model")
    _one_error_line(_app("--models", empty, "--det", detector, "--port", port), "no pose models in")
    _one_error_line(_app("--pose", app_models.a, "--det", detector, "--device", "tpu"), "device must be")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        _one_error_line(
            _app("--pose", app_models.a, "--det", detector, "--port", port),
            f"cannot serve on 127.0.0.1:{port}",
            "in use",
        )


@pytest.mark.slow
def test_ctrl_c_stops_the_server_and_removes_its_files(app_models, detector, tmp_path):
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp_path), "GRADIO_TEMP_DIR": str(tmp_path / "gradio")}
    proc = subprocess.Popen(
        app_command("--pose", app_models.a, "--det", detector, "--port", port),
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a terminal's Ctrl-C
    )
    log = tmp_path / "log"
    log.write_text("")
    wait_until_serving(proc, f"http://127.0.0.1:{port}/", log)
    assert len(list(tmp_path.glob("dwpose-app-*"))) == 1  # its per-request folders live here
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "dwpose: interrupted"
    assert "Running on local URL:  http://127.0.0.1:" in out
    assert not list(tmp_path.glob("dwpose-app-*"))
