"""`tools/dist_train.sh CONFIG 2` really trains with two processes on a CPU-only machine."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
import torch

from dwpose.engine.checkpoint import load_checkpoint_file
from tests.conftest import demo_cfg_options

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_cpu_training(tmp_path, demo_data):
    if torch.cuda.is_available():
        pytest.skip("checks the CPU (gloo) path")
    work = tmp_path / "work"
    env = {"PORT": str(_free_port()), "PATH": "/usr/bin:/bin"}
    cmd = ["bash", str(REPO / "tools/dist_train.sh"), str(REPO / "configs/demo/rtmpose-student_demo.py"), "2",
           "--work-dir", str(work), "--cfg-options",
           *demo_cfg_options(demo_data, **{"train_cfg.max_epochs": 1, "train_dataloader.batch_size": 4})]
    # from another directory: the script finds the repo itself
    out = subprocess.run(cmd, cwd=tmp_path, env={**env, "HOME": str(tmp_path)}, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    log = "\n".join(p.read_text() for p in work.rglob("*.log"))
    assert "Distributed training: True" in log
    assert "using BatchNorm instead of SyncBN" in log and "gloo" in log
    # 16 samples, batch 4 per process, 2 processes -> 2 iterations per epoch (4 on one process)
    assert "Epoch(train) [1][2/2]" in log
    assert load_checkpoint_file(work / "epoch_1.pth")["meta"]["iter"] == 2
