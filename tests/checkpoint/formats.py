"""Checkpoints in every format people have, each made for real, and the SimCC outputs they must give.

- ``stock``: MMEngine's own ``Runner`` (not ``DWPoseRunner``) trains the demo student one iteration
  and saves ``epoch_1.pth``: pickled ``HistoryBuffer`` objects in ``message_hub``, numpy values in
  ``meta``, EMA weights swapped into ``state_dict``, ``ema_state_dict``, optimizer, schedulers.
- ``distiller``: mmpose's own ``DWPoseDistiller`` trained one iteration by the stock ``Runner``
  (``configs/demo/study/mmpose_dwpose_s1_demo.py``, random teacher).
- ``dwpose_transfer``: that distiller checkpoint re-saved as DWPose's ``pth_transfer.py`` does
  (whole checkpoint read without restriction, ``student.`` keys renamed, ``meta`` and
  ``message_hub`` kept).
- ``ddp``: a bare state dict with DDP's ``module.`` prefix; ``bare``: a bare state dict.
- ``evil``: a pickle whose ``__reduce__`` would run ``touch MARKER``.

The reference outputs come from the in-memory models the runs end with (the EMA hooks' averaged
copies, which MMEngine saves as ``state_dict``), never from reading the files back.
"""

from __future__ import annotations

import os
import pickle
from collections import OrderedDict
from pathlib import Path
from types import SimpleNamespace
from typing import Dict

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
STUDENT_CFG = REPO / "configs/demo/rtmpose-student_demo.py"
DISTILLER_CFG = REPO / "configs/demo/study/mmpose_dwpose_s1_demo.py"
INPUT_HW = (128, 96)
FORMATS = ("stock", "distiller", "dwpose_transfer", "ddp", "bare", "evil")


class RunsCode:
    """Unpickling this runs ``touch marker`` (``os.system``): what a malicious checkpoint does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def fixed_input() -> torch.Tensor:
    """``(2, 3, 128, 96)`` normalised crops, seed 0."""
    return torch.from_numpy(np.random.default_rng(0).standard_normal((2, 3, *INPUT_HW)).astype(np.float32))


def simcc(model: torch.nn.Module, x: torch.Tensor) -> tuple:
    """``(simcc_x, simcc_y)`` of a top-down pose model in eval mode."""
    model.eval()
    with torch.no_grad():
        return tuple(t.clone() for t in model.head.forward(model.extract_feat(x)))


def _stock_runner(config: Path, data_root: Path, work_dir: Path):
    """MMEngine's ``Runner`` for one training iteration of ``config`` on two demo samples."""
    from mmengine.runner import Runner

    from dwpose.engine.config import load_config

    options = {"data_root": f"{data_root}/", "train_dataloader.num_workers": 0,
               "train_dataloader.persistent_workers": False, "train_dataloader.batch_size": 2,
               "train_dataloader.dataset.indices": 2, "val_dataloader.num_workers": 0,
               "val_dataloader.persistent_workers": False, "default_hooks.logger.interval": 1}
    cfg = load_config(str(config), options)
    cfg.pop("runner_type", None)
    cfg.work_dir = str(work_dir)
    cfg.launcher = "none"
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None  # no validation at the last epoch
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(type="CheckpointHook", interval=1)
    cfg.visualizer.vis_backends = [dict(type="LocalVisBackend")]
    cfg.model = _plain_bn(cfg.model)  # the stock runner on CPU: SyncBN cannot train there
    return Runner.from_cfg(cfg)


def _plain_bn(node):
    if isinstance(node, dict):
        return type(node)({k: ("BN" if k == "type" and v == "SyncBN" else _plain_bn(v))
                           for k, v in node.items()})
    if isinstance(node, (list, tuple)):
        return type(node)(_plain_bn(v) for v in node)
    return node


def _ema_module(runner) -> torch.nn.Module:
    """The averaged model the run ends with (what MMEngine's EMA hook saves as ``state_dict``)."""
    from mmengine.hooks import EMAHook

    hook = next(h for h in runner.hooks if isinstance(h, EMAHook))
    return hook.ema_model.module


def _dwpose_pth_transfer(src: Path, dst: Path) -> None:
    """DWPose's ``pth_transfer.py``, as its users ran it: load everything, rename ``student.``."""
    ckpt = torch.load(src, map_location="cpu", weights_only=False)  # the script's own, trusted load
    state = OrderedDict((k[len("student."):], v) for k, v in ckpt["state_dict"].items()
                        if k.startswith("student."))
    torch.save({"meta": ckpt["meta"], "message_hub": ckpt["message_hub"], "state_dict": state}, dst)


def build_formats(folder: Path, data_root: Path) -> SimpleNamespace:
    """Every format of the module docstring under ``folder``; returns paths and reference outputs.

    Returns:
        ``paths`` {format: Path}, ``refs`` {format: (simcc_x, simcc_y) or None}, ``marker`` (must
        never appear), ``stock_work_dir`` (a stock run's work dir, for resuming), ``x`` (the input).
    """
    x = fixed_input()
    stock_dir, dis_dir = folder / "stock_run", folder / "distiller_run"
    runner = _stock_runner(STUDENT_CFG, data_root, stock_dir)
    runner.train()
    pose_ref = simcc(_ema_module(runner), x)
    del runner
    dis_runner = _stock_runner(DISTILLER_CFG, data_root, dis_dir)
    dis_runner.train()
    student_ref = simcc(_ema_module(dis_runner).student, x)
    del dis_runner

    paths: Dict[str, Path] = {"stock": stock_dir / "epoch_1.pth", "distiller": dis_dir / "epoch_1.pth"}
    paths["dwpose_transfer"] = folder / "dwpose_transfer.pth"
    _dwpose_pth_transfer(paths["distiller"], paths["dwpose_transfer"])
    state = torch.load(paths["stock"], map_location="cpu", weights_only=False)["state_dict"]
    paths["ddp"], paths["bare"] = folder / "ddp.pth", folder / "bare.pth"
    torch.save(OrderedDict((f"module.{k}", v) for k, v in state.items()), paths["ddp"])
    torch.save(state, paths["bare"])
    marker = folder / "pickle-ran-code"
    paths["evil"] = folder / "evil.pth"
    torch.save({"state_dict": state, "meta": {"note": RunsCode(marker)}}, paths["evil"],
               pickle_module=pickle)
    refs = {"stock": pose_ref, "ddp": pose_ref, "bare": pose_ref, "distiller": student_ref,
            "dwpose_transfer": student_ref, "evil": None}
    return SimpleNamespace(paths=paths, refs=refs, marker=marker, stock_work_dir=stock_dir, x=x)
