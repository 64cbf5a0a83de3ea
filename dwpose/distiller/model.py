"""``TwoStageDistiller``: DWPose's two-stage distillation as one MMPose model (docs/algorithm.md).

Stage 1: a frozen teacher and a student see the same batch;
``L = L_gt + (1 - e/E) * (L_fea + L_logit)`` with e the 0-based epoch and E the run's max epochs
(both read from MMEngine's message hub, which the runner's ``RuntimeInfoHook`` keeps current).
Stage 2: a fresh student head learns, on the frozen teacher backbone's features, to reproduce the
teacher head's logits: ``L = L_logit``; no student backbone, no ground-truth term, no decay.
In every mode the distiller predicts what the exported model (``pth_transfer.py``) predicts:
student backbone + head in stage 1, teacher backbone + student head in stage 2.

The teacher is frozen for the whole run: no gradients, eval mode through every ``train()`` call
(its BatchNorm statistics never move), forward under ``torch.inference_mode``. For speed, training
targets come from a copy of it with BatchNorm folded into the convs (``fast_teacher``), and on the
CPU the loss path runs in channels-last layout (``channels_last``); predictions and checkpoints
always use the modules themselves, in their own layout.

``teacher_precision`` runs the teacher's training forward under autocast (``'bf16'`` on a CPU with
native bf16 or on CUDA, ``'fp16'`` on CUDA); the features and logits it hands to the losses are
float32 whatever the teacher ran in. Measured agreement with the float32 teacher: docs/benchmarks.md
("Half-precision teacher").
"""

from __future__ import annotations

import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import MessageHub, print_log
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope
from mmpose.evaluation.functional import simcc_pck_accuracy
from mmpose.registry import MODELS
from mmpose.utils.tensor_utils import to_numpy
from torch import Tensor, nn

from dwpose.distiller import hooks as _hooks  # noqa: F401  registers FrozenTeacherEMAHook
from dwpose.distiller.align import align_student_features, check_simcc_pair
from dwpose.distiller.build import build_pose_model, load_weights_strict
from dwpose.distiller.frozen import FastFrozenCopy
from dwpose.distiller.losses import feature_distill_loss, logit_distill_loss
from dwpose.engine.amp import cpu_has_native_bf16
from dwpose.engine.config import load_model_config
from dwpose.errors import UserError

Feats = Tuple[Tensor, ...]
Logits = Tuple[Tensor, Tensor]


