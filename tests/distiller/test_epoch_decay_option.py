"""``epoch_decay=False``: stage-1 distillation at full weight in every epoch (the study's no-decay row)."""

from __future__ import annotations

import pytest
import torch

from tests.distiller.helpers import build_distiller, make_samples, preprocess, set_epoch


@pytest.mark.parametrize("epoch_decay, late_factor", [(True, 0.25), (False, 1.0)])
def test_epoch_decay_switch(teacher_ckpt, epoch_decay, late_factor):
    model = build_distiller(1, teacher_ckpt, epoch_decay=epoch_decay).train()
    inputs, data_samples = preprocess(model, make_samples(2), training=True)
    out = {}
    for epoch in (0, 3):
        set_epoch(epoch, 4)
        with torch.no_grad():
            out[epoch] = model.loss(inputs, data_samples)
    assert out[3]["distill_decay"].item() == pytest.approx(late_factor)
    assert out[3]["loss_kpt"].item() == pytest.approx(out[0]["loss_kpt"].item(), rel=1e-6)
    for key in ("loss_fea", "loss_logit"):
        assert out[0][key].item() > 0
        assert out[3][key].item() == pytest.approx(late_factor * out[0][key].item(), rel=1e-5)


def test_stage2_ignores_epoch_decay(stage1_model_ckpt):
    set_epoch(3, 4)
    model = build_distiller(2, stage1_model_ckpt, epoch_decay=True).train()
    ref = build_distiller(2, stage1_model_ckpt, epoch_decay=False).train()
    inputs, data_samples = preprocess(model, make_samples(2), training=True)
    with torch.no_grad():
        a, b = model.loss(inputs, data_samples), ref.loss(inputs, data_samples)
    assert a["loss_logit"].item() == pytest.approx(b["loss_logit"].item(), rel=1e-6)
