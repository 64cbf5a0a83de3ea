"""The reference row: the DWPose recipe through mmpose 1.3.2's own ``DWPoseDistiller``, run as mmpose runs it.

What "as mmpose runs it" means here (configs ``configs/demo/study/mmpose_dwpose_s{1,2}_demo.py``):
- mmpose's ``DWPoseDistiller`` with its ``FeaLoss`` / ``KDLoss`` at the same weights as our s1 / s2
  configs (:func:`check_reference_weights` refuses a config set where they differ), the teacher
  loaded by the distiller's ``init_weights`` from ``teacher_pretrained``;
- the stock MMEngine ``Runner`` (``runner_type='Runner'``, what mmpose's ``tools/train.py`` builds):
  the teacher is set to eval once and put back in train mode by every ``model.train()`` (its
  BatchNorm statistics drift), the EMA hook averages the teacher too, and schedules are not derived
  from the run's epochs. mmpose's stage-2 configs inherit the stage-1 (270-epoch) schedule while
  training 60 epochs; the study writes the stage-1 schedule for ``E1`` epochs into both mmpose
  runs (:func:`frozen_schedule_options`), so stage 1 matches ours and stage 2 inherits it as in mmpose;
- mmpose's ``tools/misc/pth_transfer.py`` logic (:func:`mmpose_transfer`); that script is not part
  of the installed wheel, so its few lines are re-implemented here.

mmpose 1.3.2 has no distiller hook: the ``1 - e/E`` weight is computed inside
``DWPoseDistiller.loss`` from the message hub.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, Tuple

from dwpose.errors import UserError

SWITCH_HOOKS = ("mmdet.PipelineSwitchHook", "PipelineSwitchHook")


def frozen_schedule_options(config: Path, epochs: int) -> Tuple[str, ...]:
    """cfg-options that write the schedule of an ``epochs``-epoch run into ``config`` explicitly.

    Our configs carry the shape of the schedule (``schedule = dict(...)``) and ``DWPoseRunner``
    derives the epoch numbers from ``train_cfg.max_epochs``; the stock runner does not. These
    options (``param_scheduler.<i>.begin=...``, ``custom_hooks.<i>.switch_epoch=...``) fix the numbers
    that ``DWPoseRunner`` would derive for ``epochs``; a config without ``schedule`` gets none.
    """
    from dwpose.engine.config import read_config
    from dwpose.engine.schedule import apply_schedule

    cfg = read_config(config)
    if not cfg.get("schedule"):
        return ()
    cfg.train_cfg.max_epochs = epochs
    apply_schedule(cfg)
    opts = []
    for i, sched in enumerate(cfg.get("param_scheduler", [])):
        opts += [f"param_scheduler.{i}.{k}={sched[k]}" for k in ("begin", "end", "T_max", "eta_min")
                 if k in sched]
    for i, hook in enumerate(cfg.get("custom_hooks", [])):
        if hook["type"] in SWITCH_HOOKS:
            opts.append(f"custom_hooks.{i}.switch_epoch={hook['switch_epoch']}")
    return tuple(opts)


def mmpose_transfer(src: Path, dst: Path, two_dis: bool) -> None:
    """mmpose's ``pth_transfer.py DIS OUT [--two_dis]``: a DWPoseDistiller checkpoint -> pose checkpoint.

    Stage 1 keeps ``student.*`` with the prefix removed; ``two_dis`` keeps ``teacher.backbone.*`` as
    ``backbone.*`` and ``student.head.*`` as ``head.*`` (mmpose also maps an MGD module that DWPose
    configs do not use). Everything but ``meta`` and ``state_dict`` is dropped, as mmpose does.

    The checkpoint is unpickled without restriction, as mmpose's script does (its unrestricted
    ``torch`` load is what this mirrors), through :func:`dwpose.engine.checkpoint.read_checkpoint`
    with ``trust=True``. Unrestricted unpickling can run code from the file; it is acceptable here
    only because the study reads checkpoints it has just written itself. Never point this at a
    downloaded file (``pth_transfer.py`` of this project reads such checkpoints safely).
    """
    from dwpose.engine.checkpoint import atomic_save, read_checkpoint

    # trusted: the study's own run wrote src moments ago (see the docstring)
    ckpt: Dict[str, Any] = read_checkpoint(src, trust=True)
    keep = (("teacher.backbone.", "teacher."), ("student.head.", "student.")) if two_dis else \
        (("student.", "student."),)
    state: OrderedDict[str, Any] = OrderedDict()
    for key, value in ckpt["state_dict"].items():
        for selected, prefix in keep:
            if key.startswith(selected):
                state[key.removeprefix(prefix)] = value
                break
    if not state:
        raise UserError(f"{src}: no {'teacher.backbone/student.head' if two_dis else 'student'} weights; "
                        "not a DWPoseDistiller checkpoint")
    atomic_save({"meta": ckpt.get("meta"), "state_dict": state}, dst)


def _loss_weights(model: Any) -> Dict[str, float]:
    """``{'fea': alpha, 'logit': w}`` of a TwoStageDistiller or DWPoseDistiller config (0 when off)."""
    if model["type"] == "DWPoseDistiller":
        out = {"fea": 0.0, "logit": 0.0}
        for group in model.get("distill_cfg") or []:
            for loss in group["methods"]:
                if loss.get("use_this", True) and loss["type"] == "FeaLoss":
                    out["fea"] = float(loss["alpha_fea"])
                elif loss.get("use_this", True) and loss["type"] == "KDLoss":
                    out["logit"] = float(loss["weight"])
        return out
    return {"fea": float(model["feature_alpha"]), "logit": float(model["logit_weight"])}


def check_reference_weights(ours: Tuple[Path, Path], reference: Tuple[Path, Path]) -> None:
    """Refuse a reference pair whose loss weights or teacher / student configs differ from ours.

    Args:
        ours: our stage-1 and stage-2 configs (``TwoStageDistiller``).
        reference: the mmpose stage-1 and stage-2 configs (``DWPoseDistiller``).

    Raises:
        UserError: naming the first difference.
    """
    from dwpose.engine.config import read_config

    for stage, (a, b) in enumerate(zip(ours, reference), start=1):
        ma, mb = read_config(a).model, read_config(b).model
        if mb["type"] != "DWPoseDistiller" or bool(mb.get("two_dis", False)) != (stage == 2):
            raise UserError(f"{b} must be a DWPoseDistiller config with two_dis={stage == 2}")
        wa, wb = _loss_weights(ma), _loss_weights(mb)
        if wa != wb:
            raise UserError(f"stage {stage}: loss weights differ between {a.name} {wa} and {b.name} {wb}; "
                            "the reference row must use the same weights")
        for key in ("teacher_cfg", "student_cfg"):
            if os.path.realpath(ma[key]) != os.path.realpath(mb[key]):
                raise UserError(f"stage {stage}: {key} differs between {a.name} ({ma[key]}) and "
                                f"{b.name} ({mb[key]})")
