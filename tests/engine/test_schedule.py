"""The schedule follows the run's own epoch count (reference defect: stage 2 inherits 270 epochs)."""

from __future__ import annotations

import pytest
from mmengine.config import Config

from dwpose.engine.schedule import apply_schedule, schedule_epochs

RECIPE = "configs/wholebody_2d_keypoint/rtmpose/ubody/rtmpose-l_8xb64-270e_coco-ubody-wholebody-256x192.py"


def _cosine(cfg):
    return next(s for s in cfg.param_scheduler if s["type"] == "CosineAnnealingLR")


def _switch(cfg):
    return next(h for h in cfg.custom_hooks if h["type"] == "mmdet.PipelineSwitchHook")


def test_recipe_schedule_matches_spec(repo_root):
    cfg = Config.fromfile(str(repo_root / RECIPE))
    apply_schedule(cfg)
    cos = _cosine(cfg)
    assert (cos["begin"], cos["end"], cos["T_max"]) == (135, 270, 135)
    assert cos["eta_min"] == pytest.approx(4e-3 * 0.05)
    assert _switch(cfg)["switch_epoch"] == 240
    assert cfg.param_scheduler[0]["end"] == 1000


def test_schedule_recomputed_for_60_epochs(repo_root):
    cfg = Config.fromfile(str(repo_root / RECIPE))
    cfg.merge_from_dict({"train_cfg.max_epochs": 60})
    apply_schedule(cfg)
    cos = _cosine(cfg)
    assert (cos["begin"], cos["end"], cos["T_max"]) == (30, 60, 30)
    assert _switch(cfg)["switch_epoch"] == 53
    assert 0 < _switch(cfg)["switch_epoch"] < 60


@pytest.mark.parametrize("epochs", [1, 2, 7, 60, 270])
def test_boundaries_always_inside_the_run(epochs):
    ep = schedule_epochs(epochs, 0.5, 8 / 9)
    assert 0 <= ep["cosine_begin"] < ep["cosine_end"] == epochs
    assert 0 <= ep["switch_epoch"] < epochs


def test_zero_epochs_rejected():
    with pytest.raises(ValueError, match="max_epochs"):
        schedule_epochs(0, 0.5, 8 / 9)
