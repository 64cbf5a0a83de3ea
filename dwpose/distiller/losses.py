"""DWPose's two distillation losses as stateless functions of tensors (docs/algorithm.md).

Notation: N batch size, C channels, K keypoints, Wx / Wy SimCC bins on the x / y axis.

Both functions match mmpose 1.3.2's ``FeaLoss`` / ``KDLoss`` numerically (tests/distiller) but own
no parameters: the 1x1 alignment conv of the feature loss belongs to the distiller, and the
temperature ``beta`` is passed in (the student head's ``KLDiscretLoss.beta``).
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch.nn.functional as F
from torch import Tensor

from dwpose.errors import UserError


def feature_distill_loss(student_feat: Tensor, teacher_feat: Tensor, alpha: float) -> Tensor:
    """``alpha * (1/N) * sum_{n,c,h,w} (student_feat - teacher_feat)^2``.

    Args:
        student_feat: student features already mapped to the teacher's channels, (N, C, H, W).
        teacher_feat: teacher features, (N, C, H, W); no gradient flows into them.
        alpha: loss weight (7e-5 in the DWPose configs).

    Returns:
        Scalar tensor.

    Example:
        >>> feature_distill_loss(torch.ones(2, 4, 3, 3), torch.zeros(2, 4, 3, 3), alpha=1.0)
        tensor(36.)
    """
    if student_feat.shape != teacher_feat.shape:
        raise UserError(f"feature shapes differ: student {tuple(student_feat.shape)} vs teacher "
                        f"{tuple(teacher_feat.shape)}; align the channels and use the same input size")
    n = teacher_feat.shape[0]
    return F.mse_loss(student_feat, teacher_feat.detach(), reduction="sum") / n * alpha


def _axis_kl(student: Tensor, teacher: Tensor, beta: float, mask: Optional[Tensor]) -> Tensor:
    """``mean_n sum_k KL(softmax(beta*t) || softmax(beta*s))`` for one axis; (N, K, W) -> scalar."""
    log_p_t = F.log_softmax(teacher.detach() * beta, dim=-1)
    log_p_s = F.log_softmax(student * beta, dim=-1)
    # log-space form: finite where softmax(beta*t) underflows to 0 (KLDivLoss would give 0 * -inf)
    kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=-1)  # (N, K)
    if mask is not None:
        kl = kl * mask
    return kl.sum(dim=1).mean()


def logit_distill_loss(student_logits: Tuple[Tensor, Tensor], teacher_logits: Tuple[Tensor, Tensor],
                       beta: float, weight: float, keypoint_weights: Optional[Tensor] = None) -> Tensor:
    """``weight * (KL_x + KL_y) / K`` between the SimCC distributions of student and teacher.

    Per axis, ``KL = mean_n sum_k sum_bins p_t * (log p_t - log p_s)`` with
    ``p = softmax(beta * logits)`` over the bins.

    Args:
        student_logits: ``(x, y)`` SimCC logits of the student, (N, K, Wx) and (N, K, Wy).
        teacher_logits: the teacher's, same shapes; no gradient flows into them.
        beta: softmax temperature factor (the head loss's ``beta``, 10 in RTMPose).
        weight: loss weight (0.1 in stage 1, 1.0 in stage 2).
        keypoint_weights: optional (N, K) target weights; when given, only keypoints with a
            positive weight are distilled (the normalisation by N and K is unchanged). ``None``
            distils every keypoint, as the reference does.

    Returns:
        Scalar tensor.
    """
    (s_x, s_y), (t_x, t_y) = student_logits, teacher_logits
    if s_x.shape != t_x.shape or s_y.shape != t_y.shape:
        raise UserError(f"SimCC shapes differ: student {tuple(s_x.shape)}/{tuple(s_y.shape)} vs teacher "
                        f"{tuple(t_x.shape)}/{tuple(t_y.shape)}; teacher and student need the same "
                        "codec (input size, split ratio, keypoints)")
    mask = None if keypoint_weights is None else (keypoint_weights > 0).to(s_x.dtype)
    num_keypoints = s_x.shape[1]
    kl = _axis_kl(s_x, t_x, beta, mask) + _axis_kl(s_y, t_y, beta, mask)
    return weight * kl / num_keypoints


__all__ = ["feature_distill_loss", "logit_distill_loss"]
