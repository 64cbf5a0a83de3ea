"""`tools/gpu_check.sh --dry-run`: every step's command line is built and parsed on a CPU machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _dry_run(out: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHON=sys.executable, PYTHONPATH=str(REPO))
    env.pop("OUT", None)
    return subprocess.run(["bash", str(REPO / "tools/gpu_check.sh"), "--dry-run", "--out", str(out), *extra],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_dry_run_checks_every_step(tmp_path, coco_mini):
    pytest.importorskip("mmpose")
    run = _dry_run(tmp_path / "out", "--data", str(coco_mini))
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((tmp_path / "out/gpu_check.json").read_text())
    steps = report["steps"]
    assert report["dry_run"] is True
    # the figures: t and l with and without --amp, distillation, NCCL, 4 worker counts x 2 sides,
    # predict with onnxruntime and with PyTorch
    for name in ("train-t", "train-t-amp", "train-l", "train-l-amp", "distill", "dist-train",
                 "predict-onnx-cli", "predict-torch-cli", "predict-onnx", "predict-torch"):
        assert name in steps, name
    assert sorted(n for n in steps if n.startswith("feed-")) == sorted(
        f"feed-{s}-w{n}" for s in ("fast", "mmpose") for n in (1, 4, 8, 16))
    # dist_train.sh really built a torchrun line with one process
    assert "--nproc_per_node=1" in steps["dist-train"]["note"]
    assert all("--device" in s["argv"] and "cuda" in s["argv"] for n, s in steps.items()
               if n.startswith(("train-", "feed-", "predict-")))
    assert "| distill |" in (tmp_path / "out/gpu_check.md").read_text()


def test_a_rotten_command_line_fails_the_dry_run():
    """A step whose arguments its program no longer takes is refused, naming the step."""
    sys.path.insert(0, str(REPO / "tools/analysis"))
    import gpu_check

    bad = dict(name="train-t", parser="gpu_steps",
               argv=[sys.executable, "tools/analysis/gpu_steps.py", "train", "--size", "t", "--epochs", "1"])
    with pytest.raises(RuntimeError, match=r"(?s)step train-t: .*unrecognized arguments: --epochs"):
        gpu_check.check_argv(bad)
    bad = dict(name="predict-onnx-cli", parser="dwpose",
               argv=[sys.executable, "-m", "dwpose.cli", "predict", "x.jpg", "--out", "o",
                     "--device", "cuda"])
    with pytest.raises(RuntimeError, match=r"(?s)step predict-onnx-cli: .*--pose"):
        gpu_check.check_argv(bad)


def test_real_run_without_the_carried_wheels_is_one_error_line(tmp_path):
    """Off the dry run, a carry folder without the pinned files stops before any install."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    run = subprocess.run(["bash", str(REPO / "tools/gpu_check.sh"), "--carry", str(tmp_path / "empty"),
                          "--out", str(tmp_path / "out")], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1].startswith("error: the carry folder")
    assert "mmcv==2.1.0" in run.stderr
