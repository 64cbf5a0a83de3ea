"""Bad input to the training/testing tools: one clear error line and a non-zero exit."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import demo_cfg_options

REPO = Path(__file__).resolve().parents[2]
STUDENT = REPO / "configs/demo/rtmpose-student_demo.py"


def _run(tool: str, *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "tools" / tool), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def _assert_one_line_error(proc: subprocess.CompletedProcess, pattern: str) -> None:
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert "Traceback" not in proc.stderr
    assert lines and pattern in lines[-1], proc.stderr[-2000:]
    assert lines[-1].startswith(f"tools/{tool_name(proc)}: error:")


def tool_name(proc) -> str:
    return Path(proc.args[1]).name


def test_missing_config(tmp_path):
    _assert_one_line_error(_run("train.py", str(tmp_path / "nope.py")), "does not exist")


def test_config_syntax_typo(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("model = dict(type='TopdownPoseEstimator'\n")
    _assert_one_line_error(_run("train.py", str(bad), "--work-dir", str(tmp_path / "w")), "is invalid")


@pytest.mark.slow
def test_config_unknown_component(tmp_path, demo_data):
    proc = _run("train.py", str(STUDENT), "--work-dir", str(tmp_path / "w"), "--cfg-options",
                *demo_cfg_options(demo_data), "model.head.type=RTMCCHeed")
    _assert_one_line_error(proc, "RTMCCHeed")


@pytest.mark.slow
def test_missing_annotation_file(tmp_path, demo_data):
    proc = _run("train.py", str(STUDENT), "--work-dir", str(tmp_path / "w"), "--cfg-options",
                *demo_cfg_options(tmp_path / "no-data"))
    _assert_one_line_error(proc, "demo_wholebody_train.json")


@pytest.mark.slow
def test_corrupt_image(tmp_path, demo_data):
    root = tmp_path / "data"
    shutil.copytree(demo_data, root)
    for img in (root / "images" / "train").iterdir():
        img.write_bytes(b"not a jpeg at all")
    proc = _run("train.py", str(STUDENT), "--work-dir", str(tmp_path / "w"), "--cfg-options",
                *demo_cfg_options(root), "train_cfg.max_epochs=1")
    _assert_one_line_error(proc, "cannot decode image")


def test_amp_without_gpu_is_refused(tmp_path, demo_data):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    proc = _run("train.py", str(STUDENT), "--amp", "--work-dir", str(tmp_path / "w"))
    _assert_one_line_error(proc, "--amp needs a CUDA GPU")


def test_test_tool_missing_checkpoint(tmp_path):
    proc = _run("test.py", str(STUDENT), str(tmp_path / "missing.pth"))
    _assert_one_line_error(proc, "does not exist")
