"""Cross-family distillation: CSPNeXt teacher -> MobileNetV2 / ResNet students with mmpose's SimCCHead.

The demo teacher (CSPNeXt + RTMCCHead, 384 x 2 x 2 features at 64x48) teaches
- a MobileNetV2 student (1280 x 2 x 2): channels differ, same map size, so mmpose's ``FeaLoss``
  applies and gives the reference value;
- a ResNet-18 student cut at 1/16 (256 x 4 x 3): channels and map size differ.
A stage-1 -> stage-2 chain with the MobileNetV2 student trains on real COCO-WholeBody photos.
"""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from dwpose.distiller.align import align_student_features, check_simcc_pair
from dwpose.distiller.transfer import transfer_checkpoint
from tests.distiller.helpers import (
    HERE,
    build_distiller,
    build_plain,
    collate,
    differing,
    make_samples,
    make_teacher_ckpt,
    preprocess,
    set_epoch,
    single_thread,
    state_of,
)

MBV2_CFG = str(HERE / "configs/tiny_mbv2_student.py")
RESNET_CFG = str(HERE / "configs/tiny_resnet_student.py")
SHUFFLE_CFG = str(HERE / "configs/tiny_shufflenet_student.py")


def _feature_parts(model, samples):
    """(student last map, teacher last map, losses) of one stage-1 batch."""
    model.train()
    set_epoch(0, 2)
    inputs, data_samples = preprocess(model, samples, training=True)
    losses = model.loss(inputs, data_samples)
    with torch.no_grad():
        s_feat = model.student.extract_feat(inputs)[-1]
        t_feat = model.teacher.extract_feat(inputs)[-1]
    return s_feat, t_feat, losses


@pytest.mark.parametrize("cfg,channels", [(MBV2_CFG, 1280), (SHUFFLE_CFG, 1024)], ids=["mbv2", "shufflenet"])
def test_cross_family_losses_match_mmpose_fealoss_and_kdloss(teacher_ckpt, cfg, channels):
    """Same map size, other channels: our losses == mmpose's FeaLoss (same 1x1 conv) and KDLoss."""
    from mmpose.models.losses import FeaLoss, KDLoss

    model = build_distiller(1, teacher_ckpt, student_cfg=cfg, epoch_decay=False)
    assert isinstance(model.align, torch.nn.Conv2d)
    assert (model.align.in_channels, model.align.out_channels) == (channels, 384)
    s_feat, t_feat, losses = _feature_parts(model, make_samples(2, seed=4))
    assert s_feat.shape[-2:] == t_feat.shape[-2:] == (2, 2)
    ref = FeaLoss(name="loss_fea", use_this=True, student_channels=channels, teacher_channels=384,
                  alpha_fea=7e-5)
    ref.align.load_state_dict(model.align.state_dict())
    expected = ref(s_feat, t_feat)
    assert torch.allclose(losses["loss_fea"].detach(), expected, rtol=1e-5, atol=1e-7)
    with torch.no_grad():  # the logits of the two heads (SimCCHead vs RTMCCHead), same bins
        s_logits = model.student.head((s_feat,))
        t_logits = model.teacher.head((t_feat,))
    kd = KDLoss(name="loss_logit", use_this=True, weight=0.1)(s_logits, t_logits, 10.0, None)
    assert torch.allclose(losses["loss_logit"].detach(), kd, rtol=1e-5, atol=1e-7)


def test_resnet_student_features_are_resized_to_the_teacher_map(teacher_ckpt):
    model = build_distiller(1, teacher_ckpt, student_cfg=RESNET_CFG, epoch_decay=False)
    s_feat, t_feat, losses = _feature_parts(model, make_samples(2, seed=5))
    assert tuple(s_feat.shape[1:]) == (256, 4, 3) and tuple(t_feat.shape[1:]) == (384, 2, 2)
    with torch.no_grad():  # by hand: average the 4x3 map onto 2x2 cells, then the 1x1 conv
        pooled = F.adaptive_avg_pool2d(s_feat, (2, 2))
        mapped = F.conv2d(pooled, model.align.weight, model.align.bias)
        expected = 7e-5 * ((mapped - t_feat) ** 2).sum() / s_feat.shape[0]
    assert torch.allclose(losses["loss_fea"].detach(), expected, rtol=1e-5)
    loss = losses["loss_kpt"] + losses["loss_fea"] + losses["loss_logit"]
    loss.backward()
    assert model.align.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())


