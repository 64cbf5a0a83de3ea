"""Make one config run on a GPU cluster and on a CPU-only machine.

Without CUDA: SyncBN becomes plain BN (SyncBN cannot run on CPU, not even under gloo), the process
group uses gloo, and DDP wraps the CPU module without device ids. A log line says so.
"""

from __future__ import annotations

import os
from typing import Any

import torch


def replace_norm_type(node: Any, old: str, new: str) -> int:
    """Replace ``norm_cfg.type == old`` by ``new`` everywhere in a nested config; returns the count."""
    count = 0
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "norm_cfg" and isinstance(value, dict) and value.get("type") == old:
                value["type"] = new
                count += 1
            else:
                count += replace_norm_type(value, old, new)
    elif isinstance(node, (list, tuple)):
        for item in node:
            count += replace_norm_type(item, old, new)
    return count


def adapt_to_device(cfg: Any, launcher: str) -> list[str]:
    """Adapt ``cfg`` in place to the hardware; returns the log lines describing what changed."""
    if torch.cuda.is_available():
        return []
    notes = []
    n = replace_norm_type(cfg.get("model", {}), "SyncBN", "BN")
    if n:
        notes.append("no CUDA device: using BatchNorm instead of SyncBN")
    if cfg.get("env_cfg", {}).get("dist_cfg", {}).get("backend") != "gloo":
        cfg.setdefault("env_cfg", {}).setdefault("dist_cfg", {})["backend"] = "gloo"
        notes.append("no CUDA device: distributed backend is gloo")
    if launcher != "none":
        cfg["model_wrapper_cfg"] = dict(type="MMDistributedDataParallel", device_ids=None,
                                        broadcast_buffers=False,
                                        find_unused_parameters=cfg.get("find_unused_parameters", False))
        init_cpu_process_group()
    return notes


def init_cpu_process_group() -> None:
    """Start the gloo process group from torchrun's environment (MMEngine's init needs CUDA)."""
    import torch.distributed as dist

    if dist.is_initialized():
        return
    missing = [k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise ValueError(f"--launcher pytorch needs torchrun's environment (missing {', '.join(missing)}); "
                         "start it with tools/dist_train.sh")
    dist.init_process_group(backend="gloo")
