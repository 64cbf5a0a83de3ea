"""Bad input to the tools and commands: one clear error line, exit status 2, no traceback.

``test_user_mistakes`` is the table of user mistakes: every case ends with exactly one
``PROG: error:`` line, exit status 2 and no traceback; a folder with broken pictures finishes with exit
status 3 and a summary line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
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
def test_corrupt_image(tmp_path, demo_data):
    root = tmp_path / "data"
    shutil.copytree(demo_data, root)
    for img in (root / "images" / "train").iterdir():
        img.write_bytes(b"not a jpeg at all")
    proc = _run("train.py", str(STUDENT), "--work-dir", str(tmp_path / "w"), "--cfg-options",
                *demo_cfg_options(root), "train_cfg.max_epochs=1")
    _assert_one_line_error(proc, "cannot decode image")


def test_amp_on_cpu_trains_in_bf16_or_is_refused_with_the_reason(tmp_path, demo_data):
    """--amp on a CPU: bf16 autocast where the CPU has native bf16, else one error line saying why."""
    import torch

    from dwpose.engine.amp import cpu_has_native_bf16

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    work = tmp_path / "w"
    proc = _run("train.py", str(STUDENT), "--amp", "--work-dir", str(work), "--cfg-options",
                *demo_cfg_options(demo_data), "train_cfg.max_epochs=1", "train_cfg.val_interval=100")
    if not cpu_has_native_bf16():
        _assert_one_line_error(proc, "needs native bf16 instructions")
        return
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "bfloat16 autocast on the CPU" in proc.stdout + proc.stderr
    state = torch.load(work / "epoch_1.pth", map_location="cpu", weights_only=False)["state_dict"]
    assert all(v.dtype == torch.float32 for v in state.values() if v.is_floating_point())


def test_amp_is_refused_on_a_cpu_without_bf16(monkeypatch):
    from mmengine.config import Config

    from dwpose.engine import amp

    monkeypatch.setattr(amp.torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(amp, "cpu_has_native_bf16", lambda: False)
    with pytest.raises(ValueError, match="needs native bf16 instructions"):
        amp.configure_amp(Config(dict(optim_wrapper=dict(type="OptimWrapper"))))
    monkeypatch.setattr(amp, "cpu_has_native_bf16", lambda: True)
    cfg = Config(dict(optim_wrapper=dict(type="OptimWrapper")))
    amp.configure_amp(cfg)
    wrapper = amp.CPUBf16OptimWrapper(optimizer=torch_sgd())
    conv = __import__("torch").nn.Conv2d(3, 4, 3)
    with wrapper.optim_context(conv):
        out = conv(__import__("torch").zeros(1, 3, 8, 8))
    assert cfg.optim_wrapper.type == "CPUBf16OptimWrapper" and out.dtype == __import__("torch").bfloat16


def torch_sgd():
    import torch

    return torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.1)


def test_test_tool_missing_checkpoint(tmp_path):
    proc = _run("test.py", str(STUDENT), str(tmp_path / "missing.pth"))
    _assert_one_line_error(proc, "does not exist")


# --- the table of user mistakes ------------------------------------------------------------------------

ERROR_LINE = re.compile(r"^(\S+: )?error:")
ENV_DROP = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def _clean_env() -> dict:
    """The environment without any launcher's variables (the tests may run inside Slurm or torchrun)."""
    return {k: v for k, v in os.environ.items()
            if k not in ENV_DROP and not k.startswith(("SLURM_", "OMPI_"))}


def _tool(name: str, *args) -> list:
    return [sys.executable, str(REPO / "tools" / name), *map(str, args)]


def _sh(name: str, *args) -> list:
    return ["bash", str(REPO / "tools" / name), *map(str, args)]


def _dwpose(*args) -> list:
    return [sys.executable, "-m", "dwpose.cli", *map(str, args)]


def _root(name: str, *args) -> list:
    return [sys.executable, str(REPO / name), *map(str, args)]


