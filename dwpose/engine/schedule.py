"""Derive the recipe's schedule from the run's own epoch count.

The reference stage-2 configs inherit a schedule written for 270 epochs; with 60 epochs the cosine
never starts and the pipeline switch never fires. Our configs carry the *shape* of the schedule::

    schedule = dict(warmup_iters=1000, cosine_from=0.5, eta_min_factor=0.05, pipeline_switch_at=8 / 9)

and :func:`apply_schedule` rewrites ``param_scheduler`` and the ``PipelineSwitchHook`` from
``train_cfg.max_epochs`` (DWPoseRunner calls it, so ``--cfg-options train_cfg.max_epochs=N`` works).
"""

from __future__ import annotations

from typing import Any

from dwpose.errors import UserError


def schedule_epochs(max_epochs: int, cosine_from: float, pipeline_switch_at: float) -> dict[str, int]:
    """Epoch boundaries for a run of ``max_epochs`` epochs.

    Returns:
        ``cosine_begin`` (first epoch of the cosine decay), ``cosine_end`` (= max_epochs) and
        ``switch_epoch`` (epoch at which the milder training pipeline takes over).
    """
    if max_epochs < 1:
        raise UserError(f"train_cfg.max_epochs must be >= 1, got {max_epochs}")
    begin = min(max_epochs - 1, int(round(max_epochs * cosine_from)))
    switch = min(max_epochs - 1, int(round(max_epochs * pipeline_switch_at)))
    return dict(cosine_begin=begin, cosine_end=max_epochs, switch_epoch=switch)


def apply_schedule(cfg: Any) -> None:
    """Rewrite ``cfg.param_scheduler`` and the pipeline-switch hook in place from ``cfg.schedule``.

    Does nothing for configs without a ``schedule`` entry.
    """
    shape = cfg.get("schedule")
    if not shape:
        return
    max_epochs = int(cfg.train_cfg.max_epochs)
    ep = schedule_epochs(max_epochs, shape["cosine_from"], shape["pipeline_switch_at"])
    base_lr = cfg.optim_wrapper.optimizer.lr
    for sched in cfg.get("param_scheduler", []):
        if sched["type"] == "LinearLR":
            sched["end"] = int(shape["warmup_iters"])
        elif sched["type"] == "CosineAnnealingLR":
            sched.update(begin=ep["cosine_begin"], end=ep["cosine_end"],
                         T_max=ep["cosine_end"] - ep["cosine_begin"],
                         eta_min=base_lr * shape["eta_min_factor"])
    for hook in cfg.get("custom_hooks", []):
        if hook["type"] in ("mmdet.PipelineSwitchHook", "PipelineSwitchHook"):
            hook["switch_epoch"] = ep["switch_epoch"]
