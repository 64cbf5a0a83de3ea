"""``TwoStageDistiller`` on the tiny demo configs: gradients, frozen teacher, losses, predictions."""

from __future__ import annotations

import uuid

import pytest
import torch
from torch import nn

from tests.distiller.helpers import (
    STUDENT_CFG,
    TEACHER_CFG,
    build_distiller,
    build_plain,
    differing,
    make_samples,
    preprocess,
    set_epoch,
    state_of,
)


def _backward(model, samples):
    model.train()
    inputs, data_samples = preprocess(model, samples, training=True)
    losses = model.loss(inputs, data_samples)
    sum(v for k, v in losses.items() if k.startswith("loss_")).backward()
    return losses


def _params_with_grad(model):
    return {n for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}


def test_stage1_gradients_reach_student_and_align_only(teacher_ckpt):
    model = build_distiller(1, teacher_ckpt)
    set_epoch(0, 4)
    _backward(model, make_samples(2))
    trainable = {n for n, _ in model.named_parameters() if n.startswith(("student.", "align."))}
    assert _params_with_grad(model) == trainable
    assert any(n.startswith("align.") for n in trainable)  # the demo pair differs in width
    assert all(p.grad is None and not p.requires_grad for p in model.teacher.parameters())


def test_stage2_gradients_reach_student_head_only(stage1_model_ckpt):
    model = build_distiller(2, stage1_model_ckpt)
    _backward(model, make_samples(2))
    names = {n for n, _ in model.named_parameters()}
    assert not any(n.startswith(("student.backbone.", "align.")) for n in names)
    assert _params_with_grad(model) == {n for n in names if n.startswith("student.head.")}
    assert all(p.grad is None for p in model.teacher.parameters())


def test_teacher_stays_in_eval_mode_and_unchanged(teacher_ckpt):
    model = build_distiller(1, teacher_ckpt)
    before = state_of(model.teacher)
    set_epoch(0, 4)
    for seed in range(3):
        model.train()
        assert not any(m.training for m in model.teacher.modules())
        assert all(m.training for m in model.student.modules())
        _backward(model, make_samples(2, seed=seed))
    assert differing(before, state_of(model.teacher)) == []


def test_reference_distiller_lets_teacher_bn_drift(teacher_ckpt):
    """Contrast: mmpose's DWPoseDistiller after the runner's model.train() updates teacher BN stats."""
    from mmengine.config import ConfigDict
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import DefaultScope
    from mmengine.runner.checkpoint import load_checkpoint
    from mmpose.models.distillers import DWPoseDistiller

    with DefaultScope.overwrite_default_scope("mmpose"):
        ref = DWPoseDistiller(teacher_cfg=TEACHER_CFG, student_cfg=STUDENT_CFG, distill_cfg=[
            ConfigDict(methods=[dict(type="KDLoss", name="loss_logit", use_this=True, weight=0.1)])],
            data_preprocessor=dict(type="PoseDataPreprocessor", mean=[123.675, 116.28, 103.53],
                                   std=[58.395, 57.12, 57.375], bgr_to_rgb=True))
    ref = revert_sync_batchnorm(ref)
    load_checkpoint(ref.teacher, teacher_ckpt, map_location="cpu")
    before = state_of(ref.teacher)
    set_epoch(0, 4)
    ref.train()  # what the runner does every epoch
    inputs, data_samples = preprocess(ref, make_samples(2), training=True)
    ref.loss(inputs, data_samples)
    drifted = differing(before, state_of(ref.teacher))
    assert drifted and all(k.endswith(("running_mean", "running_var", "num_batches_tracked"))
                           for k in drifted)


def test_loss_keys_per_stage(teacher_ckpt, stage1_model_ckpt):
    set_epoch(1, 4)
    s1 = _backward(build_distiller(1, teacher_ckpt), make_samples(2))
    assert set(s1) == {"loss_kpt", "acc_pose", "loss_fea", "loss_logit", "distill_decay"}
    assert s1["distill_decay"].item() == pytest.approx(0.75)
    s2 = _backward(build_distiller(2, stage1_model_ckpt), make_samples(2))
    assert set(s2) == {"loss_logit"}  # no ground-truth term in stage 2
    assert all(torch.isfinite(v) and v > 0 for k, v in {**s1, **s2}.items() if k.startswith("loss"))


@pytest.mark.parametrize("epoch_decay, late_epoch, late_factor",
                         [(True, 2, 0.5), (True, 3, 0.25), (False, 3, 1.0)])
