"""Bringing student features to the teacher's shape for the feature loss, and checking head pairs.

Teacher and student may come from different backbone families (CSPNeXt, HRNet, MobileNetV2,
ShuffleNetV2, ResNet, with or without a neck). The feature loss compares the last feature map of
each, (N, C_s, h_s, w_s) against (N, C_t, h_t, w_t):

- channels: the distiller's 1x1 conv (with bias) maps C_s -> C_t (identity when equal);
- spatial size: the student map is resized to (h_t, w_t), by area averaging when it shrinks on both
  sides (e.g. HRNet's 1/4 map against CSPNeXt's 1/32) and bilinearly otherwise. Both steps are
  linear with weights that sum to 1, so their order does not change the result; the conv runs at
  the smaller of the two resolutions.

The logit loss needs only the same SimCC bins: :func:`check_simcc_pair` checks that.
"""

from __future__ import annotations

from typing import Tuple

import torch.nn.functional as F
from torch import Tensor, nn

from dwpose.errors import UserError

SIMCC_HEADS = ("SimCCHead", "RTMCCHead")


def resize_features(feat: Tensor, size: Tuple[int, int]) -> Tensor:
    """``feat`` (N, C, h, w) resized to ``size`` = (H, W); unchanged when it already has that size.

    Area averaging (``adaptive_avg_pool2d``) when ``H <= h`` and ``W <= w``, bilinear
    (``align_corners=False``) otherwise.
    """
    h, w = feat.shape[-2:]
    if (h, w) == tuple(size):
        return feat
    if size[0] <= h and size[1] <= w:
        return F.adaptive_avg_pool2d(feat, size)
    return F.interpolate(feat, size=size, mode="bilinear", align_corners=False)


def align_student_features(student_feat: Tensor, teacher_feat: Tensor, conv: nn.Module) -> Tensor:
    """The student's last feature map in the teacher's shape: ``conv`` for channels, resizing for size.

    Args:
        student_feat: (N, C_s, h_s, w_s).
        teacher_feat: (N, C_t, h_t, w_t); only its shape is read.
        conv: 1x1 conv C_s -> C_t, or ``nn.Identity`` when C_s == C_t.

    Returns:
        (N, C_t, h_t, w_t).

    Raises:
        UserError: a feature is not a 4-D map (the feature loss cannot apply; set
            ``feature_alpha=0``).
    """
    if student_feat.dim() != 4 or teacher_feat.dim() != 4:
        raise UserError(f"the feature loss compares (N, C, H, W) maps but got student "
                        f"{tuple(student_feat.shape)} and teacher {tuple(teacher_feat.shape)}; "
                        "set feature_alpha=0 to distil these models by their logits only")
    size = tuple(teacher_feat.shape[-2:])
    if student_feat.shape[-2] >= size[0] and student_feat.shape[-1] >= size[1]:
        return conv(resize_features(student_feat, size))  # shrink first: the conv sees fewer pixels
    return resize_features(conv(student_feat), size)


def check_simcc_pair(teacher: nn.Module, student: nn.Module, stage: int) -> None:
    """Refuse pairs the distiller cannot train, with a message that says why.

    Both must be top-down models with a SimCC head (mmpose ``SimCCHead`` or ``RTMCCHead``) of the
    same keypoint count, input size and split ratio (hence the same bins). In stage 2 the student
    head runs on the teacher's features, so it must take their channels and map size.

    Raises:
        UserError: on the first mismatch.
    """
    for role, model in (("teacher", teacher), ("student", student)):
        head = getattr(model, "head", None)
        if type(head).__name__ not in SIMCC_HEADS and not hasattr(head, "simcc_split_ratio"):
            raise UserError(f"the {role}'s head is {type(head).__name__}; TwoStageDistiller distils "
                            f"top-down models with a SimCC head ({', '.join(SIMCC_HEADS)})")
    t_head, s_head = teacher.head, student.head
    for attr in ("out_channels", "input_size", "simcc_split_ratio"):
        if getattr(t_head, attr, None) != getattr(s_head, attr, None):
            raise UserError(f"teacher and student heads differ in {attr}: "
                            f"{getattr(t_head, attr, None)} vs {getattr(s_head, attr, None)}; "
                            "they need the same codec (keypoints, input size, split ratio)")
    if stage != 2:
        return
    if t_head.in_channels != s_head.in_channels:
        raise UserError(f"stage 2: the student head takes {s_head.in_channels} channels but the "
                        f"teacher backbone gives {t_head.in_channels}")
    t_size, s_size = (tuple(getattr(h, "in_featuremap_size", ())) for h in (t_head, s_head))
    if t_size != s_size:
        raise UserError(f"stage 2: the student head expects {s_size} (w, h) feature maps but the "
                        f"teacher backbone gives {t_size}; set the student head's "
                        "in_featuremap_size to the teacher's")
