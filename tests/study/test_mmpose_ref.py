"""The reference row's pieces: mmpose's converter logic, the frozen schedule, the weight check."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from dwpose.study.mmpose_ref import check_reference_weights, frozen_schedule_options, mmpose_transfer

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "configs" / "demo"
MM_S1, MM_S2 = DEMO / "study" / "mmpose_dwpose_s1_demo.py", DEMO / "study" / "mmpose_dwpose_s2_demo.py"


def _distiller_ckpt(path):
    """A checkpoint as the stock runner saves a DWPoseDistiller, with a pickled HistoryBuffer."""
    from mmengine.logging.history_buffer import HistoryBuffer

    t = lambda v: torch.full((2,), float(v))  # noqa: E731
    state = {"teacher.backbone.w": t(1), "teacher.head.w": t(2), "student.backbone.w": t(3),
             "student.head.w": t(4), "distill_losses.loss_fea.align.weight": t(5)}
    torch.save({"meta": {"epoch": 3}, "state_dict": state, "optimizer": {"x": 1},
                "message_hub": {"log_scalars": {"loss": HistoryBuffer([1.0], [1])}}}, path)
    return path


def test_mmpose_transfer_stage1_and_two_dis(tmp_path):
    src = _distiller_ckpt(tmp_path / "dis.pth")
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        torch.load(src, weights_only=True)  # what mmpose's own script runs into under torch >= 2.6
    mmpose_transfer(src, tmp_path / "s1.pth", two_dis=False)
    s1 = torch.load(tmp_path / "s1.pth", weights_only=True)
    assert set(s1) == {"meta", "state_dict"} and s1["meta"] == {"epoch": 3}
    assert {k: v[0].item() for k, v in s1["state_dict"].items()} == {"backbone.w": 3.0, "head.w": 4.0}
    mmpose_transfer(src, tmp_path / "s2.pth", two_dis=True)
    s2 = torch.load(tmp_path / "s2.pth", weights_only=True)["state_dict"]
    assert {k: v[0].item() for k, v in s2.items()} == {"backbone.w": 1.0, "head.w": 4.0}
    torch.save({"state_dict": {"backbone.w": torch.zeros(1)}}, tmp_path / "plain.pth")
    with pytest.raises(ValueError, match="not a DWPoseDistiller checkpoint"):
        mmpose_transfer(tmp_path / "plain.pth", tmp_path / "x.pth", two_dis=False)


def test_frozen_schedule_is_the_stage1_schedule_written_out():
    from mmengine.config import Config

    # for the demo's 25 epochs the options equal what the config file writes out
    cfg = Config.fromfile(str(MM_S1))
    opts = frozen_schedule_options(MM_S1, 25)
    cos, switch = cfg.param_scheduler[1], cfg.custom_hooks[1]
    assert f"param_scheduler.1.begin={cos.begin}" in opts and f"param_scheduler.1.end={cos.end}" in opts
    assert f"param_scheduler.1.T_max={cos.T_max}" in opts
    assert f"param_scheduler.0.end={cfg.param_scheduler[0].end}" in opts
    assert f"custom_hooks.1.switch_epoch={switch.switch_epoch}" in opts
    # a 4-epoch stage 1: cosine over epochs 2-4, switch at epoch 3; stage 2 inherits exactly that
    assert frozen_schedule_options(MM_S1, 4) == frozen_schedule_options(MM_S2, 4)
    assert {"param_scheduler.1.begin=2", "param_scheduler.1.end=4", "param_scheduler.1.T_max=2",
            "custom_hooks.1.switch_epoch=3"} <= set(frozen_schedule_options(MM_S2, 4))


def test_frozen_options_merge_into_the_config():
    from mmengine.config import DictAction

    from dwpose.engine.config import load_config

    opts = dict(o.split("=", 1) for o in frozen_schedule_options(MM_S2, 4))  # as tools/train.py parses them
    cfg = load_config(str(MM_S2), {k: DictAction._parse_iterable(v) for k, v in opts.items()})
    assert cfg.param_scheduler[1].begin == 2 and cfg.param_scheduler[1].T_max == 2
    assert cfg.custom_hooks[1].switch_epoch == 3 and cfg.custom_hooks[1].type == "mmdet.PipelineSwitchHook"
    assert cfg.train_cfg.max_epochs == 15  # the stage-2 run keeps its own length


def test_reference_weights_must_match_ours(tmp_path):
    check_reference_weights((DEMO / "dwpose_s1_demo.py", DEMO / "dwpose_s2_demo.py"), (MM_S1, MM_S2))
    bad = tmp_path / "bad_s1.py"
    bad.write_text(f"_base_ = ['{MM_S1}']\nmodel = dict(distill_cfg=[dict(methods=[dict(type='FeaLoss', "
                   "name='loss_fea', use_this=True, student_channels=256, teacher_channels=384, "
                   "alpha_fea=7e-5)]), dict(methods=[dict(type='KDLoss', name='loss_logit', use_this=True, "
                   "weight=0.1)])])\n")
    with pytest.raises(ValueError, match="stage 1: loss weights differ"):
        check_reference_weights((DEMO / "dwpose_s1_demo.py", DEMO / "dwpose_s2_demo.py"), (bad, MM_S2))
    with pytest.raises(ValueError, match="two_dis=True"):
        check_reference_weights((DEMO / "dwpose_s1_demo.py", DEMO / "dwpose_s2_demo.py"), (MM_S1, MM_S1))