def test_decay_scales_distillation_terms_only(teacher_ckpt, epoch_decay, late_epoch, late_factor):
    """``1 - e/E`` scales L_fea and L_logit, never L_gt; ``epoch_decay=False`` (the study's no-decay
    row) keeps full weight in every epoch."""
    model = build_distiller(1, teacher_ckpt, epoch_decay=epoch_decay).train()
    inputs, data_samples = preprocess(model, make_samples(2), training=True)
    out = {}
    for epoch in (0, late_epoch):
        set_epoch(epoch, 4)
        with torch.no_grad():
            out[epoch] = model.loss(inputs, data_samples)
    assert out[late_epoch]["distill_decay"].item() == pytest.approx(late_factor)
    assert out[late_epoch]["loss_kpt"].item() == pytest.approx(out[0]["loss_kpt"].item(), rel=1e-6)
    for key in ("loss_fea", "loss_logit"):
        assert out[0][key].item() > 0
        assert out[late_epoch][key].item() == pytest.approx(late_factor * out[0][key].item(), rel=1e-5)


def test_stage2_ignores_epoch_decay(stage1_model_ckpt):
    set_epoch(3, 4)
    model = build_distiller(2, stage1_model_ckpt, epoch_decay=True).train()
    ref = build_distiller(2, stage1_model_ckpt, epoch_decay=False).train()
    inputs, data_samples = preprocess(model, make_samples(2), training=True)
    with torch.no_grad():
        a, b = model.loss(inputs, data_samples), ref.loss(inputs, data_samples)
    assert a["loss_logit"].item() == pytest.approx(b["loss_logit"].item(), rel=1e-6)


def test_decay_without_epoch_information_is_an_error(teacher_ckpt):
    from mmengine.logging import MessageHub

    model = build_distiller(1, teacher_ckpt).train()
    inputs, data_samples = preprocess(model, make_samples(2), training=True)
    MessageHub.get_instance(f"fresh-{uuid.uuid4().hex}")  # becomes the current, empty hub
    with pytest.raises(RuntimeError, match="max_epochs"):
        model.loss(inputs, data_samples)


def test_stage2_every_mode_is_teacher_backbone_plus_student_head(stage1_model_ckpt):
    model = build_distiller(2, stage1_model_ckpt)
    model.student.head.cls_x.weight.data.normal_()  # make the student head differ from any init
    plain = build_plain(STUDENT_CFG)
    plain.backbone.load_state_dict(model.teacher.backbone.state_dict())
    plain.head.load_state_dict(model.student.head.state_dict())
    model.eval(), plain.eval()
    samples = make_samples(2)
    inputs, data_samples = preprocess(model, samples, training=False)
    with torch.no_grad():
        got_x, got_y = model(inputs, None, mode="tensor")
        want_x, want_y = plain(inputs, None, mode="tensor")
        got = model(inputs, data_samples, mode="predict")
        want = plain(inputs, preprocess(plain, make_samples(2), training=False)[1], mode="predict")
    assert torch.equal(got_x, want_x) and torch.equal(got_y, want_y)
    for a, b in zip(got, want):
        assert (a.pred_instances.keypoints == b.pred_instances.keypoints).all()
        assert (a.pred_instances.keypoint_scores == b.pred_instances.keypoint_scores).all()


def test_align_conv_only_when_channels_differ(teacher_ckpt, stage1_model_ckpt):
    differ = build_distiller(1, teacher_ckpt)
    assert isinstance(differ.align, nn.Conv2d) and differ.align.bias is not None
    c_s, c_t = differ.student.head.in_channels, differ.teacher.head.in_channels
    assert c_s != c_t and (differ.align.in_channels, differ.align.out_channels) == (c_s, c_t)
    same = build_distiller(1, stage1_model_ckpt, teacher_cfg=STUDENT_CFG)
    assert isinstance(same.align, nn.Identity)
    assert not any(n.startswith("align.") for n, _ in same.named_parameters())
    assert build_distiller(1, teacher_ckpt, feature_alpha=0.0).align is None


def test_labelled_only_distils_labelled_keypoints(teacher_ckpt):
    model = build_distiller(1, teacher_ckpt, labelled_only=True).train()
    samples = make_samples(2)
    for s in samples:
        s["data_samples"].gt_instance_labels.keypoint_weights.zero_()
    inputs, data_samples = preprocess(model, samples, training=True)
    set_epoch(0, 4)
    with torch.no_grad():
        assert model.loss(inputs, data_samples)["loss_logit"].item() == 0.0


@pytest.mark.parametrize("nhwc", [False, True])
def test_fast_teacher_matches_and_follows_weight_changes(teacher_ckpt, nhwc):
    model = build_distiller(1, teacher_ckpt)
    inputs, _ = preprocess(model, make_samples(2), training=False)
    if nhwc:
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        ref = model.teacher.head(model.teacher.extract_feat(inputs.contiguous()))
    feats, logits = model._teacher_forward(inputs)
    fast = model._fast_teacher.get(model.teacher, channels_last=nhwc)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in fast.modules())
    for a, b in zip(logits, ref):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-4)
    shifted = {k: (v + 0.01 if k.endswith("running_mean") else v)
               for k, v in model.teacher.state_dict().items()}
    model.teacher.load_state_dict(shifted)
    _, logits2 = model._teacher_forward(inputs)
    assert model._fast_teacher.get(model.teacher, channels_last=nhwc) is not fast
    with torch.no_grad():
        ref2 = model.teacher.head(model.teacher.extract_feat(inputs.contiguous()))
    assert not torch.allclose(ref2[0], ref[0], rtol=1e-4, atol=1e-4)
    assert torch.allclose(logits2[0], ref2[0], rtol=1e-4, atol=1e-4)


