"""The cross-family distiller configs (body-only COCO, MPII, SimCC-HRNet-w32): each trains one real step.

Every config is read as written; only its input size shrinks (64x48, 64x64 for MPII) so that a
step of the real models (RTMPose-x, HRNet-w32, ResNet-50 ...) on 2 CPU cores stays short: teacher
and student configs get a child config that overrides the codec's input size and the heads'
feature-map size, nothing else. The step runs on real photos: COCO-WholeBody mini (its 17 body or
133 whole-body keypoints) or the MPII mini set. The trained distiller is then converted as
``pth_transfer.py`` does, and the plain student loads it strictly and gives the same logits.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from tests.distiller.helpers import REPO, build_plain, differing, set_epoch, state_of

FAMILY_CONFIGS = {
    "distiller/coco/s1_dis/rtmpose_l_dis_mbv2__coco-256x192.py": "coco",
    "distiller/coco/s1_dis/rtmpose_l_dis_res50__coco-256x192.py": "coco",
    "distiller/coco/s2_dis/simcc_mbv2-mbv2__coco-256x192.py": "coco",
    "distiller/coco/s2_dis/simcc_res50-res50__coco-256x192.py": "coco",
    "distiller/mpii/s1_dis/simcc_res50_dis_mbv2__mpii-256x256.py": "mpii",
    "distiller/mpii/s2_dis/simcc_mbv2-mbv2__mpii-256x256.py": "mpii",
    "distiller/coco-wholebody/s1_dis/rtmpose_x_dis_hrnet-w32__coco-wholebody-256x192.py": "wholebody",
    "distiller/coco-wholebody/s1_dis/simcc_hrnet-w32_dis_m__coco-wholebody-256x192.py": "wholebody",
    "distiller/coco-wholebody/s2_dis/simcc_hrnet-w32-w32__coco-wholebody-256x192.py": "wholebody",
}
SMALL = {"coco": (48, 64), "wholebody": (64, 64), "mpii": (64, 64)}  # (w, h); HRNet needs multiples of 32


def _shrunk(pose_cfg: str, size, out: Path) -> str:
    """A child of ``pose_cfg`` at input ``size``: codec, head input and feature-map sizes follow."""
    cfg = Config.fromfile(pose_cfg)
    head = cfg.model.head
    stride = [i // f for i, f in zip(head.input_size, head.in_featuremap_size)]
    fmap = tuple(math.ceil(s / st) for s, st in zip(size, stride))
    codec = dict(cfg.model.head.decoder, input_size=tuple(size))
    lines = [f"_base_ = [{pose_cfg!r}]",
             f"model = dict(head=dict(input_size={tuple(size)!r}, in_featuremap_size={fmap!r},"
             f" decoder={codec!r}), data_preprocessor=dict(codec={codec!r}))"]
    out.write_text("\n".join(lines) + "\n")
    return str(out)


def _real_batch(kind: str, size, shared_dir: Path, n: int = 2) -> dict:
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from mmpose.datasets import CocoDataset, CocoWholeBodyDataset, MpiiDataset

    init_default_scope("mmpose")
    pipeline = [dict(type="LoadImage"), dict(type="GetBBoxCenterScale", padding=1.25),
                dict(type="TopdownAffine", input_size=size), dict(type="LeanPackPoseInputs")]
    if kind == "mpii":
        ds = MpiiDataset(data_root=str(shared_dir / "data/mpii-mini"), ann_file="test_mpii.json",
                         data_prefix=dict(img=""), pipeline=pipeline)
    else:
        cls = CocoDataset if kind == "coco" else CocoWholeBodyDataset
        ds = cls(data_root=str(shared_dir / "data/coco-wholebody-mini"), data_mode="topdown",
                 ann_file="coco_wholebody_mini.json", data_prefix=dict(img="images/"), pipeline=pipeline)
    return pseudo_collate([ds[i] for i in range(n)])


@pytest.mark.parametrize("rel", sorted(FAMILY_CONFIGS), ids=lambda r: Path(r).name)
def test_family_config_trains_one_real_step(rel, tmp_path, shared_dir, monkeypatch):
    from mmengine.optim import build_optim_wrapper
    from mmpose.registry import MODELS

    import dwpose.plugin  # noqa: F401

    monkeypatch.setattr("urllib.request.urlopen", _no_network)
    kind = FAMILY_CONFIGS[rel]
    size = SMALL[kind]
    cfg = Config.fromfile(str(REPO / "configs" / rel))
    model_cfg = dict(cfg.model, teacher_ckpt=None,
                     teacher_cfg=_shrunk(cfg.model.teacher_cfg, size, tmp_path / "teacher.py"),
                     student_cfg=_shrunk(cfg.model.student_cfg, size, tmp_path / "student.py"))
    start = time.perf_counter()
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    built = time.perf_counter() - start
    k = {"coco": 17, "mpii": 16, "wholebody": 133}[kind]
    assert model.student.head.out_channels == model.teacher.head.out_channels == k
    teacher0, student0 = state_of(model.teacher), state_of(model.student)
    align0 = state_of(model.align) if model.align is not None else None

    optim = build_optim_wrapper(model, dict(optimizer=dict(type="AdamW", lr=1e-3),
                                            clip_grad=dict(max_norm=1.0)))
    set_epoch(0, 10)
    model.train()
    log = model.train_step(_real_batch(kind, size, shared_dir), optim)
    expected = {"loss_kpt", "loss_fea", "loss_logit"} if cfg.model.stage == 1 else {"loss_logit"}
    assert expected <= set(log) and all(math.isfinite(float(log[key])) for key in expected)
    assert differing(teacher0, state_of(model.teacher)) == []
    changed = differing(student0, state_of(model.student))
    assert any(name.startswith("head.") for name in changed)
    if cfg.model.stage == 1:
        assert any(name.startswith("backbone.") for name in changed)
        assert isinstance(model.align, torch.nn.Conv2d)  # every pair here differs in channels
        assert differing(align0, state_of(model.align)) == ["bias", "weight"]  # trained with the student
    assert built < 60, f"building took {built:.1f} s"
    _check_export(model, model_cfg["student_cfg"], kind, size, shared_dir)


def _check_export(model, student_cfg: str, kind: str, size, shared_dir: Path) -> None:
    """pth_transfer's conversion loads strictly into the plain student and gives the same logits."""
    from dwpose.distiller.transfer import convert_checkpoint

    plain_ckpt, _ = convert_checkpoint({"state_dict": model.state_dict()})
    plain = build_plain(student_cfg)
    plain.load_state_dict(plain_ckpt["state_dict"], strict=True)
    model.eval(), plain.eval()
    data = model.data_preprocessor(_real_batch(kind, size, shared_dir), False)
    with torch.no_grad():
        for a, b in zip(model(data["inputs"], None, "tensor"), plain(data["inputs"], None, "tensor")):
            assert torch.equal(a, b)


def _no_network(*args, **kwargs):
    raise AssertionError("a config tried to download something")
