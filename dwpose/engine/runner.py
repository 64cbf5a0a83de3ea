"""``DWPoseRunner``: MMEngine's Runner with the project's runtime guarantees.

- the schedule follows the run's own ``max_epochs`` (:mod:`dwpose.engine.schedule`);
- the same config runs without CUDA (:mod:`dwpose.engine.device`);
- checkpoints are written to a temporary file and renamed, so a kill never leaves a truncated
  ``epoch_N.pth`` behind for ``--resume`` to trip over.

Configs select it with ``runner_type = 'DWPoseRunner'``.
"""

from __future__ import annotations

import os
import os.path as osp

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.logging import print_log
from mmengine.registry import RUNNERS  # root registry: found with or without a default scope
from mmengine.runner import Runner

from dwpose.engine import checkpoint as _checkpoint  # noqa: F401  (weights_only allow-list)
from dwpose.engine.device import adapt_to_device
from dwpose.engine.schedule import apply_schedule


@RUNNERS.register_module()
class DWPoseRunner(Runner):
    """Runner with derived schedules, CPU fallbacks and atomic checkpoints."""

    @classmethod
    def from_cfg(cls, cfg: Config) -> DWPoseRunner:
        cfg = cfg.copy()
        apply_schedule(cfg)
        hooks = list(cfg.get("custom_hooks") or [])
        if not any(h.get("type") == "WeightsOnlyCheckpointHook" for h in hooks):
            hooks.append(dict(type="WeightsOnlyCheckpointHook"))
        cfg.custom_hooks = hooks
        notes = adapt_to_device(cfg, cfg.get("launcher", "none"))
        runner = super().from_cfg(cfg)
        for note in notes:
            print_log(note, logger="current")
        return runner

    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        tmp_name = f".{filename}.part"
        super().save_checkpoint(out_dir, tmp_name, *args, **kwargs)
        if is_main_process():  # MMEngine writes checkpoints on rank 0 only
            os.replace(osp.join(out_dir, tmp_name), osp.join(out_dir, filename))