def test_invalid_arguments_are_explained(teacher_ckpt, stage1_model_ckpt, tmp_path):
    with pytest.raises(ValueError, match="feature_alpha must be 0"):
        build_distiller(2, stage1_model_ckpt, feature_alpha=7e-5)
    with pytest.raises(ValueError, match="stage must be 1 or 2"):
        build_distiller(3, teacher_ckpt)
    with pytest.raises(ValueError, match="is relative"):
        build_distiller(1, teacher_ckpt, teacher_cfg="configs/demo/rtmpose-teacher_demo.py")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_distiller(1, teacher_ckpt, teacher_cfg=str(tmp_path / "nope.py"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_distiller(1, str(tmp_path / "missing.pth"))


def test_teacher_checkpoint_that_does_not_fit_names_the_layer(stage1_model_ckpt, tmp_path):
    # the student-sized checkpoint for the (wider) teacher config
    with pytest.raises(ValueError, match=r"does not match config .*layer 'backbone\.\S+' has shape"):
        build_distiller(1, stage1_model_ckpt)
    distiller_ckpt = tmp_path / "dis.pth"
    torch.save({"state_dict": {"teacher.x": torch.zeros(1), "student.x": torch.zeros(1)}}, distiller_ckpt)
    with pytest.raises(ValueError, match="convert it with pth_transfer.py first"):
        build_distiller(1, str(distiller_ckpt))


def test_mmpose_scoped_config_path(teacher_ckpt):
    from dwpose.engine.config import load_model_config

    cfg = load_model_config("mmpose::wholebody_2d_keypoint/rtmpose/ubody/"
                            "rtmpose-t_8xb64-270e_coco-ubody-wholebody-256x192.py")
    assert cfg.model.head.in_channels == 384



def test_fast_teacher_cache_is_not_copied(teacher_ckpt):
    """EMA deep-copies the model: the copy starts with an empty cache instead of a stale one."""
    import copy
    import pickle

    model = build_distiller(1, teacher_ckpt)
    inputs, _ = preprocess(model, make_samples(2), training=False)
    model._teacher_forward(inputs)
    assert model._fast_teacher._module is not None
    assert copy.deepcopy(model)._fast_teacher._module is None
    assert pickle.loads(pickle.dumps(model._fast_teacher))._module is None


def test_teacher_precision_is_checked(teacher_ckpt, monkeypatch):
    from dwpose.distiller import model as model_mod

    with pytest.raises(ValueError, match="teacher_precision must be one of"):
        build_distiller(1, teacher_ckpt, teacher_precision="int8")
    model = build_distiller(1, teacher_ckpt, teacher_precision="fp16")
    inputs, _ = preprocess(model, make_samples(2), training=False)
    with pytest.raises(ValueError, match="needs a CUDA device"):
        model._teacher_forward(inputs)
    monkeypatch.setattr(model_mod, "cpu_has_native_bf16", lambda: False)
    model.teacher_precision = "bf16"
    with pytest.raises(ValueError, match="no.*native bf16|native bf16 instructions"):
        model._teacher_forward(inputs)


@pytest.mark.skipif(not __import__("dwpose.distiller.model", fromlist=["x"]).cpu_has_native_bf16(),
                    reason="this CPU has no native bf16 instructions")
@pytest.mark.parametrize("stage", [1, 2])
def test_bf16_teacher_hands_float32_close_to_fp32(teacher_ckpt, stage1_model_ckpt, stage):
    """bf16 autocast teacher: float32 outputs within bf16 rounding of the float32 teacher's, and a
    training step whose distillation loss stays close (measured on a trained teacher: benchmarks.md)."""
    ckpt = teacher_ckpt if stage == 1 else stage1_model_ckpt
    ref = build_distiller(stage, ckpt)
    half = build_distiller(stage, ckpt, teacher_precision="bf16")
    half.load_state_dict(ref.state_dict())
    inputs, data_samples = preprocess(ref, make_samples(2), training=True)
    feats32, logits32 = ref._teacher_forward(inputs)
    feats16, logits16 = half._teacher_forward(inputs)
    assert all(f.dtype == torch.float32 for f in (*feats16, *logits16))
    for a, b in zip((*feats16, *logits16), (*feats32, *logits32)):
        scale = b.abs().max().item()
        assert (a - b).abs().max().item() <= 0.05 * scale + 1e-3  # bf16 keeps 8 significant bits
        assert not torch.equal(a, b)  # it really ran in bf16
    set_epoch(0, 4)
    ref.train(), half.train()
    with torch.no_grad():
        l32 = ref.loss(inputs, data_samples)["loss_logit"].item()
        l16 = half.loss(inputs, data_samples)["loss_logit"].item()
    assert abs(l16 - l32) <= 0.05 * abs(l32) + 1e-6
