"""Multi-node launches: two torchrun "nodes" on this machine, and slurm's variable mapping.

- ``tools/dist_train.sh`` with ``NNODES=2 NODE_RANK=0/1 MASTER_ADDR=127.0.0.1 PORT=<free>``, one
  process per node (gloo): a probe hook writes what each rank's training sampler yields and which
  rank saved a checkpoint. Both ranks must hold the same shuffle rule (seed, length), disjoint
  halves of one permutation (the reference: ``DefaultSampler``'s rule, recomputed here), and only
  rank 0 (node 0) writes the checkpoint.
- ``tools/slurm_train.sh`` with a stand-in ``srun`` on ``PATH`` that records its arguments and
  environment: the script's variables must map to srun's options and train.py's arguments.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from tests.conftest import demo_cfg_options

REPO = Path(__file__).resolve().parents[2]
STUDENT_CFG = REPO / "configs/demo/rtmpose-student_demo.py"
SAMPLES = 8  # train samples used: 4 per rank, batch 2 -> 2 iterations

PROBE = '''
"""Records each rank's training-sampler indices and every checkpoint save (test helper)."""
import json
import os

from mmengine.hooks import Hook
from mmpose.registry import HOOKS


@HOOKS.register_module()
class PartitionProbe(Hook):
    def __init__(self, out):
        self.out = out

    def _write(self, name, data):
        with open(os.path.join(self.out, name), "a") as f:
            f.write(json.dumps(data) + "\\n")

    def before_train_epoch(self, runner):
        sampler = runner.train_dataloader.sampler
        inner = getattr(sampler, "sampler", sampler)  # the per-sample-seed wrapper, if any
        indices = [int(getattr(i, "index", i)) for i in sampler]
        self._write(f"rank{runner.rank}.json", dict(
            rank=runner.rank, world_size=runner.world_size, indices=indices,
            seed=int(inner.seed), shuffle=bool(inner.shuffle), dataset_len=len(inner.dataset),
            epoch=runner.epoch))

    def before_save_checkpoint(self, runner, checkpoint):
        self._write("saves.json", dict(rank=runner.rank, epoch=checkpoint["meta"]["epoch"]))
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _probe_config(folder: Path) -> Path:
    """The demo student config plus the probe hook (importable from ``folder``)."""
    (folder / "partition_probe.py").write_text(PROBE)
    cfg = folder / "probe_cfg.py"
    cfg.write_text(textwrap.dedent(f"""\
        _base_ = [{str(STUDENT_CFG)!r}]
        custom_imports = dict(imports=['dwpose.plugin', 'partition_probe'], allow_failed_imports=False)
        custom_hooks = [dict(type='PartitionProbe', out={str(folder)!r})]
        """))
    return cfg


def _node_env(folder: Path, node: int, port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANK", "WORLD_SIZE", "LOCAL_",
                                                                     "MASTER_", "TORCHELASTIC"))}
    return {**env, "NNODES": "2", "NODE_RANK": str(node), "MASTER_ADDR": "127.0.0.1",
            "PORT": str(port), "PYTHON": sys.executable, "PYTHONPATH": str(folder),
            "OMP_NUM_THREADS": "1", "HOME": str(folder), "CUDA_VISIBLE_DEVICES": ""}


