"""A run killed with SIGKILL inside an epoch and resumed ends with exactly the tensors of an
uninterrupted run (weights, BN statistics, EMA, optimizer state, random streams), and the killed
run leaves no DataLoader worker behind.

The runs use one persistent DataLoader worker, dropout, EMA, validation after epoch 2 and the
pipeline switch in epoch 4, one CPU thread each (bit-identical results need the same thread count).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from dwpose.engine.checkpoint import load_checkpoint_file
from tests.conftest import demo_cfg_options

REPO = Path(__file__).resolve().parents[2]
STUDENT = REPO / "configs/demo/rtmpose-student_demo.py"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# 16 samples, batch 4: 4 iterations per epoch, 16 in all; dropout and drop-path draw from torch's
# global generator in every training step
RUN = {"train_cfg.max_epochs": 4, "train_cfg.val_interval": 2, "train_dataloader.batch_size": 4,
       "train_dataloader.num_workers": 1, "train_dataloader.persistent_workers": True,
       "model.head.gau_cfg.dropout_rate": 0.1, "model.head.gau_cfg.drop_path": 0.1,
       "default_hooks.logger.interval": 1, "default_hooks.checkpoint.max_keep_ckpts": 20}
BY_EPOCH = {"default_hooks.checkpoint.interval": 1}
BY_ITER = {"default_hooks.checkpoint.by_epoch": False, "default_hooks.checkpoint.interval": 3}


def _cmd(work_dir: Path, data: Path, ckpt: dict, *extra: str) -> list[str]:
    return [sys.executable, str(REPO / "tools/train.py"), str(STUDENT), "--work-dir", str(work_dir),
            *extra, "--cfg-options", *demo_cfg_options(data, **RUN, **ckpt)]


def _train(work_dir: Path, data: Path, ckpt: dict, *extra: str) -> str:
    out = subprocess.run(_cmd(work_dir, data, ckpt, *extra), capture_output=True, text=True,
                         timeout=900, env=ENV)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _kill_inside_epoch(work_dir: Path, data: Path, ckpt: dict, epoch: int, batch: int) -> list[int]:
    """Start a run, SIGKILL it once its log shows batch ``batch`` of epoch ``epoch`` (1-based)
    done; returns the DataLoader worker pids it had."""
    done = re.compile(rf"Epoch\(train\)\s*\[{epoch}\]\[\s*{batch}/4\]")
    proc = subprocess.Popen(_cmd(work_dir, data, ckpt), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=ENV)
    deadline, workers = time.time() + 600, []
    try:
        while proc.poll() is None and time.time() < deadline:
            workers = _children(proc.pid) or workers
            if any(done.search(log.read_text()) for log in work_dir.glob("*/*.log")):
                break
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    return workers


def _assert_no_worker_left(workers: list[int]) -> None:
    assert workers, "the killed run had no DataLoader worker (the test must cover one)"
    deadline = time.time() + 5
    while any(map(_alive, workers)) and time.time() < deadline:
        time.sleep(0.05)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"DataLoader workers {left} outlived the killed run"


def _tensors(node, prefix: str = "") -> dict[str, torch.Tensor]:
    """Every tensor of a checkpoint, by path (meta and the log history hold none that train)."""
    if isinstance(node, torch.Tensor):
        return {prefix: node}
    items = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, (list, tuple)) else ()
    out = {}
    for key, value in items:
        if prefix or key not in ("meta", "message_hub"):
            out.update(_tensors(value, f"{prefix}/{key}"))
    return out


def _assert_same_tensors(ckpt: Path, ref: dict[str, torch.Tensor]) -> None:
    got = _tensors(load_checkpoint_file(ckpt))
    assert got.keys() == ref.keys()
    for section in ("/state_dict/", "/ema_state_dict/", "/optimizer/state/", "/rng_states/"):
        assert any(k.startswith(section) for k in ref), f"no {section} tensors to compare"
    differ = [k for k in ref if not torch.equal(got[k], ref[k])]
    assert not differ, f"{len(differ)} of {len(ref)} tensors differ, e.g. {differ[:5]}"


@pytest.fixture(scope="module")
def reference(tmp_path_factory, demo_data) -> dict[str, torch.Tensor]:
    """The tensors of the final checkpoint of an uninterrupted run."""
    work_dir = tmp_path_factory.mktemp("uninterrupted")
    _train(work_dir, demo_data, BY_EPOCH)
    return _tensors(load_checkpoint_file(work_dir / "epoch_4.pth"))


@pytest.mark.slow
def test_kill_inside_an_epoch_then_resume_is_exact(tmp_path, demo_data, reference):
    workers = _kill_inside_epoch(tmp_path, demo_data, BY_EPOCH, epoch=3, batch=2)
    _assert_no_worker_left(workers)
    assert (tmp_path / "epoch_2.pth").exists() and not (tmp_path / "epoch_3.pth").exists()
    for ckpt in tmp_path.glob("epoch_*.pth"):  # a kill never leaves a truncated epoch_N.pth
        load_checkpoint_file(ckpt)

    out = _train(tmp_path, demo_data, BY_EPOCH, "--resume")
    assert f"resume: {tmp_path / 'epoch_2.pth'}" in out
    _assert_same_tensors(tmp_path / "epoch_4.pth", reference)


@pytest.mark.slow
def test_resume_from_a_checkpoint_inside_an_epoch_is_exact(tmp_path, demo_data, reference):
    """Iteration checkpoints: ``iter_9.pth`` is one batch into epoch 3; the resumed run trains
    the three batches after it, not epoch 3 again from its first batch."""
    workers = _kill_inside_epoch(tmp_path, demo_data, BY_ITER, epoch=3, batch=3)
    _assert_no_worker_left(workers)
    assert (tmp_path / "iter_9.pth").exists() and not (tmp_path / "iter_12.pth").exists()

    _train(tmp_path, demo_data, BY_ITER, "--resume")
    log = max(tmp_path.glob("*/*.log")).read_text()
    assert "resumed epoch: 2, iter: 9" in log
    assert not re.search(r"Epoch\(train\)\s*\[3\]\[\s*1/4\]", log), "epoch 3 restarted"
    # saved after the last iteration, before the epoch-end hooks (which change no tensor here)
    _assert_same_tensors(tmp_path / "iter_16.pth", reference)