def _refused_checkpoint(tmp_path: Path) -> Path:
    """A checkpoint that pickles a function (``os.system``): the weights-only loader refuses it."""
    import torch

    path = tmp_path / "unsafe.pth"
    torch.save({"state_dict": {}, "meta": {"hook": os.system}}, path)
    return path


def _plain_checkpoint(tmp_path: Path) -> Path:
    import torch

    path = tmp_path / "plain.pth"
    torch.save({"state_dict": {}}, path)
    return path


def _broken_folder(tmp_path: Path) -> list:
    """8 pictures, 5 of them broken, an ONNX pose model and one box for every picture."""
    from tests.inference.fakes import simcc_onnx

    folder = tmp_path / "pictures"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(folder / f"good{i}.png"), rng.integers(0, 255, (64, 48, 3), dtype=np.uint8))
    for i in range(5):
        (folder / f"broken{i}.jpg").write_bytes(b"\xff\xd8\xff not a picture")
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps([[0, 0, 47, 63]]))
    simcc_onnx(tmp_path / "pose.onnx")
    return _dwpose("predict", folder, "--pose", tmp_path / "pose.onnx", "--boxes", boxes,
                   "--out", tmp_path / "out")


def _export(tmp_path: Path, request, *extra) -> list:
    tiny = request.getfixturevalue("tiny_model")
    return _dwpose("export", "onnx", tiny.config, tiny.checkpoint, tmp_path / "out.onnx", *extra)


PRETRAINED = ("model.backbone.init_cfg.type=Pretrained", "model.backbone.init_cfg._delete_=True")


def _train(t: Path, *options) -> list:
    return _tool("train.py", STUDENT, "--work-dir", t / "w", *options)