def _reference_partition(n: int, seed: int, epoch: int, rank: int, world: int) -> list:
    """``DefaultSampler(shuffle=True, round_up=True)``: one permutation, every world-th index."""
    g = torch.Generator()
    g.manual_seed(seed + epoch)
    order = torch.randperm(n, generator=g).tolist()
    total = -(-n // world) * world
    order = (order * (total // n + 1))[:total]
    return order[rank:total:world]


def test_two_nodes_on_loopback_share_one_partition_rule(tmp_path, demo_data):
    cfg = _probe_config(tmp_path)
    opts = demo_cfg_options(demo_data, **{
        "train_dataloader.batch_size": 2, "train_dataloader.dataset.indices": SAMPLES,
        "train_cfg.max_epochs": 1, "val_cfg": None, "val_dataloader": None, "val_evaluator": None,
        "visualizer.vis_backends": "[]", "default_hooks.checkpoint.interval": 1,
        "default_hooks.checkpoint.save_best": None, "default_hooks.logger.interval": 1})
    port = _free_port()
    procs = []
    for node in (0, 1):
        cmd = ["bash", str(REPO / "tools/dist_train.sh"), str(cfg), "1", "--work-dir",
               str(tmp_path / f"work{node}"), "--cfg-options", *opts]
        procs.append(subprocess.Popen(cmd, cwd=tmp_path, env=_node_env(tmp_path, node, port),
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    try:
        outs = [p.communicate(timeout=240)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for node, (p, out) in enumerate(zip(procs, outs)):
        assert p.returncode == 0, f"node {node}:\n{out[-3000:]}"

    seen = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [s["rank"] for s in seen] == [0, 1] and {s["world_size"] for s in seen} == {2}
    assert len({(s["seed"], s["shuffle"], s["dataset_len"], s["epoch"]) for s in seen}) == 1
    n, seed = seen[0]["dataset_len"], seen[0]["seed"]
    assert n == SAMPLES and seen[0]["shuffle"]
    assert set(seen[0]["indices"]).isdisjoint(seen[1]["indices"])
    assert sorted(seen[0]["indices"] + seen[1]["indices"]) == list(range(n))
    for s in seen:
        assert s["indices"] == _reference_partition(n, seed, s["epoch"], s["rank"], 2)
    saves = [json.loads(line) for line in (tmp_path / "saves.json").read_text().splitlines()]
    assert saves == [{"rank": 0, "epoch": 1}]  # one save, by rank 0
    assert (tmp_path / "work0/epoch_1.pth").is_file() and not list((tmp_path / "work1").rglob("*.pth"))
    log = "\n".join(p.read_text() for p in (tmp_path / "work0").rglob("*.log"))
    assert "Epoch(train) [1][2/2]" in log  # 8 samples, batch 2 on each of 2 ranks


SRUN = """#!/usr/bin/env bash
{ printf '%s\\0' "$@"; } > "$RECORD/args"
env -0 > "$RECORD/env"
"""


def _record(folder: Path) -> tuple[list, dict]:
    args = (folder / "args").read_text().split("\0")[:-1]
    env = dict(item.split("=", 1) for item in (folder / "env").read_text().split("\0") if "=" in item)
    return args, env


@pytest.mark.parametrize("gpus, extra_env, per_node, cpus", [
    ("16", {}, "8", "5"),
    ("4", {"GPUS_PER_NODE": "2", "CPUS_PER_TASK": "3", "SRUN_ARGS": "--quotatype=auto -x node7"}, "2", "3"),
])
def test_slurm_script_maps_its_variables_to_srun(gpus, extra_env, per_node, cpus, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text(SRUN)
    (bin_dir / "srun").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "RECORD": str(tmp_path), "HOME": str(tmp_path),
           "PYTHON": "/opt/py/bin/python", "PYTHONPATH": "/extra", **extra_env}
    cmd = ["bash", str(REPO / "tools/slurm_train.sh"), "gpu-part", "job1", str(STUDENT_CFG),
           str(tmp_path / "work"), gpus, "--amp", "--cfg-options", "a=1"]
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    args, srun_env = _record(tmp_path)
    srun_args = extra_env.get("SRUN_ARGS", "").split()
    assert args == ["-p", "gpu-part", "--job-name=job1", f"--gres=gpu:{per_node}", f"--ntasks={gpus}",
                    f"--ntasks-per-node={per_node}", f"--cpus-per-task={cpus}", "--kill-on-bad-exit=1",
                    *srun_args, "/opt/py/bin/python", "-u", str(REPO / "tools/train.py"), str(STUDENT_CFG),
                    f"--work-dir={tmp_path / 'work'}", "--launcher", "slurm", "--amp", "--cfg-options", "a=1"]
    assert srun_env["PYTHONPATH"] == f"{REPO}:/extra"  # the repo first, the caller's path kept


@pytest.mark.parametrize("gpus, env, message", [
    ("0", {}, "GPUS must be a whole number >= 1, got '0'"),
    ("4", {"GPUS_PER_NODE": "x"}, "GPUS_PER_NODE must be a whole number >= 1, got 'x'"),
])
def test_slurm_script_refuses_bad_counts_before_srun(gpus, env, message, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text(SRUN)
    (bin_dir / "srun").chmod(0o755)
    cmd = ["bash", str(REPO / "tools/slurm_train.sh"), "p", "j", str(STUDENT_CFG), "w", gpus]
    out = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env={"PATH": f"{bin_dir}:/usr/bin:/bin", "RECORD": str(tmp_path), **env})
    assert out.returncode == 2 and out.stderr.strip() == f"tools/slurm_train.sh: error: {message}"
    assert not (tmp_path / "args").exists()