@MODELS.register_module()
class TwoStageDistiller(BaseModel):
    """Teacher -> student distillation for top-down models with SimCC heads (``SimCCHead``, ``RTMCCHead``).

    Teacher and student may differ in backbone family, neck, channels and feature-map size
    (:mod:`dwpose.distiller.align`); they need the same codec (keypoints, input size, split ratio).

    Args:
        teacher_cfg: absolute or ``mmpose::`` path of the teacher's pose config (distiller configs
            write ``'{{fileDirname}}/...'``, i.e. relative to themselves).
        student_cfg: the student's pose config, same conventions. In stage 2 only its head is built.
        teacher_ckpt: plain pose checkpoint of the teacher, loaded strictly. ``None`` keeps a
            random teacher (with a warning): only for checking that a config builds.
        stage: 1 (student backbone + head; ground truth + decaying distillation) or 2 (student head
            on the teacher backbone; logit distillation only).
        feature_alpha: weight ``alpha`` of the feature loss on the last backbone stage; 0 disables
            it. Student features go through a 1x1 conv (with bias) when the channel counts
            differ (compared directly when equal) and are resized to the teacher's map size
            when that differs. Must be 0 in stage 2, where the student has no backbone of its own.
        logit_weight: weight ``w`` of the logit loss; ``beta`` is the student head loss's beta.
        labelled_only: distil only keypoints with a positive target weight (reference: all).
        epoch_decay: stage 1 scales ``L_fea + L_logit`` by ``1 - e/E`` (the recipe); ``False``
            keeps weight 1 for the whole run (an ablation). Stage 2 never decays.
        fast_teacher: compute training targets with a BatchNorm-folded copy of the teacher
            (faster; equal up to float rounding). Predictions use the teacher itself.
        channels_last: run the loss path (teacher copy, student forward and backward) on NHWC
            tensors; ``None`` does so on the CPU only, where oneDNN is faster with it.
        teacher_precision: ``'fp32'`` (default), ``'bf16'`` or ``'fp16'``: the dtype the teacher's
            training forward runs in under ``torch.autocast``. ``'bf16'`` needs CUDA or a CPU with
            native bf16 instructions (AVX512-BF16 / AMX); ``'fp16'`` needs CUDA. Its outputs are cast
            back to float32 before the losses. Predictions (validation) always run in float32.
        data_preprocessor: defaults to the student config's.
    """

    def __init__(self, teacher_cfg: str, student_cfg: str, teacher_ckpt: Optional[str], stage: int,
                 feature_alpha: float, logit_weight: float, labelled_only: bool = False,
                 epoch_decay: bool = True, fast_teacher: bool = True,
                 channels_last: Optional[bool] = None, teacher_precision: str = "fp32",
                 data_preprocessor: Optional[dict] = None) -> None:
        if stage not in (1, 2):
            raise UserError(f"stage must be 1 or 2, got {stage!r}")
        if teacher_precision not in TEACHER_DTYPES:
            raise UserError(f"teacher_precision must be one of {sorted(TEACHER_DTYPES)}, "
                            f"got {teacher_precision!r}")
        if stage == 2 and feature_alpha:
            raise UserError("stage 2 has no student backbone, so feature_alpha must be 0 "
                            f"(got {feature_alpha})")
        t_cfg, s_cfg = load_model_config(teacher_cfg), load_model_config(student_cfg)
        if t_cfg.model.get("data_preprocessor") != s_cfg.model.get("data_preprocessor"):
            raise UserError(f"teacher and student configs preprocess images differently "
                            f"({teacher_cfg} vs {student_cfg}); they must see the same input tensor")
        with DefaultScope.overwrite_default_scope("mmpose"):  # PoseDataPreprocessor lives there
            super().__init__(data_preprocessor=data_preprocessor or s_cfg.model.data_preprocessor)
        self.stage = stage
        self.feature_alpha = float(feature_alpha)
        self.logit_weight = float(logit_weight)
        self.labelled_only = labelled_only
        self.epoch_decay = epoch_decay
        self.fast_teacher = fast_teacher
        self.channels_last = channels_last
        self.teacher_precision = teacher_precision
        self._fast_teacher = FastFrozenCopy()

        self.teacher = build_pose_model(t_cfg.model, use_sync_bn=False)
        if teacher_ckpt:
            load_weights_strict(self.teacher, teacher_ckpt, teacher_cfg)
            print_log(f"TwoStageDistiller: stage {stage}, teacher {teacher_cfg} <- {teacher_ckpt}",
                      logger="current")
        else:
            print_log("TwoStageDistiller: no teacher_ckpt, the teacher is RANDOM (only good for "
                      "checking that a config builds)", logger="current", level=logging.WARNING)
        self.teacher.requires_grad_(False).eval()

        self.student = build_pose_model(s_cfg.model, use_sync_bn=torch.cuda.is_available())
        if stage == 2:  # the exported model is teacher backbone (+ neck) + student head
            self.student.backbone = None
            if self.student.with_neck:
                self.student.neck = None
        self._check_compatible()
        self.align = self._build_align() if self.feature_alpha > 0 else None

    def _check_compatible(self) -> None:
        """SimCC heads with the same codec; in stage 2 the student head must fit the teacher's features."""
        check_simcc_pair(self.teacher, self.student, self.stage)

    def _build_align(self) -> nn.Module:
        """1x1 conv (with bias) from student to teacher channels, or identity when they agree."""
        c_s, c_t = self.student.head.in_channels, self.teacher.head.in_channels
        return nn.Conv2d(c_s, c_t, kernel_size=1) if c_s != c_t else nn.Identity()

    # ---- frozen teacher ------------------------------------------------------------------------
    def train(self, mode: bool = True) -> TwoStageDistiller:
        """Set train/eval mode on the student and align conv; the teacher always stays in eval."""
        super().train(mode)
        self.teacher.eval()
        return self

    def init_weights(self) -> None:
        """Initialise the student and the align conv; the (loaded) teacher is left untouched."""
        self.student.init_weights()
        if isinstance(self.align, nn.Conv2d):
            self.align.reset_parameters()

    def _teacher_forward(self, inputs: Tensor) -> Tuple[Feats, Logits]:
        """Teacher features (N, C_t, h, w) per stage and SimCC logits (N, K, Wx), (N, K, Wy)."""
        teacher = self.teacher
        if self.fast_teacher:
            nhwc = inputs.is_contiguous(memory_format=torch.channels_last)
            teacher = self._fast_teacher.get(self.teacher, channels_last=nhwc)
        with torch.inference_mode(), teacher_autocast(self.teacher_precision, inputs.device.type):
            feats = tuple(f.contiguous() for f in teacher.extract_feat(inputs))  # NCHW for the heads
            logits = teacher.head(feats)
        # clones made outside inference mode are ordinary tensors, which autograd may save;
        # float32 whatever precision the teacher ran in (no-op copies when it ran in float32)
        return (tuple(f.float().clone() for f in feats),
                (logits[0].float().clone(), logits[1].float().clone()))

    def _loss_layout(self, inputs: Tensor) -> Tensor:
        """``inputs`` (N, 3, H, W) in the memory layout of the loss path."""
        use_nhwc = self.channels_last if self.channels_last is not None else inputs.device.type == "cpu"
        return inputs.contiguous(memory_format=torch.channels_last) if use_nhwc else inputs

    # ---- forward modes -------------------------------------------------------------------------
    def extract_feat(self, inputs: Tensor) -> Feats:
        """Backbone features of the exported model: student's in stage 1, teacher's in stage 2."""
        return (self.student if self.stage == 1 else self.teacher).extract_feat(inputs)

    def forward(self, inputs: Union[Tensor, List[Tensor]], data_samples: Optional[list] = None,
                mode: str = "tensor") -> Union[Dict[str, Tensor], list, Logits]:
        """MMEngine's entry point: ``mode`` is ``'loss'``, ``'predict'`` or ``'tensor'``.

        Args:
            inputs: preprocessed images, (N, 3, H, W) or a list of (3, H, W).
            data_samples: ``PoseDataSample`` list (loss and predict modes).
            mode: ``'tensor'`` returns the exported model's SimCC logits (N, K, Wx), (N, K, Wy).
        """
        if isinstance(inputs, list):
            inputs = torch.stack(inputs)
        if mode == "loss":
            return self.loss(inputs, data_samples)
        if mode == "predict":
            if self.student.metainfo is not None:
                for sample in data_samples:
                    sample.set_metainfo(self.student.metainfo)
            return self.predict(inputs, data_samples)
        if mode == "tensor":
            return self.student.head(self.extract_feat(inputs))
        raise RuntimeError(f"invalid mode {mode!r}: use 'loss', 'predict' or 'tensor'")

    def predict(self, inputs: Tensor, data_samples: list) -> list:
        """Decoded keypoints of the exported model (flip test as the student config says)."""
        test_cfg = self.student.test_cfg
        feats = self.extract_feat(inputs)
        if test_cfg.get("flip_test", False):
            feats = [feats, self.extract_feat(inputs.flip(-1))]
        preds = self.student.head.predict(feats, data_samples, test_cfg=test_cfg)
        instances, fields = preds if isinstance(preds, tuple) else (preds, None)
        return self.student.add_pred_to_datasample(instances, fields, data_samples)

    # ---- losses --------------------------------------------------------------------------------
    def loss(self, inputs: Tensor, data_samples: list) -> Dict[str, Tensor]:
        """Losses of one batch, each under its own ``loss_*`` key (plus logged-only scalars)."""
        inputs = self._loss_layout(inputs)
        t_feats, t_logits = self._teacher_forward(inputs)
        s_feats = self.student.extract_feat(inputs) if self.stage == 1 else t_feats
        s_logits = self.student.head(s_feats)
        losses = self._gt_losses(s_logits, data_samples) if self.stage == 1 else {}
        decay = self._distill_decay() if self.stage == 1 and self.epoch_decay else 1.0
        if self.align is not None:
            s_fea = align_student_features(s_feats[-1], t_feats[-1], self.align)
            fea = feature_distill_loss(s_fea, t_feats[-1], self.feature_alpha)
            losses["loss_fea"] = decay * fea
        kpt_weights = _gather(data_samples, "keypoint_weights") if self.labelled_only else None
        beta = self.student.head.loss_module.beta
        logit = logit_distill_loss(s_logits, t_logits, beta, self.logit_weight, kpt_weights)
        losses["loss_logit"] = decay * logit
        if self.stage == 1:
            losses["distill_decay"] = inputs.new_tensor(decay)  # logged, not summed (no 'loss')
        return losses

    def _gt_losses(self, logits: Logits, data_samples: list) -> Dict[str, Tensor]:
        """The student head's own SimCC loss and accuracy, from logits already computed."""
        head = self.student.head
        labels = (_gather(data_samples, "keypoint_x_labels"), _gather(data_samples, "keypoint_y_labels"))
        weights = _gather(data_samples, "keypoint_weights")
        _, acc, _ = simcc_pck_accuracy(output=to_numpy(logits), target=to_numpy(labels),
                                       simcc_split_ratio=head.simcc_split_ratio,
                                       mask=to_numpy(weights) > 0)
        return {"loss_kpt": head.loss_module(logits, labels, weights),
                "acc_pose": torch.tensor(acc, device=weights.device)}

    @staticmethod
    def _distill_decay() -> float:
        """``1 - e/E`` from the message hub (the runner updates it before each epoch)."""
        hub = MessageHub.get_current_instance()
        epoch, max_epochs = hub.get_info("epoch"), hub.get_info("max_epochs")
        if epoch is None or not max_epochs:
            raise RuntimeError("stage-1 distillation decays with the epoch but the message hub has no "
                               "'epoch'/'max_epochs' (train through an MMEngine runner, or set them "
                               "with MessageHub.get_current_instance().update_info)")
        return 1.0 - epoch / max_epochs


TEACHER_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def teacher_autocast(precision: str, device_type: str):
    """``torch.autocast`` context for the teacher's forward at ``precision`` on ``device_type``."""
    dtype = TEACHER_DTYPES[precision]
    if dtype is None:  # float32 even inside the student's --amp autocast
        return torch.autocast(device_type, enabled=False)
    if device_type == "cpu":
        if dtype is torch.float16:
            raise UserError("teacher_precision='fp16' needs a CUDA device; on a CPU use 'bf16' "
                            "(where the CPU has native bf16) or 'fp32'")
        if not cpu_has_native_bf16():
            raise UserError("teacher_precision='bf16' needs a CPU with native bf16 instructions "
                            "(AVX512-BF16 or AMX); this one has none, so bf16 would only be emulated "
                            "(slower than float32): use 'fp32'")
    return torch.autocast(device_type, dtype=dtype)


def _gather(data_samples: Sequence, key: str) -> Tensor:
    """Concatenate ``gt_instance_labels.<key>`` over the batch: (N, K) or (N, K, W)."""
    return torch.cat([s.gt_instance_labels[key] for s in data_samples], dim=0)