# id -> (command (tmp_path, request), program, exit status, text of its error line / summary line)
CASES = {
    "cfg-options without =": (
        lambda t, r: _tool("train.py", STUDENT, "--cfg-options", "foo"),
        "tools/train.py", 2, "--cfg-options: expected KEY=VALUE, got 'foo'"),
    "dist_train GPUS abc": (
        lambda t, r: _sh("dist_train.sh", STUDENT, "abc"),
        "tools/dist_train.sh", 2, "GPUS must be a whole number >= 1, got 'abc'"),
    "dist_train GPUS 0": (
        lambda t, r: _sh("dist_train.sh", STUDENT, "0"), "tools/dist_train.sh", 2, "got '0'"),
    "dist_train GPUS -1": (
        lambda t, r: _sh("dist_train.sh", STUDENT, "-1"), "tools/dist_train.sh", 2, "got '-1'"),
    "dist_train missing config": (
        lambda t, r: _sh("dist_train.sh", t / "nope.py", "2"),
        "tools/dist_train.sh", 2, "nope.py does not exist"),
    "dist_train config is a folder": (
        lambda t, r: _sh("dist_train.sh", t, "2"), "tools/dist_train.sh", 2, "is a folder, not a file"),
    "dist_test missing checkpoint": (
        lambda t, r: _sh("dist_test.sh", STUDENT, t / "nope.pth", "2"),
        "tools/dist_test.sh", 2, "nope.pth does not exist"),
    "dist_test GPUS abc": (
        lambda t, r: _sh("dist_test.sh", STUDENT, STUDENT, "abc"), "tools/dist_test.sh", 2, "GPUS must be"),
    "slurm_train GPUS abc": (
        lambda t, r: _sh("slurm_train.sh", "p", "j", STUDENT, t / "w", "abc"),
        "tools/slurm_train.sh", 2, "GPUS must be a whole number >= 1, got 'abc'"),
    "slurm_train GPUS 0": (
        lambda t, r: _sh("slurm_train.sh", "p", "j", STUDENT, t / "w", "0"),
        "tools/slurm_train.sh", 2, "got '0'"),
    "slurm_test missing config": (
        lambda t, r: _sh("slurm_test.sh", "p", "j", t / "nope.py", STUDENT),
        "tools/slurm_test.sh", 2, "nope.py does not exist"),
    "export opset 99": (
        lambda t, r: _export(t, r, "--opset", "99"), "dwpose", 2, "--opset must be between 11 and"),
    "load_from refused": (
        lambda t, r: _train(t, "--cfg-options", f"load_from={_refused_checkpoint(t)}"),
        "tools/train.py", 2, "cannot read checkpoint"),
    "Pretrained over init_cfg=None": (
        lambda t, r: _train(t, "--cfg-options", "model.backbone.init_cfg.type=Pretrained"),
        "tools/train.py", 2,
        "model.backbone.init_cfg is None in the config, so its fields cannot be set one by one; "
        "add model.backbone.init_cfg._delete_=True"),
    "Pretrained without a file": (
        lambda t, r: _train(t, "--cfg-options", *PRETRAINED),
        "tools/train.py", 2, "model.backbone.init_cfg has type='Pretrained' but no checkpoint"),
    "Pretrained with a missing file": (
        lambda t, r: _train(t, "--cfg-options", *PRETRAINED, f"model.backbone.init_cfg.checkpoint={t}/x.pth"),
        "tools/train.py", 2, "model.backbone.init_cfg.checkpoint"),
    "config is a folder": (lambda t, r: _tool("train.py", t), "tools/train.py", 2, "is a folder, not a file"),
    "checkpoint is a folder": (
        lambda t, r: _tool("test.py", STUDENT, t), "tools/test.py", 2, "is a folder, not a file"),
    "ground truth is a folder": (
        lambda t, r: _dwpose("eval", t, t / "results.json"), "dwpose", 2, "is a folder, not a file"),
    "pth_transfer input is a folder": (
        lambda t, r: _root("pth_transfer.py", t, t / "out.pth"),
        "pth_transfer.py", 2, "is a folder, not a file"),
    "test --launcher slurm": (
        lambda t, r: _tool("test.py", STUDENT, _plain_checkpoint(t), "--launcher", "slurm"),
        "tools/test.py", 2, "--launcher slurm needs Slurm's environment"),
    "train --launcher pytorch": (
        lambda t, r: _train(t, "--launcher", "pytorch"),
        "tools/train.py", 2, "--launcher pytorch needs torchrun's environment"),
    "video2image --workers -1": (
        lambda t, r: _root("video2image.py", "--root", t, "--workers", "-1"),
        "video2image.py", 2, "--workers: must be >= 1, got -1"),
    "video2image --workers 0": (
        lambda t, r: _root("video2image.py", "--root", t, "--workers", "0"),
        "video2image.py", 2, "--workers: must be >= 1, got 0"),
    "predict folder, 5 of 8 broken": (
        lambda t, r: _broken_folder(t),
        "dwpose predict", 3, "5 of 8 inputs skipped: broken0.jpg, broken1.jpg, broken2.jpg, broken3.jpg, "
        "broken4.jpg"),
}
SLOW_CASES = {
    "missing data root": (
        lambda t, r: _train(t, "--cfg-options", *demo_cfg_options(t / "no-data")),
        "tools/train.py", 2, "no-data/annotations/demo_wholebody_train.json does not exist"),
}


@pytest.mark.parametrize(
    "case", [*CASES, *(pytest.param(c, marks=pytest.mark.slow) for c in SLOW_CASES)]
)
def test_user_mistakes(case, tmp_path, request):
    build, prog, status, text = {**CASES, **SLOW_CASES}[case]
    cmd = build(tmp_path, request)
    proc = subprocess.run(cmd, cwd=REPO, env=_clean_env(), capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == status, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    errors = [line for line in proc.stderr.splitlines() if ERROR_LINE.match(line)]
    if status == 2:
        assert len(errors) == 1, proc.stderr[-3000:]
        assert errors[0].startswith(f"{prog}: error: ") and text in errors[0], errors[0]
    else:  # finished with some inputs skipped: a line per skipped input, then the summary
        assert errors == [], proc.stderr[-3000:]
        assert proc.stderr.strip().splitlines()[-1] == f"{prog}: {text}", proc.stderr[-3000:]
        assert proc.stderr.count("skipped broken") == 5
