"""The two distillation losses: parity with mmpose 1.3.2, and golden values from plain formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dwpose.distiller.losses import feature_distill_loss, logit_distill_loss


def _kl_loops(s: np.ndarray, t: np.ndarray, beta: float, mask=None) -> float:
    """mean_n sum_k KL(softmax(beta t) || softmax(beta s)), written out with loops in float64."""
    n_batch, n_kpt, _ = s.shape
    total = 0.0
    for n in range(n_batch):
        for k in range(n_kpt):
            if mask is not None and mask[n, k] <= 0:
                continue
            p = np.exp(beta * t[n, k] - np.max(beta * t[n, k]))
            p /= p.sum()
            q = np.exp(beta * s[n, k] - np.max(beta * s[n, k]))
            q /= q.sum()
            total += float(np.sum(p * (np.log(p) - np.log(q))))
    return total / n_batch


@pytest.mark.parametrize("seed", [0, 1])
def test_feature_loss_matches_mmpose_fealoss(seed):
    from mmpose.models.losses import FeaLoss

    torch.manual_seed(seed)
    ref = FeaLoss(name="loss_fea", use_this=True, student_channels=24, teacher_channels=40,
                  alpha_fea=7e-5)
    f_s, f_t = torch.randn(3, 24, 8, 6), torch.randn(3, 40, 8, 6)
    expected = ref(f_s, f_t)
    got = feature_distill_loss(ref.align(f_s), f_t, alpha=7e-5)
    assert torch.allclose(got, expected, rtol=1e-6, atol=1e-6), (got.item(), expected.item())


@pytest.mark.parametrize("seed,weight", [(0, 0.1), (1, 1.0)])
def test_logit_loss_matches_mmpose_kdloss(seed, weight):
    from mmpose.models.losses import KDLoss

    torch.manual_seed(seed)
    s_x, s_y = torch.randn(4, 133, 192), torch.randn(4, 133, 256)
    t_x, t_y = torch.randn(4, 133, 192), torch.randn(4, 133, 256)
    ref = KDLoss(name="loss_logit", use_this=True, weight=weight)
    expected = ref((s_x, s_y), (t_x, t_y), 10.0, None)
    got = logit_distill_loss((s_x, s_y), (t_x, t_y), beta=10.0, weight=weight)
    assert torch.allclose(got, expected, rtol=1e-6, atol=1e-6), (got.item(), expected.item())


def test_feature_loss_golden():
    rng = np.random.default_rng(7)
    s = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    t = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    expected = 7e-5 * float(((s.astype(np.float64) - t) ** 2).sum()) / 2
    got = feature_distill_loss(torch.from_numpy(s), torch.from_numpy(t), alpha=7e-5)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # by hand: ones vs zeros -> alpha * C * H * W
    assert feature_distill_loss(torch.ones(2, 4, 3, 3), torch.zeros(2, 4, 3, 3), 0.5).item() == 18.0


def test_logit_loss_golden():
    rng = np.random.default_rng(3)
    s_x, t_x = rng.normal(size=(2, 5, 8)), rng.normal(size=(2, 5, 8))
    s_y, t_y = rng.normal(size=(2, 5, 6)), rng.normal(size=(2, 5, 6))
    expected = 0.1 * (_kl_loops(s_x, t_x, 10.0) + _kl_loops(s_y, t_y, 10.0)) / 5
    as_t = lambda a: torch.from_numpy(a).float()  # noqa: E731
    got = logit_distill_loss((as_t(s_x), as_t(s_y)), (as_t(t_x), as_t(t_y)), beta=10.0, weight=0.1)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_logit_loss_analytic_uniform_student():
    """Uniform student (zero logits) vs a one-hot teacher: KL = sum p log p + log W per keypoint."""
    n, k, w, beta = 3, 4, 10, 10.0
    t = torch.zeros(n, k, w)
    t[..., 2] = 1.0
    p_hot = math.exp(beta) / (math.exp(beta) + w - 1)
    p_cold = 1.0 / (math.exp(beta) + w - 1)
    kl = p_hot * math.log(p_hot) + (w - 1) * p_cold * math.log(p_cold) + math.log(w)
    expected = 1.0 * (k * kl + k * kl) / k  # mean over n of sum over k, both axes, / K
    got = logit_distill_loss((torch.zeros(n, k, w), torch.zeros(n, k, w)), (t, t), beta, 1.0)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_labelled_only_mask():
    rng = np.random.default_rng(5)
    s_x, t_x, s_y, t_y = (rng.normal(size=(3, 6, 7)) for _ in range(4))
    weights = (rng.uniform(size=(3, 6)) > 0.5).astype(np.float64)
    expected = 0.1 * (_kl_loops(s_x, t_x, 10.0, weights) + _kl_loops(s_y, t_y, 10.0, weights)) / 6
    as_t = lambda a: torch.from_numpy(a).float()  # noqa: E731
    got = logit_distill_loss((as_t(s_x), as_t(s_y)), (as_t(t_x), as_t(t_y)), 10.0, 0.1,
                             keypoint_weights=as_t(weights))
    assert got.item() == pytest.approx(expected, rel=1e-5)
    unmasked = logit_distill_loss((as_t(s_x), as_t(s_y)), (as_t(t_x), as_t(t_y)), 10.0, 0.1)
    assert got.item() < unmasked.item()


def test_no_gradient_into_teacher_tensors():
    s = torch.randn(2, 3, 8, requires_grad=True)
    t = torch.randn(2, 3, 8, requires_grad=True)
    logit_distill_loss((s, s), (t, t), 10.0, 1.0).backward()
    f_s, f_t = torch.randn(2, 4, 2, 2, requires_grad=True), torch.randn(2, 4, 2, 2, requires_grad=True)
    feature_distill_loss(f_s, f_t, 1.0).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0 and f_s.grad.abs().sum() > 0
    assert t.grad is None and f_t.grad is None


def test_shape_mismatches_are_explained():
    with pytest.raises(ValueError, match="align the channels"):
        feature_distill_loss(torch.zeros(1, 3, 2, 2), torch.zeros(1, 4, 2, 2), 1.0)
    with pytest.raises(ValueError, match="same codec"):
        logit_distill_loss((torch.zeros(1, 3, 8), torch.zeros(1, 3, 6)),
                           (torch.zeros(1, 3, 9), torch.zeros(1, 3, 6)), 10.0, 1.0)
