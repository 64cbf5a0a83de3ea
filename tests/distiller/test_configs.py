"""Distiller configs: they build on CPU offline, read on their own, and run from any directory."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from dwpose.engine.schedule import apply_schedule
from tests.distiller.helpers import REPO, make_teacher_ckpt

DISTILLER_CONFIGS = sorted((REPO / "configs/distiller").rglob("*.py"))
DEMO_CONFIGS = [REPO / "configs/demo/dwpose_s1_demo.py", REPO / "configs/demo/dwpose_s2_demo.py"]
ALL = DISTILLER_CONFIGS + DEMO_CONFIGS
EXPECTED = {
    "s1_dis": ["rtmpose_x_dis_l__{d}-256x192.py", "rtmpose_x_dis_l__{d}-384x288.py",
               "dwpose_l_dis_m__{d}-256x192.py", "dwpose_l_dis_s__{d}-256x192.py",
               "dwpose_l_dis_t__{d}-256x192.py"],
    "s2_dis": ["dwpose_l-ll__{d}-256x192.py", "dwpose_l-ll__{d}-384x288.py",
               "rtmpose_m-mm__{d}-256x192.py", "rtmpose_s-ss__{d}-256x192.py",
               "rtmpose_t-tt__{d}-256x192.py", "rtmpose_x-xx__{d}-256x192.py"],
}


def _rel(p: Path) -> str:
    return str(p.relative_to(REPO / "configs"))


def test_the_recipe_configs_exist():
    names = {_rel(p) for p in DISTILLER_CONFIGS}
    for folder, tag in (("ubody", "coco-ubody"), ("coco-wholebody", "coco-wholebody")):
        for stage, files in EXPECTED.items():
            for f in files:
                assert f"distiller/{folder}/{stage}/{f.format(d=tag)}" in names


def _model_keywords(path: Path) -> dict:
    """The literal keywords of ``model = dict(...)`` as written in the file itself."""
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "model":
            return {kw.arg: kw.value for kw in node.value.keywords}
    raise AssertionError(f"{path} defines no model")


@pytest.mark.parametrize("path", ALL, ids=_rel)
def test_config_reads_on_its_own(path):
    """Teacher, student, stage and loss weights are written in the file, not inherited."""
    kws = _model_keywords(path)
    assert ast.literal_eval(kws["type"]) == "TwoStageDistiller"
    for key in ("stage", "teacher_cfg", "student_cfg", "teacher_ckpt", "feature_alpha", "logit_weight"):
        assert key in kws, f"{path.name}: model.{key} is not stated"
    stage = ast.literal_eval(kws["stage"])
    weights = (ast.literal_eval(kws["feature_alpha"]), ast.literal_eval(kws["logit_weight"]))
    # the demo's stage 1 uses a 10x smaller feature weight (measured reason in dwpose_s1_demo.py)
    alpha = 7e-6 if path.name == "dwpose_s1_demo.py" else 7e-5
    assert weights == ((alpha, 0.1) if stage == 1 else (0.0, 1.0))
    assert (stage == 1) == (path.parent.name == "s1_dis" or path.name.endswith("s1_demo.py"))


@pytest.mark.parametrize("path", ALL, ids=_rel)
def test_config_builds_on_cpu_offline(path, monkeypatch, tmp_path):
    """Every config builds (random teacher) from a foreign working directory, without network."""
    from mmpose.registry import MODELS

    monkeypatch.chdir(tmp_path)  # config paths must not depend on the working directory
    monkeypatch.setattr("urllib.request.urlopen", _no_network)
    cfg = Config.fromfile(str(path))
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=1.0, norm_type=2)
    hooks = [h["type"] for h in cfg.custom_hooks]
    assert "FrozenTeacherEMAHook" in hooks and hooks.index("FrozenTeacherEMAHook") > hooks.index("EMAHook")
    cfg.model.teacher_ckpt = None
    model = MODELS.build(cfg.model)
    model.init_weights()
    keypoints = {"coco": 17, "mpii": 16}.get(path.parent.parent.name, 133)
    assert model.student.head.out_channels == model.teacher.head.out_channels == keypoints
    if cfg.model.stage == 2:
        assert model.student.backbone is None
        assert model.student.head.in_channels == model.teacher.head.in_channels
    else:
        expected_align = model.student.head.in_channels != model.teacher.head.in_channels
        assert isinstance(model.align, torch.nn.Conv2d) == expected_align


def _no_network(*args, **kwargs):
    raise AssertionError("a config tried to download something")


@pytest.mark.parametrize("path", [p for p in DISTILLER_CONFIGS if p.parent.name == "s2_dis"], ids=_rel)
def test_stage2_schedule_follows_its_60_epochs(path):
    cfg = Config.fromfile(str(path))
    assert cfg.train_cfg.max_epochs == 60
    apply_schedule(cfg)
    cosine = next(s for s in cfg.param_scheduler if s["type"] == "CosineAnnealingLR")
    assert (cosine["begin"], cosine["end"], cosine["T_max"]) == (30, 60, 30)
    switch = next(h for h in cfg.custom_hooks if h["type"] == "mmdet.PipelineSwitchHook")
    assert switch["switch_epoch"] == 53


@pytest.mark.slow
def test_tools_train_runs_a_distiller_from_another_directory(tmp_path, demo_data):
    """``python tools/train.py CONFIG`` (no dist_train.sh) from a foreign cwd: DWPose#61."""
    work = tmp_path / "work"
    demo_teacher = str(REPO / "configs/demo/rtmpose-teacher_demo.py")
    teacher_ckpt = make_teacher_ckpt(tmp_path / "teacher.pth", demo_teacher)
    opts = [f"data_root={demo_data}/", f"model.teacher_ckpt={teacher_ckpt}", "train_cfg.max_epochs=1",
            "train_dataloader.batch_size=8", "train_dataloader.num_workers=0",
            "train_dataloader.persistent_workers=False", "default_hooks.logger.interval=1"]
    run = subprocess.run([sys.executable, str(REPO / "tools/train.py"),
                          str(REPO / "configs/demo/dwpose_s1_demo.py"), "--work-dir", str(work),
                          "--cfg-options", *opts], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    assert (work / "epoch_1.pth").is_file()
    log = "\n".join(p.read_text() for p in work.rglob("*.log"))
    for key in ("loss_kpt", "loss_fea", "loss_logit", "distill_decay"):
        assert key in log
