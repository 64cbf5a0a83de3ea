"""A run killed mid-training resumes from its last complete checkpoint and ends where an
uninterrupted run ends: same iteration count, same optimizer step counts and learning rate."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dwpose.engine.checkpoint import load_checkpoint_file
from tests.conftest import demo_cfg_options

REPO = Path(__file__).resolve().parents[2]
STUDENT = REPO / "configs/demo/rtmpose-student_demo.py"


def _cmd(work_dir: Path, data: Path, *extra: str) -> list[str]:
    return [sys.executable, str(REPO / "tools/train.py"), str(STUDENT), "--work-dir", str(work_dir),
            *extra, "--cfg-options",
            *demo_cfg_options(data, **{"train_cfg.max_epochs": 4, "train_dataloader.batch_size": 4,
                                       "default_hooks.checkpoint.interval": 1,
                                       "default_hooks.checkpoint.max_keep_ckpts": 10})]


def _summary(ckpt_path: Path) -> tuple:
    ckpt = load_checkpoint_file(ckpt_path)
    opt = ckpt["optimizer"]
    steps = sorted({int(s["step"]) for s in opt["state"].values()})
    lrs = [round(g["lr"], 12) for g in opt["param_groups"]]
    return ckpt["meta"]["epoch"], ckpt["meta"]["iter"], steps, lrs


@pytest.mark.slow
def test_kill_and_resume(tmp_path, demo_data):
    ref_dir, run_dir = tmp_path / "ref", tmp_path / "killed"
    subprocess.run(_cmd(ref_dir, demo_data), check=True, capture_output=True, timeout=600)

    proc = subprocess.Popen(_cmd(run_dir, demo_data), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (run_dir / "epoch_1.pth").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run_dir / "epoch_4.pth").exists(), "run finished before it could be killed"
    # a kill may leave a `.epoch_N.pth.part`, but every file named epoch_N.pth is complete
    for ckpt in run_dir.glob("epoch_*.pth"):
        load_checkpoint_file(ckpt)

    out = subprocess.run(_cmd(run_dir, demo_data, "--resume"), capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "resume: " in out.stdout and "starting fresh" not in out.stdout
    assert _summary(run_dir / "epoch_4.pth") == _summary(ref_dir / "epoch_4.pth")
    epoch, it, steps, _ = _summary(run_dir / "epoch_4.pth")
    assert (epoch, it, steps) == (4, 16, [16])