@pytest.mark.parametrize("s_hw,t_hw", [((4, 3), (2, 2)), ((2, 2), (4, 3)), ((8, 6), (2, 3))])
def test_resize_and_conv_commute(s_hw, t_hw):
    """The conv runs at the smaller resolution; the result equals conv-then-resize."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(5, 7, 1)
    s, t = torch.randn(2, 5, *s_hw), torch.randn(2, 7, *t_hw)
    got = align_student_features(s, t, conv)
    assert got.shape == t.shape
    h, w = t_hw
    ref = conv(s)
    ref = (F.adaptive_avg_pool2d(ref, t_hw) if h <= s_hw[0] and w <= s_hw[1]
           else F.interpolate(ref, size=t_hw, mode="bilinear", align_corners=False))
    assert torch.allclose(got, ref, atol=1e-5)


def test_feature_loss_refused_on_non_map_features():
    with pytest.raises(ValueError, match="feature_alpha=0"):
        align_student_features(torch.zeros(2, 10, 64), torch.zeros(2, 8, 2, 2), torch.nn.Identity())


def test_non_simcc_head_is_refused():
    from mmpose.models.heads import HeatmapHead

    heatmap = SimpleNamespace(head=HeatmapHead(in_channels=8, out_channels=17, deconv_out_channels=None))
    simcc = SimpleNamespace(head=SimpleNamespace(out_channels=17, input_size=(48, 64),
                                                 simcc_split_ratio=2.0))
    with pytest.raises(ValueError, match="student's head is HeatmapHead.*SimCCHead, RTMCCHead"):
        check_simcc_pair(simcc, heatmap, stage=1)


def test_stage2_refuses_a_head_that_does_not_fit_the_teacher_features(teacher_ckpt):
    from dwpose.distiller.model import TwoStageDistiller

    with pytest.raises(ValueError, match="stage 2: the student head takes 1280 channels"):
        TwoStageDistiller(teacher_cfg=str(HERE / "configs/tiny_teacher.py"), student_cfg=MBV2_CFG,
                          teacher_ckpt=None, stage=2, feature_alpha=0.0, logit_weight=1.0)
    # same channels, other map size: the student head's flattened input would not fit
    with pytest.raises(ValueError, match=r"expects \(2, 2\).*gives \(3, 4\)"):
        check_simcc_pair(SimpleNamespace(head=SimpleNamespace(
            out_channels=17, input_size=(48, 64), simcc_split_ratio=2.0, in_channels=8,
            in_featuremap_size=(3, 4))), SimpleNamespace(head=SimpleNamespace(
                out_channels=17, input_size=(48, 64), simcc_split_ratio=2.0, in_channels=8,
                in_featuremap_size=(2, 2))), stage=2)


# ---- a real-data chain: stage 1 (CSPNeXt -> MobileNetV2), export, stage 2 (MobileNetV2), export ----
def _real_loader(coco_mini: Path, batch_size: int = 4):
    from mmengine.registry import init_default_scope
    from mmpose.datasets import CocoWholeBodyDataset
    from torch.utils.data import DataLoader

    init_default_scope("mmpose")
    codec = dict(type="SimCCLabel", input_size=(48, 64), sigma=(1.2, 1.4), simcc_split_ratio=2.0,
                 normalize=False, use_dark=False)
    pipeline = [dict(type="LoadImage"), dict(type="GetBBoxCenterScale", padding=1.25),
                dict(type="TopdownAffine", input_size=(48, 64)),
                dict(type="GenerateTarget", encoder=codec), dict(type="PackPoseInputs")]
    ds = CocoWholeBodyDataset(data_root=str(coco_mini), data_mode="topdown",
                              ann_file="coco_wholebody_mini.json", data_prefix=dict(img="images/"),
                              pipeline=pipeline)
    items = [ds[i] for i in range(len(ds))]  # decoded once: 12 real people
    return DataLoader(items, batch_size=batch_size, shuffle=False, collate_fn=collate), items


def _train(model, work_dir: Path, loader, epochs: int) -> None:
    from dwpose.engine.runner import DWPoseRunner

    hooks = [dict(type="EMAHook", ema_type="ExpMomentumEMA", momentum=0.0002, update_buffers=True,
                  priority=49), dict(type="FrozenTeacherEMAHook"), dict(type="WeightsOnlyCheckpointHook")]
    DWPoseRunner(model=model, work_dir=str(work_dir), experiment_name=f"fam-{uuid.uuid4().hex[:8]}",
                 train_dataloader=loader,
                 optim_wrapper=dict(optimizer=dict(type="AdamW", lr=1e-3, weight_decay=0.05),
                                    clip_grad=dict(max_norm=1.0)),
                 train_cfg=dict(by_epoch=True, max_epochs=epochs),
                 default_hooks=dict(checkpoint=dict(type="CheckpointHook", interval=epochs),
                                    logger=dict(type="LoggerHook", interval=1)),
                 custom_hooks=hooks, default_scope="mmpose", randomness=dict(seed=0)).train()


@pytest.fixture(scope="module")
def real_chain(tmp_path_factory, coco_mini):
    root = Path(tmp_path_factory.mktemp("families"))
    out: dict = {}
    with single_thread():
        teacher_ckpt = make_teacher_ckpt(root / "teacher.pth")
        loader, out["items"] = _real_loader(coco_mini)
        s1 = build_distiller(1, teacher_ckpt, student_cfg=MBV2_CFG)
        out["teacher0"] = state_of(s1.teacher)
        _train(s1, root / "s1", loader, epochs=2)
        out["s1_live_teacher"] = state_of(s1.teacher)
        out["s1_ckpt"] = str(root / "s1/epoch_2.pth")
        transfer_checkpoint(out["s1_ckpt"], str(root / "s1_plain.pth"))
        out["s1_plain"] = str(root / "s1_plain.pth")
        s2 = build_distiller(2, out["s1_plain"], teacher_cfg=MBV2_CFG, student_cfg=MBV2_CFG)
        out["s2_teacher0"] = state_of(s2.teacher)
        _train(s2, root / "s2", loader, epochs=1)
        out["s2_live_teacher"] = state_of(s2.teacher)
        out["s2_ckpt"] = str(root / "s2/epoch_1.pth")
        transfer_checkpoint(out["s2_ckpt"], str(root / "s2_plain.pth"))
        out["s2_plain"] = str(root / "s2_plain.pth")
    return out


def _load(path: str) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def test_real_chain_keeps_both_teachers_bit_identical(real_chain):
    assert differing(real_chain["teacher0"], real_chain["s1_live_teacher"]) == []
    saved = {k.removeprefix("teacher."): v for k, v in _load(real_chain["s1_ckpt"]).items()
             if k.startswith("teacher.")}
    assert differing(real_chain["teacher0"], saved) == []
    assert differing(real_chain["s2_teacher0"], real_chain["s2_live_teacher"]) == []
    s1_plain, s2_plain = _load(real_chain["s1_plain"]), _load(real_chain["s2_plain"])
    backbone = lambda sd: {k: v for k, v in sd.items() if k.startswith("backbone.")}  # noqa: E731
    assert differing(backbone(s1_plain), backbone(s2_plain)) == []
    head = lambda sd: {k: v for k, v in sd.items() if k.startswith("head.")}  # noqa: E731
    assert differing(head(s1_plain), head(s2_plain)) != []  # the stage-2 head was trained


@pytest.mark.parametrize("stage", [1, 2])
def test_real_chain_export_loads_strictly_and_predicts_like_the_distiller(real_chain, stage):
    teacher_cfg = None if stage == 1 else MBV2_CFG
    distiller = build_distiller(stage, None, student_cfg=MBV2_CFG,
                                **({"teacher_cfg": teacher_cfg} if teacher_cfg else {}))
    distiller.load_state_dict(_load(real_chain[f"s{stage}_ckpt"]), strict=True)
    plain = build_plain(MBV2_CFG)
    plain.load_state_dict(_load(real_chain[f"s{stage}_plain"]), strict=True)
    distiller.eval(), plain.eval()
    real = real_chain["items"][:6]
    with torch.no_grad():
        inputs, samples_d = preprocess(distiller, copy.deepcopy(real), training=False)
        _, samples_p = preprocess(plain, copy.deepcopy(real), training=False)
        got = distiller(inputs, samples_d, mode="predict")
        want = plain(inputs, samples_p, mode="predict")
    for a, b in zip(got, want):
        assert a.pred_instances.keypoints.shape == (1, 133, 2)
        assert (a.pred_instances.keypoints == b.pred_instances.keypoints).all()
        assert (a.pred_instances.keypoint_scores == b.pred_instances.keypoint_scores).all()
