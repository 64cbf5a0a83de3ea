"""Make one config run on a GPU cluster and on a CPU-only machine.

Without CUDA: SyncBN becomes plain BN (SyncBN cannot run on CPU, not even under gloo), the process
group uses gloo, and DDP wraps the CPU module without device ids. A log line says so.
"""

from __future__ import annotations

import os
import subprocess
from typing import Any, Tuple

import torch
from mmengine.model.utils import revert_sync_batchnorm


def revert_sync_bn_without_cuda(model: torch.nn.Module) -> Tuple[torch.nn.Module, list[str]]:
    """Without CUDA, ``model`` with every SyncBN layer turned into plain BatchNorm (MMEngine's
    ``revert_sync_batchnorm``: same weights and statistics); returns it and the log lines."""
    if torch.cuda.is_available():
        return model, []
    if not any(isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules()):
        return model, []
    return revert_sync_batchnorm(model), ["no CUDA device: using BatchNorm instead of SyncBN"]


def adapt_to_device(cfg: Any, launcher: str) -> list[str]:
    """Adapt ``cfg`` in place to the hardware (process group, DDP wrapper); returns the log lines.

    SyncBN layers are turned into BatchNorm on the built model (:func:`revert_sync_bn_without_cuda`).
    """
    if torch.cuda.is_available():
        return []
    notes = []
    if cfg.get("env_cfg", {}).get("dist_cfg", {}).get("backend") != "gloo":
        cfg.setdefault("env_cfg", {}).setdefault("dist_cfg", {})["backend"] = "gloo"
        notes.append("no CUDA device: distributed backend is gloo")
    if launcher != "none":
        cfg["model_wrapper_cfg"] = dict(type="MMDistributedDataParallel", device_ids=None,
                                        broadcast_buffers=False,
                                        find_unused_parameters=cfg.get("find_unused_parameters", False))
        init_cpu_process_group(launcher)
    return notes


def torch_dist_env(launcher: str) -> None:
    """Set torch.distributed's ``RANK``, ``WORLD_SIZE``, ``MASTER_*`` from Slurm's or Open MPI's variables.

    What MMEngine does for these launchers on CUDA; torchrun (``pytorch``) sets them itself.
    """
    env = os.environ
    if launcher == "slurm":
        env.setdefault("RANK", env["SLURM_PROCID"])
        env.setdefault("WORLD_SIZE", env["SLURM_NTASKS"])
        env.setdefault("LOCAL_RANK", env.get("SLURM_LOCALID", "0"))
        if "MASTER_ADDR" not in env:
            hosts = subprocess.run(["scontrol", "show", "hostname", env["SLURM_NODELIST"]],
                                   capture_output=True, text=True, check=True).stdout.split()
            env["MASTER_ADDR"] = hosts[0]
    elif launcher == "mpi":
        env.setdefault("RANK", env["OMPI_COMM_WORLD_RANK"])
        env.setdefault("WORLD_SIZE", env["OMPI_COMM_WORLD_SIZE"])
        env.setdefault("LOCAL_RANK", env["OMPI_COMM_WORLD_LOCAL_RANK"])
    env.setdefault("MASTER_PORT", "29500")


def init_cpu_process_group(launcher: str = "pytorch") -> None:
    """Start the gloo process group from the launcher's environment (MMEngine's init needs CUDA)."""
    import torch.distributed as dist

    from dwpose.engine.preflight import check_launcher_env

    if dist.is_initialized():
        return
    check_launcher_env(launcher)
    torch_dist_env(launcher)
    dist.init_process_group(backend="gloo")
